// Pure preflight policy: from every node's probe, decide whether the stage may change anything, and what
// it would change. Any failure on any node stops the stage before a single node is touched.
import type { ClusterSpec } from '../config/types.ts';
import type { InventoryNode, NodeFacts } from '../inventory/types.ts';
import type { ProbeResult } from './probe.ts';

export type UserStep = 'group' | 'user' | 'key' | 'sudoers';

export interface NodeDecision {
  hostname: string;
  failures: string[];
  warnings: string[];
  /** Steps that converge the service user on this node; empty = already as specified. */
  steps: UserStep[];
  /** Set when /var is too small for containerd and a data partition has room. */
  containerdStorageDir?: string;
  facts?: NodeFacts;
}

export type ProbeOutcome = { ok: true; result: ProbeResult } | { ok: false; error: string };

function containerdPlacement(facts: NodeFacts, spec: ClusterSpec): { dir?: string; failure?: string } {
  const need = spec.access.min_containerd_gb;
  const root = facts.containerd.root;
  const rootMount =
    root &&
    Object.keys(facts.freeGb)
      .filter((m) => root === m || root.startsWith(`${m}/`))
      .sort((a, b) => b.length - a.length)[0];
  if (rootMount && (facts.freeGb[rootMount] ?? 0) >= need) return {};
  if ((facts.freeGb['/var'] ?? 0) >= need && !rootMount) return {};
  const partition = spec.access.data_partitions.find((p) => (facts.freeGb[p] ?? 0) >= need);
  if (partition) return { dir: `${partition}/containerd` };
  const seen =
    Object.entries(facts.freeGb)
      .map(([m, gb]) => `${m} ${gb} GB free`)
      .join(', ') || 'no filesystem could be read';
  return {
    failure: `containerd needs ${need} GB free: ${seen}. Free space on /var or a data partition (${spec.access.data_partitions.join(', ')}), or lower access.min_containerd_gb`,
  };
}

export function decideNode(node: InventoryNode, outcome: ProbeOutcome, spec: ClusterSpec, adminUser: string): NodeDecision {
  const d: NodeDecision = { hostname: node.hostname, failures: [], warnings: [], steps: [] };
  if (!outcome.ok) {
    d.failures.push(`unreachable at ${node.address}: ${outcome.error}`);
    return d;
  }
  const { facts, sudo, problems } = outcome.result;
  d.facts = facts;
  d.failures.push(...problems);
  if (sudo === 'no') d.failures.push(`admin user '${adminUser}' has no passwordless sudo; grant it (NOPASSWD) or use root`);
  const isGpuWorker = node.roles.includes('gpu_worker');
  if (isGpuWorker && facts.gpus.length === 0 && !spec.access.gpu_drivers_later) {
    d.failures.push(
      'GPU worker shows no GPU (nvidia-smi absent or empty); install the driver, or set access.gpu_drivers_later: true when the GPU Operator installs it',
    );
  }
  if (!isGpuWorker && facts.gpus.length > 0) d.warnings.push(`${facts.gpus.length} GPU(s) on a node that is not a GPU worker`);
  const placement = containerdPlacement(facts, spec);
  if (placement.failure) d.failures.push(placement.failure);
  if (placement.dir) d.containerdStorageDir = placement.dir;
  if (!Number.isFinite(facts.clockOffsetSeconds)) d.failures.push('the node clock could not be read');
  else if (Math.abs(facts.clockOffsetSeconds) > spec.access.max_clock_skew_seconds) {
    d.failures.push(
      `clock is off by ${facts.clockOffsetSeconds.toFixed(2)} s from the runner (allowed ${spec.access.max_clock_skew_seconds} s); fix time sync (chrony/NTP) on the node`,
    );
  }
  if (facts.homeOnNfs) d.warnings.push(`the admin's home is on NFS`);
  const want = spec.access.service_user;
  const have = facts.serviceUser;
  if (have?.exists) {
    if (have.uid !== want.uid || have.gid !== want.gid) {
      d.failures.push(
        `user '${want.name}' exists with uid ${have.uid} gid ${have.gid}, but the spec says uid ${want.uid} gid ${want.gid}; fix the node (or the spec) so they agree`,
      );
    }
    if (!have.keyInstalled) d.steps.push('key');
    if (!have.sudoers) d.steps.push('sudoers');
  } else {
    if (have?.gid !== undefined && have.gid !== want.gid)
      d.failures.push(`group '${want.name}' exists with gid ${have.gid}, but the spec says ${want.gid}`);
    if (have?.gid === undefined) d.steps.push('group');
    d.steps.push('user', 'key', 'sudoers');
  }
  return d;
}

export interface PreflightVerdict {
  decisions: NodeDecision[];
  /** Nodes left out because they failed and the spec lets them be skipped. */
  skipped: string[];
  /** True when nothing may be changed on any node. */
  blocked: boolean;
  failures: string[];
}

export function preflight(
  nodes: InventoryNode[],
  outcomes: Map<string, ProbeOutcome>,
  spec: ClusterSpec,
  adminUser: string,
): PreflightVerdict {
  const decisions = nodes.map((n) => decideNode(n, outcomes.get(n.hostname) ?? { ok: false, error: 'not probed' }, spec, adminUser));
  const skippable = new Set(spec.nodes.skippable);
  const failing = decisions.filter((d) => d.failures.length);
  const skipped = failing.filter((d) => skippable.has(d.hostname)).map((d) => d.hostname);
  const blocking = failing.filter((d) => !skippable.has(d.hostname));
  return {
    decisions,
    skipped,
    blocked: blocking.length > 0,
    failures: blocking.flatMap((d) => d.failures.map((f) => `${d.hostname}: ${f}`)),
  };
}
