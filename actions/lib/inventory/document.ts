// Reading, writing, validating and merging inventory.json. Output is canonical (sorted keys, nodes by
// hostname, fixed role order) so the same inventory is the same bytes and diffs stay readable.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson } from '../util/canonical-json.ts';
import { StageError, UsageError } from '../util/errors.ts';
import { findSecrets } from './secrets.ts';
import { INVENTORY_SCHEMA_VERSION, type Inventory, type InventoryNode, type InventoryRole, type StageMark } from './types.ts';

export const ROLE_ORDER: InventoryRole[] = ['control_plane', 'etcd', 'worker', 'gpu_worker'];

// one collator for every comparison: String#localeCompare would build one per call
const byText = new Intl.Collator().compare;

function normalizeNode(node: InventoryNode): InventoryNode {
  return {
    ...node,
    roles: ROLE_ORDER.filter((r) => node.roles.includes(r)),
    addresses: [...node.addresses].sort((a, b) => byText(a.network, b.network) || byText(a.interface, b.interface) || byText(a.ip, b.ip)),
  };
}

export function normalizeInventory(inv: Inventory): Inventory {
  return {
    ...inv,
    nodes: inv.nodes.map(normalizeNode).sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0)),
  };
}

/** The canonical text of an inventory. Refuses anything that looks like a secret. */
export function serializeInventory(inv: Inventory): string {
  const problems = validateInventory(inv);
  if (problems.length) throw new StageError('refusing to write an invalid inventory', problems);
  const secrets = findSecrets(inv);
  if (secrets.length)
    throw new StageError(
      'refusing to write an inventory that looks like it holds a secret',
      secrets.map((s) => `${s.path}: ${s.why}`),
    );
  return `${canonicalJson(normalizeInventory(inv), 2)}\n`;
}

export function parseInventory(text: string, source: string): Inventory {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  const problems = validateInventory(data);
  if (problems.length) throw new UsageError(`${source} is not a bcmkube inventory:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return data as Inventory;
}

export function readInventory(path: string): Inventory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read inventory '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)} — run discover-nodes first, or pass the inventory artifact of the previous stage`,
    );
  }
  return parseInventory(text, path);
}

/** Writes atomically (temp file + rename), so a crash never leaves half an inventory. */
export function writeInventory(path: string, inv: Inventory): string {
  const text = serializeInventory(inv);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
  return text;
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** Structural validation; returns problems as `path: message`. */
export function validateInventory(data: unknown): string[] {
  const p: string[] = [];
  if (!data || typeof data !== 'object' || Array.isArray(data)) return ['(root): must be an object'];
  const inv = data as Record<string, unknown>;
  if (inv.schemaVersion !== INVENTORY_SCHEMA_VERSION)
    p.push(
      `schemaVersion: must be ${INVENTORY_SCHEMA_VERSION}, got ${JSON.stringify(inv.schemaVersion)} (written by another bcmkube version?)`,
    );
  if (!isString(inv.cluster) || !inv.cluster) p.push('cluster: must be a non-empty string');
  if (!isString(inv.specHash)) p.push('specHash: must be a string');
  const bcm = inv.bcm as Record<string, unknown> | undefined;
  if (!bcm || !isString(bcm.endpoint)) p.push('bcm.endpoint: must be a string');
  if (!Array.isArray(inv.history)) p.push('history: must be an array');
  if (!Array.isArray(inv.nodes)) return [...p, 'nodes: must be an array'];
  const seen = new Set<string>();
  inv.nodes.forEach((n: unknown, i) => {
    const at = `nodes[${i}]`;
    if (!n || typeof n !== 'object') return p.push(`${at}: must be an object`);
    const node = n as Record<string, unknown>;
    for (const k of ['hostname', 'uuid', 'mac', 'status', 'address', 'network'])
      if (!isString(node[k])) p.push(`${at}.${k}: must be a string`);
    if (isString(node.hostname)) {
      if (seen.has(node.hostname)) p.push(`${at}.hostname: '${node.hostname}' appears twice`);
      seen.add(node.hostname);
    }
    if (!Array.isArray(node.roles) || node.roles.some((r) => !ROLE_ORDER.includes(r as InventoryRole)))
      p.push(`${at}.roles: must be a list of ${ROLE_ORDER.join(', ')}`);
    if (!Array.isArray(node.addresses)) p.push(`${at}.addresses: must be an array`);
    if (!Array.isArray(node.history)) p.push(`${at}.history: must be an array`);
  });
  return p;
}

/**
 * Applies a later stage's per-node changes: facts replace facts, history grows. Nodes missing from the
 * update are kept unchanged; an update for a node the inventory lacks is an error (stages never add nodes
 * behind discovery's back).
 */
export function mergeInventory(
  base: Inventory,
  updates: Array<Pick<InventoryNode, 'hostname'> & Partial<InventoryNode>>,
  mark: StageMark,
): Inventory {
  const byName = new Map(base.nodes.map((n) => [n.hostname, n]));
  for (const u of updates)
    if (!byName.has(u.hostname)) throw new StageError(`node '${u.hostname}' is not in the inventory of cluster '${base.cluster}'`);
  const updated = new Map(updates.map((u) => [u.hostname, u]));
  const nodes = base.nodes.map((n) => {
    const u = updated.get(n.hostname);
    if (!u) return n;
    const { history: extra = [], ...rest } = u;
    return { ...n, ...rest, history: [...n.history, ...extra] };
  });
  return { ...base, nodes, history: [...base.history, mark] };
}
