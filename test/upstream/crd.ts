// Validating our custom resources against a real CRD's schema as the API server would: unknown fields refused
// (its pruning, as validation) and the schema's patterns read as the Go (RE2) regexes they are.
type Values = Record<string, unknown>;
const isMap = (v: unknown): v is Values => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** The API server's pruning as validation: an object with declared properties accepts no other field. */
export function closed(s: Values): Values {
  if (isMap(s.properties) && s['x-kubernetes-preserve-unknown-fields'] !== true && s.additionalProperties === undefined)
    s.additionalProperties = false;
  for (const v of Object.values(s)) {
    if (Array.isArray(v)) v.forEach((x) => isMap(x) && closed(x));
    else if (isMap(v)) closed(v);
  }
  return s;
}

/**
 * A CRD pattern as a JavaScript RegExp (Ajv's `code.regExp`). JavaScript reads most RE2 patterns the same; the
 * RE2-only construct the CRDs we validate against use is a leading case-insensitive flag `(?i)` (after an
 * optional ^), turned into the `i` flag here and recorded in `translated`. Any other inline flag or named-group
 * syntax JavaScript lacks throws, so a schema is never validated with a pattern silently dropped.
 */
export const translated: string[] = [];
export function goRegExp(pattern: string, flags: string): RegExp {
  let p = pattern;
  let f = flags;
  const inline = /^(\^?)\(\?i\)/.exec(p);
  if (inline) {
    p = inline[1] + p.slice(inline[0].length);
    f += 'i';
    translated.push(pattern);
  }
  if (/\(\?[a-zA-Z]/.test(p) || /\(\?P</.test(p)) throw new Error(`CRD pattern ${pattern}: an RE2 construct this test does not translate`);
  return new RegExp(p, f);
}
goRegExp.code = 'new RegExp';
