// JSON whose text depends only on the value, not on the order its keys were set in.

/**
 * JSON text with every object's keys sorted and undefined members dropped, so equal values give equal
 * text. A replacer array lists the member names to write and fixes their order for every object, which
 * lets the native JSON.stringify do the sorting: a 10,000-node inventory is never copied to reorder it.
 */
export function canonicalJson(value: unknown, indent?: number): string {
  const names = new Set<string>();
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) for (const item of v) collect(item);
    else if (v && typeof v === 'object')
      for (const k of Object.keys(v)) {
        names.add(k);
        collect((v as Record<string, unknown>)[k]);
      }
  };
  collect(value);
  return JSON.stringify(value, [...names].sort(), indent);
}
