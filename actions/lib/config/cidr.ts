// IPv4 addresses and CIDRs: parse, contain, overlap. Small on purpose: the spec only needs these.

export interface Cidr {
  base: number;
  bits: number;
  text: string;
}

export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1]!.length > 1 && m[i + 1]!.startsWith('0')))) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

const mask = (bits: number) => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

/** Parses `a.b.c.d/n`. `strict` refuses host bits set (10.0.0.1/8). Returns an error text instead of throwing. */
export function parseCidr(text: string, strict = true): Cidr | string {
  // the text goes into Kubespray's variables as written: a space would reach kube_pods_subnet
  if (/\s/.test(text)) return `'${text}' contains spaces; write the CIDR alone, like 10.150.0.0/16`;
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return `'${text}' is not an IPv4 CIDR like 10.150.0.0/16`;
  const ip = parseIpv4(m[1]!);
  const bits = Number(m[2]);
  if (ip === undefined) return `'${m[1]}' is not an IPv4 address`;
  if (bits > 32) return `prefix length /${bits} is larger than 32`;
  if (strict && (ip & mask(bits)) >>> 0 !== ip)
    return `'${text}' has host bits set; the network is ${formatIpv4((ip & mask(bits)) >>> 0)}/${bits}`;
  return { base: (ip & mask(bits)) >>> 0, bits, text };
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export function cidrContains(cidr: string | Cidr, ip: string): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr, false) : cidr;
  const n = parseIpv4(ip);
  if (typeof c === 'string' || n === undefined) return false;
  return (n & mask(c.bits)) >>> 0 === c.base;
}

export const LOOPBACK: Cidr = { base: 0x7f000000, bits: 8, text: '127.0.0.0/8' };

/** Two networks overlap when one contains the other's base (CIDRs never partly overlap). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  return (a.base & mask(bits)) >>> 0 === (b.base & mask(bits)) >>> 0;
}
