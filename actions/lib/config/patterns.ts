// Node selectors: literal hostnames, range patterns (`dgx-[01-08]`, `rack[1-2]-dgx[01-04]`), globs
// (`dgx-*`, `dgx-0?`, kept as globs and matched against BCM hostnames at discovery) and BCM categories.
import type { NodeSelector } from './types.ts';

export const MAX_EXPANSION = 10_000;
const RANGE = /\[(\d+)-(\d+)\]/g;

export function isGlob(p: string): boolean {
  return /[*?]/.test(p);
}

export function isRangePattern(p: string): boolean {
  return /\[\d+-\d+\]/.test(p);
}

/**
 * Expands range patterns; a literal hostname expands to itself. A range whose first bound has a leading
 * zero keeps that width (`[01-10]` → 01 … 10); otherwise numbers are written plainly (`[8-10]` → 8 9 10).
 * Throws with a readable reason on bad syntax, a backwards range or more than MAX_EXPANSION names.
 */
export function expandPattern(p: string): string[] {
  const ranges = [...p.matchAll(RANGE)];
  if (/[[\]]/.test(p.replace(RANGE, ''))) throw new Error(`'${p}': a range is written [first-last], e.g. dgx-[01-08]`);
  let results = [''];
  let last = 0;
  for (const r of ranges) {
    const [whole, from, to] = r as unknown as [string, string, string];
    const prefix = p.slice(last, r.index);
    last = r.index + whole.length;
    const a = Number(from);
    const b = Number(to);
    if (a > b) throw new Error(`'${p}': range [${from}-${to}] runs backwards; write [${to}-${from}]`);
    const count = results.length * (b - a + 1);
    if (count > MAX_EXPANSION) throw new Error(`'${p}' expands to ${count} names; at most ${MAX_EXPANSION}`);
    const width = from.length > 1 && from.startsWith('0') ? from.length : 0;
    const next: string[] = [];
    for (const head of results) for (let i = a; i <= b; i++) next.push(`${head}${prefix}${String(i).padStart(width, '0')}`);
    results = next;
  }
  return results.map((r) => r + p.slice(last));
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

// Discovery asks once per BCM node; a range is expanded once per pattern, not once per node.
const expandedCache = new Map<string, Set<string>>();
function expandedSet(pattern: string): Set<string> {
  let set = expandedCache.get(pattern);
  if (!set) {
    if (expandedCache.size >= 256) expandedCache.clear();
    set = new Set(expandPattern(pattern));
    expandedCache.set(pattern, set);
  }
  return set;
}

/** Does this selector pick the node? Globs and ranges match the whole hostname; a category matches BCM's category name. */
export function matchSelector(selector: NodeSelector, hostname: string, category?: string): boolean {
  if (typeof selector !== 'string') return category !== undefined && category === selector.category;
  if (isGlob(selector)) return globToRegExp(selector).test(hostname);
  return expandedSet(selector).has(hostname);
}

/** For messages: `'dgx-[01-08]'`, `category 'dgx-h100'`. */
export function selectorToString(selector: NodeSelector): string {
  return typeof selector === 'string' ? `'${selector}'` : `category '${selector.category}'`;
}
