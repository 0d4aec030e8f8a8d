// BCM entities as discovery needs them, parsed tolerantly from BCM 10 and 11 shapes (bcm-api.md §2–§4, §7):
// every field optional, placeholder values ("0.0.0.0", zero MAC, zero UUID, "") mean unset.
import { StageError } from '../util/errors.ts';

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
  if (!Array.isArray(v)) throw new StageError(`BCM answered ${call} with ${v === null ? 'null' : typeof v}, expected a list`);
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

/** One node of cmdevice.getNodes; undefined for entries without a hostname or UUID (nothing can select them). */
export function parseNode(item: unknown): BcmNode | undefined {
  const o = asObject(item);
  const hostname = o && typeof o.hostname === 'string' ? o.hostname.trim() : '';
  const uuid = o ? (str(o.uuid) ?? (typeof o.uniqueKey === 'number' ? String(o.uniqueKey) : undefined)) : undefined;
  if (!o || !hostname || !uuid) return undefined;
  return {
    uuid,
    hostname,
    childType: typeof o.childType === 'string' ? o.childType : '',
    mac: str(o.mac)?.toUpperCase(),
    categoryUuid: str(o.category),
    provisioningInterface: str(o.provisioningInterface),
    interfaces: Array.isArray(o.interfaces) ? o.interfaces.map(parseInterface).filter((i): i is BcmInterface => Boolean(i)) : [],
  };
}

export function parseNodes(raw: unknown): BcmNode[] {
  return expectArray(raw, 'cmdevice.getNodes')
    .map(parseNode)
    .filter((n): n is BcmNode => Boolean(n));
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

/** One entry of cmstatus.getStatusForDevices, whose answer is aligned with the UUIDs asked for (null: unknown device). */
export function parseStatus(item: unknown, askedUuid: string | undefined): BcmStatus | undefined {
  const o = asObject(item);
  if (!o) return undefined;
  const uuid = str(o.ref_device_uuid) ?? (o.refDeviceUniqueKey !== undefined ? String(o.refDeviceUniqueKey) : askedUuid);
  if (!uuid) return undefined;
  const status = typeof o.status === 'string' ? o.status.toUpperCase() : 'UNKNOWN';
  return { uuid, status: status.replace('INSTALLER_CALLING_INIT', 'INSTALLER_CALLINGINIT'), closed: o.closed === true };
}

export function parseStatuses(raw: unknown, asked: string[]): Map<string, BcmStatus> {
  const statuses = expectArray(raw, 'cmstatus.getStatusForDevices').map((item, i) => parseStatus(item, asked[i]));
  return new Map(statuses.filter((s): s is BcmStatus => Boolean(s)).map((s) => [s.uuid, s]));
}

export function parseVersion(raw: unknown): string | undefined {
  const o = asObject(raw);
  return o && typeof o.cmVersion === 'string' ? o.cmVersion : undefined;
}
