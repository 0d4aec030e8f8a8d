// Refuses documents that look like they carry a secret: artifacts and outputs must never hold one.

const SECRET_KEY = /(pass(word|wd|phrase)?|secret|token|private[_-]?key|credential|api[_-]?key|kubeconfig)$/i;
const SECRET_VALUE: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z0-9 ]*-----/, 'a PEM block'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./, 'a JSON Web Token'],
  [/\b(ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}/, 'a GitHub token'],
  [/\bAKIA[0-9A-Z]{16}\b/, 'an AWS access key'],
  [/\bcm-login-token=[A-Za-z0-9]+/, 'a BCM login cookie'],
];

export interface SecretFinding {
  path: string;
  why: string;
}

/** Walks a JSON value and lists every place that looks like a secret. Values are never echoed. */
export function findSecrets(value: unknown, path = ''): SecretFinding[] {
  const found: SecretFinding[] = [];
  const visit = (v: unknown, p: string, key: string | undefined) => {
    if (typeof v === 'string') {
      if (key !== undefined && SECRET_KEY.test(key) && v.length > 0) found.push({ path: p, why: `key '${key}' holds a value` });
      for (const [re, what] of SECRET_VALUE) if (re.test(v)) found.push({ path: p, why: `value contains ${what}` });
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => visit(item, `${p}[${i}]`, undefined));
    } else if (v && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) visit(item, p ? `${p}.${k}` : k, k);
    }
  };
  visit(value, path, undefined);
  return found;
}
