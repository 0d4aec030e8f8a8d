// Stage 1, discover-nodes: BCM → inventory.json. Only reads BCM, so plan mode does the same work.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BcmClient, type BcmAuth } from '../bcm/client.ts';
import { parseCategories, parseNetworks, parseNode, parseStatus, parseVersion } from '../bcm/model.ts';
import { applyStatuses, selectNodes } from '../bcm/select.ts';
import { INVENTORY_SCHEMA_VERSION, type Inventory, type InventoryNode } from '../inventory/types.ts';
import { diffInventories, nodeDifferences, type InventoryChange } from '../inventory/diff.ts';
import { normalizeInventory, readInventory, writeInventory } from '../inventory/document.ts';
import { booleanInput, secretInput, type InputSource } from '../report/inputs.ts';
import { heading, table, timingsTable, type TimedPhase } from '../report/markdown.ts';
import type { Reporter } from '../report/reporter.ts';
import { StageError, UsageError } from '../util/errors.ts';
import { keepYoungGenerationSmall } from '../util/heap.ts';
import { openStage, type StageContext } from './context.ts';
import { timed } from './timing.ts';

export interface DiscoverResult {
  inventory: Inventory;
  inventoryPath: string;
  bcmVersion?: string;
  phases: TimedPhase[];
  /** Nodes added, removed or changed against the inventory this run replaced; absent on a first discovery. */
  inventoryChanges?: InventoryChange[];
}

function readPemOrFile(value: string, what: string): string {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} '${value}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

export function bcmAuth(ctx: StageContext): BcmAuth {
  const { spec, inputs, reporter } = ctx;
  if (spec.bcm.auth === 'login') {
    const username = inputs.get('bcm-username').trim() || spec.bcm.username || '';
    if (!username) throw new UsageError(`bcm.username (or ${inputs.label('bcm-username')}) is required when bcm.auth is login`);
    const password = secretInput(inputs, 'bcm-password', reporter, spec.bcm.password_file);
    if (!password)
      throw new UsageError(
        `the BCM password is missing: pass ${inputs.label('bcm-password')} from a secret (or ${inputs.label('bcm-password-file')}, or bcm.password_file in the spec)`,
      );
    return { mode: 'login', username, password };
  }
  const certIn =
    inputs.get('bcm-client-cert') || (spec.bcm.client_cert_file ? readPemOrFile(spec.bcm.client_cert_file, 'bcm.client_cert_file') : '');
  const key = secretInput(inputs, 'bcm-client-key', reporter, spec.bcm.client_key_file);
  if (!certIn || !key)
    throw new UsageError(
      `bcm.auth is client-cert: pass ${inputs.label('bcm-client-cert')} and ${inputs.label('bcm-client-key')} from secrets (or bcm.client_cert_file / bcm.client_key_file)`,
    );
  return { mode: 'client-cert', cert: readPemOrFile(certIn, 'bcm-client-cert'), key: readPemOrFile(key, 'bcm-client-key') };
}

export function caPem(ctx: StageContext): string | undefined {
  const fromInput = ctx.inputs.get('bcm-ca-cert').trim();
  if (fromInput) return readPemOrFile(fromInput, ctx.inputs.label('bcm-ca-cert'));
  if (ctx.spec.bcm.ca_file) {
    if (!existsSync(ctx.spec.bcm.ca_file))
      throw new UsageError(`bcm.ca_file '${ctx.spec.bcm.ca_file}' does not exist (paths are relative to the working directory)`);
    return readPemOrFile(ctx.spec.bcm.ca_file, 'bcm.ca_file');
  }
  return undefined;
}

const HISTORY_KEPT = 20;

/** The inventory an earlier run left here, if it is this cluster's; anything unreadable is ignored. */
function previousInventory(path: string, cluster: string): Inventory | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const inv = readInventory(path);
    return inv.cluster === cluster ? inv : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A node BCM still knows by the same UUID keeps its facts and history, so later stages can compare runs. Its
 * history grows only when something changed: a 10,000-node inventory re-discovered daily stays the same size.
 */
export function carryForward(node: InventoryNode, previous: Map<string, InventoryNode>): InventoryNode {
  const before = previous.get(node.uuid);
  if (!before || before.hostname !== node.hostname) return node;
  const changed = nodeDifferences(before, node);
  const history = changed.length
    ? [...before.history, ...node.history.map((h) => ({ ...h, result: `changed: ${changed.join('; ')}` }))].slice(-HISTORY_KEPT)
    : before.history;
  return { ...node, ...(before.facts ? { facts: before.facts } : {}), history };
}

/** GitHub caps a step summary at 1 MiB: a 10,000-node table is cut, the inventory has them all. */
export const SUMMARY_NODE_ROWS = 200;

export function nodeTable(all: InventoryNode[]): string {
  const nodes = all.slice(0, SUMMARY_NODE_ROWS);
  const more = all.length > nodes.length ? `\n\n… and ${all.length - nodes.length} more nodes (all are in inventory.json).` : '';
  return (
    table(
      ['hostname', 'roles', 'address', 'network', 'status', 'category', 'MAC'],
      nodes.map((n) => [n.hostname, n.roles.join(', '), n.address, n.network, n.status, n.category ?? '', n.mac]),
    ) + more
  );
}

