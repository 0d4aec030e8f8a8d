// known_hosts: parse (plain and hashed entries), match by hostname or address, fingerprint keys, and
// decide per the host-key policy. A changed key is always refused.
import { createHash, createHmac } from 'node:crypto';

export type HostKeyPolicy = 'strict' | 'accept-new' | 'off';

export interface KnownHostEntry {
  patterns: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
  revoked: boolean;
}

export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker = '';
    if (fields[0]?.startsWith('@')) marker = fields.shift()!;
    if (marker === '@cert-authority' || fields.length < 3) continue;
    const [hosts, keyType, b64] = fields as [string, string, string];
    const key = Buffer.from(b64, 'base64');
    if (!key.length) continue;
    const entry: KnownHostEntry = { patterns: [], keyType, key, revoked: marker === '@revoked' };
    const hashed = /^\|1\|([^|]+)\|([^|]+)$/.exec(hosts);
    if (hashed) entry.hashed = { salt: Buffer.from(hashed[1]!, 'base64'), hash: Buffer.from(hashed[2]!, 'base64') };
    else entry.patterns = hosts.split(',');
    entries.push(entry);
  }
  return entries;
}

function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matches(entry: KnownHostEntry, token: string): boolean {
  if (entry.hashed) return createHmac('sha1', entry.hashed.salt).update(token).digest().equals(entry.hashed.hash);
  return entry.patterns.some(
    (p) =>
      !p.startsWith('!') &&
      new RegExp(
        `^${p
          .replace(/[.+^${}()|\\[\]]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      ).test(token),
  );
}

export interface HostKeyVerdict {
  accept: boolean;
  /** Set when an unknown key was accepted under accept-new: the line to record. */
  learned?: string;
  reason?: string;
}

/** Decides whether `key` is the right host key for a node known by `names` (hostname and address). */
export function verifyHostKey(
  entries: KnownHostEntry[],
  names: string[],
  port: number,
  key: Buffer,
  policy: HostKeyPolicy,
): HostKeyVerdict {
  if (policy === 'off') return { accept: true };
  const tokens = names.map((n) => hostToken(n, port));
  const relevant = entries.filter((e) => tokens.some((t) => matches(e, t)));
  if (relevant.some((e) => e.revoked && e.key.equals(key)))
    return { accept: false, reason: `host key ${fingerprint(key)} is marked @revoked` };
  if (relevant.some((e) => !e.revoked && e.key.equals(key))) return { accept: true };
  const known = relevant.filter((e) => !e.revoked);
  if (known.length) {
    return {
      accept: false,
      reason: `HOST KEY CHANGED: known_hosts has ${known.map((e) => `${e.keyType} ${fingerprint(e.key)}`).join(', ')}, the node presented ${fingerprint(key)}. If the node was re-imaged, remove its old line from known_hosts after checking the new key out of band.`,
    };
  }
  if (policy === 'accept-new') {
    const keyType = key.subarray(4, 4 + key.readUInt32BE(0)).toString();
    return { accept: true, learned: `${tokens.join(',')} ${keyType} ${key.toString('base64')}` };
  }
  return {
    accept: false,
    reason: `no known_hosts entry for ${names.join(' / ')} (presented ${fingerprint(key)}); add the node's key to known_hosts, or use host-key-policy accept-new for a first contact`,
  };
}
