// Converging the service user: one root shell script per node doing only the steps the preflight chose.
// Values are validated and quoted; the sudoers file is checked with visudo before it is installed.
import type { ServiceUserSpec } from '../config/types.ts';
import { PUBLIC_KEY_HINT, publicKeyLine } from '../ssh/public-key.ts';
import { shellQuote, validAbsolutePath, validUsername } from '../ssh/quote.ts';
import { UsageError } from '../util/errors.ts';
import type { UserStep } from './preflight.ts';

export function validPublicKey(key: string, field: string): string {
  const k = publicKeyLine(key);
  if (k === undefined) throw new UsageError(`${field}: ${PUBLIC_KEY_HINT}`);
  return k;
}

/** The script, run as root (`sudo -n sh -s` for a non-root admin). Prints `changed=<step>` per change. */
export function convergeScript(user: ServiceUserSpec, publicKey: string, steps: UserStep[]): string {
  const name = shellQuote(validUsername(user.name, 'access.service_user.name'));
  const shell = shellQuote(validAbsolutePath(user.shell, 'access.service_user.shell'));
  const key = shellQuote(validPublicKey(publicKey, 'access.service_user.public_key'));
  const uid = String(Math.trunc(user.uid));
  const gid = String(Math.trunc(user.gid));
  const lines = ['set -eu', `u=${name}; uid=${uid}; gid=${gid}; sh_=${shell}; key=${key}`];
  if (steps.includes('group')) lines.push('if ! getent group "$u" >/dev/null; then groupadd -g "$gid" "$u"; echo changed=group; fi');
  if (steps.includes('user'))
    lines.push('if ! getent passwd "$u" >/dev/null; then useradd -m -u "$uid" -g "$gid" -s "$sh_" "$u"; echo changed=user; fi');
  if (steps.includes('key') || steps.includes('user')) {
    lines.push(
      'home=$(getent passwd "$u" | cut -d: -f6)',
      'install -d -m 700 -o "$uid" -g "$gid" "$home/.ssh"',
      'ak="$home/.ssh/authorized_keys"',
      'if ! grep -qxF -- "$key" "$ak" 2>/dev/null; then printf \'%s\\n\' "$key" >>"$ak"; echo changed=key; fi',
      'chown "$uid:$gid" "$ak"; chmod 600 "$ak"',
    );
  }
  if (steps.includes('sudoers')) {
    lines.push(
      'tmp=$(mktemp)',
      'printf \'%s ALL=(ALL) NOPASSWD:ALL\\n\' "$u" >"$tmp"',
      'if visudo -cf "$tmp" >/dev/null; then install -m 0440 -o root -g root "$tmp" "/etc/sudoers.d/$u"; rm -f "$tmp"; echo changed=sudoers; else rm -f "$tmp"; echo "visudo refused the sudoers file" >&2; exit 3; fi',
    );
  }
  return `${lines.join('\n')}\n`;
}

export function changedSteps(stdout: string): UserStep[] {
  return stdout
    .split('\n')
    .map((l) => /^changed=(group|user|key|sudoers)$/.exec(l.trim())?.[1] as UserStep | undefined)
    .filter((s): s is UserStep => Boolean(s));
}