export async function discoverStage(inputs: InputSource, reporter: Reporter): Promise<DiscoverResult> {
  keepYoungGenerationSmall();
  const ctx = openStage(inputs, reporter);
  const { spec } = ctx;
  const insecure = booleanInput(inputs, 'insecure', false) || spec.bcm.insecure;
  const client = new BcmClient({
    endpoint: spec.bcm.endpoint,
    auth: bcmAuth(ctx),
    ca: caPem(ctx),
    insecure,
    ...(spec.bcm.tls_server_name ? { tlsServerName: spec.bcm.tls_server_name } : {}),
    timeoutMs: spec.bcm.timeout_seconds * 1000,
    retries: spec.bcm.retries,
  });
  const warnings: string[] = [];
  if (insecure) {
    warnings.push(
      `TLS verification of the BCM head node is OFF (${spec.bcm.insecure ? 'bcm.insecure in the spec' : inputs.label('insecure')}): anyone on the path could impersonate BCM. Give bcm.ca_file instead.`,
    );
    reporter.warning(warnings[0]!, 'insecure BCM connection');
  }
  const phases: TimedPhase[] = [];
  const at = new Date().toISOString();
  try {
    const bcmVersion = await timed(phases, 'BCM version', async () =>
      parseVersion(await client.call('cmmain', 'getVersion').catch(() => undefined)),
    );
    const [nodes, rawNetworks, rawCategories] = await timed(phases, 'BCM nodes, networks, categories', () =>
      Promise.all([
        client.callList('cmdevice', 'getNodes', [], parseNode),
        client.call('cmnet', 'getNetworks'),
        client.call('cmdevice', 'getCategories'),
      ]),
    );
    let selection = await timed(phases, 'select nodes', () =>
      selectNodes(spec, { nodes, networks: parseNetworks(rawNetworks), categories: parseCategories(rawCategories) }, at),
    );
    const uuids = selection.nodes.map((n) => n.uuid);
    if (uuids.length) {
      const statuses = await timed(phases, 'BCM node status', () =>
        client.callList('cmstatus', 'getStatusForDevices', [uuids], (el, i) => parseStatus(el, uuids[i])),
      );
      selection = applyStatuses(selection, new Map(statuses.map((st) => [st.uuid, st])), spec);
    }
    if (selection.problems.length) {
      reporter.summary([heading(`discover-nodes: cluster ${spec.name} — refused`), ...selection.problems.map((p) => `- ${p}`)].join('\n'));
      throw new StageError(
        `discovery of cluster '${spec.name}' found ${selection.problems.length} problem(s); no inventory was written`,
        selection.problems,
      );
    }
    const inventoryPath = join(ctx.outDir, 'inventory.json');
    const previous = previousInventory(inventoryPath, spec.name);
    const previousNodes = new Map((previous?.nodes ?? []).map((n) => [n.uuid, n]));
    const inventory: Inventory = {
      schemaVersion: INVENTORY_SCHEMA_VERSION,
      cluster: spec.name,
      specHash: ctx.specHash,
      bcm: { endpoint: spec.bcm.endpoint, ...(bcmVersion ? { version: bcmVersion } : {}) },
      nodes: selection.nodes.map((n) => carryForward(n, previousNodes)),
      history: [...(previous?.history ?? []), { stage: 'discover-nodes', at, result: `${selection.nodes.length} nodes` }].slice(
        -HISTORY_KEPT,
      ),
      // what the later stages recorded stays: a re-discovery must not make a deployed cluster look new
      ...(previous?.kubernetes ? { kubernetes: previous.kubernetes } : {}),
      ...(previous?.platform ? { platform: previous.platform } : {}),
      ...(previous?.runai ? { runai: previous.runai } : {}),
    };
    await timed(phases, 'write inventory', () => writeInventory(inventoryPath, inventory));
    const inventoryChanges = previous && diffInventories(previous, normalizeInventory(inventory));
    const sorted = [...inventory.nodes].sort((a, b) => a.hostname.localeCompare(b.hostname));
    const names = (role: string) => JSON.stringify(sorted.filter((n) => n.roles.includes(role as never)).map((n) => n.hostname));
    reporter.output('inventory-path', inventoryPath);
    reporter.output('node-count', String(sorted.length));
    reporter.output('control-plane', names('control_plane'));
    reporter.output('workers', names('worker'));
    reporter.summary(
      [
        heading(`discover-nodes: cluster ${spec.name}${ctx.plan ? ' (plan)' : ''}`),
        `${sorted.length} nodes from BCM ${bcmVersion ?? '(version unknown)'} at ${spec.bcm.endpoint}; inventory written to \`${inventoryPath}\`.`,
        ...warnings.map((w) => `> ⚠️ ${w}`),
        nodeTable(sorted),
        timingsTable(phases),
      ].join('\n\n'),
    );
    return { inventory, inventoryPath, bcmVersion, phases, ...(inventoryChanges ? { inventoryChanges } : {}) };
  } finally {
    client.close();
  }
}
