// Refuses documents that look like they carry a secret: artifacts and outputs must never hold one.

const SECRET_KEY = /(pass(word|wd|phrase)?|secret|token|private[_-]?key|credential|api[_-]?key|kubeconfig)$/i;
const SECRET_VALUE: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z0-9 ]*-----/, 'a PEM block'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./, 'a JSON Web Token'],
  [/\b(ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}/, 'a GitHub token'],
  [/\bAKIA[0-9A-Z]{16}\b/, 'an AWS access key'],
  [/\bcm-login-token=[A-Za-z0-9]+/, 'a BCM login cookie'],
];

/** Cheap first test: every value pattern needs one of these; most strings skip the full check. */
const MAYBE_SECRET_VALUE = /-----BEGIN|eyJ|gh[pousr]_|github_pat_|AKIA|cm-login-token=/;

export interface SecretFinding {
  path: string;
  why: string;
}

/** Walks a JSON value and lists every place that looks like a secret. Values are never echoed. */
export function findSecrets(value: unknown, path = ''): SecretFinding[] {
  const found: SecretFinding[] = [];
  // the path is built only for a finding: a 10,000-node inventory has hundreds of thousands of values
  const pathOf = (trail: Array<string | number>) =>
    trail.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), path);
  const visit = (v: unknown, trail: Array<string | number>, key: string | undefined) => {
    if (typeof v === 'string') {
      if (key !== undefined && SECRET_KEY.test(key) && v.length > 0) found.push({ path: pathOf(trail), why: `key '${key}' holds a value` });
      if (MAYBE_SECRET_VALUE.test(v))
        for (const [re, what] of SECRET_VALUE) if (re.test(v)) found.push({ path: pathOf(trail), why: `value contains ${what}` });
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        trail.push(i);
        visit(v[i], trail, undefined);
        trail.pop();
      }
    } else if (v && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        trail.push(k);
        visit((v as Record<string, unknown>)[k], trail, k);
        trail.pop();
      }
    }
  };
  visit(value, [], undefined);
  return found;
}
