// What changed between two inventories of one cluster: the part of discover-nodes' report a reviewer reads.
import { ROLE_ORDER } from './document.ts';
import type { Inventory, InventoryNode } from './types.ts';

export interface InventoryChange {
  hostname: string;
  change: 'added' | 'removed' | 'changed';
  detail: string;
}

const NODE_FIELDS: Array<[keyof InventoryNode, string]> = [
  ['uuid', 'uuid'],
  ['mac', 'MAC'],
  ['roles', 'roles'],
  ['address', 'address'],
  ['network', 'network'],
  ['status', 'status'],
  ['category', 'category'],
];

function fieldText(node: InventoryNode, field: keyof InventoryNode): string {
  if (field === 'roles') return ROLE_ORDER.filter((r) => node.roles.includes(r)).join(', ');
  return String(node[field] ?? '');
}

/** What differs between two records of one node (identity, roles, address, BCM status), as `field old → new`. */
export function nodeDifferences(o: InventoryNode, n: InventoryNode): string[] {
  return NODE_FIELDS.filter(([f]) => fieldText(o, f) !== fieldText(n, f)).map(
    ([f, label]) => `${label} ${fieldText(o, f) || '(none)'} → ${fieldText(n, f) || '(none)'}`,
  );
}

/** Nodes added, removed or changed (identity, roles, address, BCM status) between two inventories of one cluster. */
export function diffInventories(before: Inventory, after: Inventory): InventoryChange[] {
  const old = new Map(before.nodes.map((n) => [n.hostname, n]));
  const now = new Map(after.nodes.map((n) => [n.hostname, n]));
  const changes: InventoryChange[] = [];
  for (const [hostname, n] of now) {
    const o = old.get(hostname);
    if (!o) {
      changes.push({ hostname, change: 'added', detail: `${n.roles.join(', ')} at ${n.address}` });
      continue;
    }
    const diffs = nodeDifferences(o, n);
    if (diffs.length) changes.push({ hostname, change: 'changed', detail: diffs.join('; ') });
  }
  for (const [hostname, o] of old)
    if (!now.has(hostname)) changes.push({ hostname, change: 'removed', detail: `was ${o.roles.join(', ')}` });
  return changes.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
}
