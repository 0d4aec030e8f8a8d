// The one rule for an OpenSSH public key line that goes into a service user's authorized_keys: used by the
// spec check (validate) and by the converge step, so a spec that validates is never refused later.
// Hardware (sk-…) keys are refused: Ansible logs in unattended, with no one to touch the key.
// The comment is printable ASCII without quotes or shell metacharacters: it lands in a root shell script.
const PUBLIC_KEY_LINE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}( [\x20-\x7e]*)?$/;
const UNSAFE_IN_COMMENT = /['"\\`$]/;

export const PUBLIC_KEY_HINT =
  'is not an OpenSSH public key line (ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp… AAAA… comment; comment in plain ASCII without quotes, backslash, backtick or $)';

/** The trimmed key line when it is one we install, else undefined. */
export function publicKeyLine(key: string): string | undefined {
  const k = key.trim();
  const m = PUBLIC_KEY_LINE.exec(k);
  if (!m || UNSAFE_IN_COMMENT.test(m[3] ?? '')) return undefined;
  return k;
}
