// BCM entities as discovery needs them, parsed tolerantly from BCM 10 and 11 shapes (bcm-api.md §2–§4, §7):
// every field optional, placeholder values ("0.0.0.0", zero MAC, zero UUID, "") mean unset.

export interface BcmInterface {
  name: string;
  childType: string;
  ip?: string;
  networkUuid?: string;
  mac?: string;
  isBmc: boolean;
}

export interface BcmNode {
  uuid: string;
  hostname: string;
  childType: string;
  mac?: string;
  categoryUuid?: string;
  provisioningInterface?: string;
  interfaces: BcmInterface[];
}

export interface BcmNetwork {
  uuid: string;
  name: string;
  baseAddress?: string;
  netmaskBits?: number;
  type: string;
  management: boolean;
}

export interface BcmCategory {
  uuid: string;
  name: string;
}

export interface BcmStatus {
  uuid: string;
  status: string;
  closed: boolean;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const PLACEHOLDERS = new Set(['', '0.0.0.0', '::0', '::', '00:00:00:00:00:00', ZERO_UUID, 'CATEGORY']);

function str(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return PLACEHOLDERS.has(t) ? undefined : t;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function expectArray(v: unknown, call: string): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`BCM answered ${call} with ${v === null ? 'null' : typeof v}, expected a list`);
  return v;
}

function parseInterface(raw: unknown): BcmInterface | undefined {
  const o = asObject(raw);
  if (!o) return undefined;
  const childType = typeof o.childType === 'string' ? o.childType : '';
  return {
    name: typeof o.name === 'string' ? o.name : '',
    childType,
    ip: str(o.ip),
    networkUuid: str(o.network),
    mac: str(o.mac)?.toUpperCase(),
    isBmc: /bmc/i.test(childType),
  };
}

/** Nodes from cmdevice.getNodes. Entries without a hostname or UUID are skipped (nothing can select them). */
export function parseNodes(raw: unknown): BcmNode[] {
  const out: BcmNode[] = [];
  for (const item of expectArray(raw, 'cmdevice.getNodes')) {
    const o = asObject(item);
    const hostname = o && typeof o.hostname === 'string' ? o.hostname.trim() : '';
    const uuid = o ? (str(o.uuid) ?? (typeof o.uniqueKey === 'number' ? String(o.uniqueKey) : undefined)) : undefined;
    if (!o || !hostname || !uuid) continue;
    out.push({
      uuid,
      hostname,
      childType: typeof o.childType === 'string' ? o.childType : '',
      mac: str(o.mac)?.toUpperCase(),
      categoryUuid: str(o.category),
      provisioningInterface: str(o.provisioningInterface),
      interfaces: Array.isArray(o.interfaces) ? o.interfaces.map(parseInterface).filter((i): i is BcmInterface => Boolean(i)) : [],
    });
  }
  return out;
}

export function parseNetworks(raw: unknown): BcmNetwork[] {
  const out: BcmNetwork[] = [];
  for (const item of expectArray(raw, 'cmnet.getNetworks')) {
    const o = asObject(item);
    const uuid = o && str(o.uuid);
    if (!o || !uuid || typeof o.name !== 'string') continue;
    out.push({
      uuid,
      name: o.name,
      baseAddress: str(o.baseAddress),
      netmaskBits: typeof o.netmaskBits === 'number' ? o.netmaskBits : undefined,
      type: typeof o.type === 'string' ? o.type.toUpperCase() : '',
      management: o.management === true,
    });
  }
  return out;
}

export function parseCategories(raw: unknown): BcmCategory[] {
  const out: BcmCategory[] = [];
  for (const item of expectArray(raw, 'cmdevice.getCategories')) {
    const o = asObject(item);
    const uuid = o && str(o.uuid);
    if (o && uuid && typeof o.name === 'string') out.push({ uuid, name: o.name });
  }
  return out;
}

/** cmstatus.getStatusForDevices answers a list aligned with the UUIDs asked for; null entries are unknown devices. */
export function parseStatuses(raw: unknown, asked: string[]): Map<string, BcmStatus> {
  const list = expectArray(raw, 'cmstatus.getStatusForDevices');
  const out = new Map<string, BcmStatus>();
  list.forEach((item, i) => {
    const o = asObject(item);
    if (!o) return;
    const uuid = str(o.ref_device_uuid) ?? (o.refDeviceUniqueKey !== undefined ? String(o.refDeviceUniqueKey) : asked[i]);
    if (!uuid) return;
    const status = typeof o.status === 'string' ? o.status.toUpperCase() : 'UNKNOWN';
    out.set(uuid, { uuid, status: status.replace('INSTALLER_CALLING_INIT', 'INSTALLER_CALLINGINIT'), closed: o.closed === true });
  });
  return out;
}

export function parseVersion(raw: unknown): string | undefined {
  const o = asObject(raw);
  return o && typeof o.cmVersion === 'string' ? o.cmVersion : undefined;
}
