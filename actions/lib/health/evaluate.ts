// The health check's decisions: pure functions from what was gathered (BCM, the API server, Helm, etcd, the
// nodes' clocks and certificates) and what the spec and inventory expect, to one verdict per check with its
// cause named. Gathering is elsewhere; a fact that could not be read is an Unreadable, checked as "unknown".
import { deployedVersion, sameChartVersion } from '../helm/changes.ts';
import type { DeployedRelease } from '../helm/cluster.ts';
import type { SelectedRelease, Values } from '../helm/selection.ts';
import type { Inventory } from '../inventory/types.ts';
import { canonicalJson } from '../util/canonical-json.ts';

export type Status = 'ok' | 'warn' | 'fail' | 'unknown';

export interface CheckResult {
  check: string;
  status: Status;
  /** One line: what was seen, and for anything not ok, the cause by name. */
  detail: string;
  /** Each cause on its own (node, release, member, certificate…). */
  problems: string[];
}

/** A fact the gathering could not read, and why. */
export interface Unreadable {
  unreadable: string;
}
export type Fact<T> = T | Unreadable;
const isUnreadable = <T>(f: Fact<T>): f is Unreadable => typeof f === 'object' && f !== null && 'unreadable' in f;

export interface KubeNodeFact {
  name: string;
  ready: boolean;
  /** The Ready condition's reason and message when not Ready. */
  reason?: string;
  allocatableGpus: number;
}

export interface DeployedReleaseFact extends DeployedRelease {
  values: Values;
}

export interface EtcdMemberFact {
  name: string;
  endpoint: string;
  healthy: boolean;
  error?: string;
}

/** What the backup helper records (filled through EtcdBackupSource). */
export interface BackupFact {
  /** ISO time of the newest backup, or undefined when there is none. */
  lastAt?: string;
}

export interface CertificateFact {
  node: string;
  name: string;
  notAfter: string;
}

export interface HealthFacts {
  now: Date;
  bcmNodes: Fact<Array<{ hostname: string; status: string }>>;
  kubeNodes: Fact<KubeNodeFact[]>;
  releases: Fact<DeployedReleaseFact[]>;
  /** undefined when the platform has no Knative. */
  knativeServing?: Fact<{ ready: boolean; message?: string } | 'absent'>;
  /** undefined when Run:ai is off in the spec. */
  runaiCluster?: Fact<{ status: string }>;
  etcdMembers: Fact<EtcdMemberFact[]>;
  etcdBackup: Fact<BackupFact>;
  certificates: Fact<CertificateFact[]>;
  /** Seconds each node's clock is off the runner's. */
  clockOffsets: Fact<Record<string, number>>;
}

export interface HealthExpectations {
  inventory: Inventory;
  releases: SelectedRelease[];
}

export const HEALTH_LIMITS = {
  /** Kubespray's certificates last a year; warn this many days before one ends. */
  certificateWarnDays: 30,
  clockSkewWarnSeconds: 1,
  clockSkewFailSeconds: 5,
  backupWarnHours: 26,
  backupFailHours: 72,
};

const result = (check: string, problems: string[], okDetail: string, status: Status = 'fail'): CheckResult =>
  problems.length ? { check, status, detail: problems.join('; '), problems } : { check, status: 'ok', detail: okDetail, problems: [] };

function guard<T>(check: string, fact: Fact<T> | undefined, run: (v: T) => CheckResult): CheckResult {
  if (fact === undefined) return { check, status: 'ok', detail: 'not part of this cluster', problems: [] };
  if (isUnreadable(fact)) return { check, status: 'unknown', detail: `could not be read: ${fact.unreadable}`, problems: [fact.unreadable] };
  return run(fact);
}

export function checkBcmNodes(f: HealthFacts, e: HealthExpectations): CheckResult {
  return guard('bcm-nodes', f.bcmNodes, (nodes) => {
    const problems = e.inventory.nodes.flatMap((n) => {
      const b = nodes.find((x) => x.hostname === n.hostname);
      if (!b) return [`${n.hostname}: not in BCM any more`];
      return b.status === 'UP' ? [] : [`${n.hostname}: BCM status ${b.status}`];
    });
    return result('bcm-nodes', problems, `${e.inventory.nodes.length} node(s) UP in BCM`);
  });
}

export function checkNodesReady(f: HealthFacts, e: HealthExpectations): CheckResult {
  return guard('nodes-ready', f.kubeNodes, (nodes) => {
    const problems = e.inventory.nodes.flatMap((n) => {
      const k = nodes.find((x) => x.name === n.hostname);
      if (!k) return [`${n.hostname}: not registered with the API server`];
      return k.ready ? [] : [`${n.hostname}: NotReady${k.reason ? ` (${k.reason})` : ''}`];
    });
    return result('nodes-ready', problems, `${e.inventory.nodes.length} node(s) Ready`);
  });
}

export function checkGpusAllocatable(f: HealthFacts, e: HealthExpectations): CheckResult {
  return guard('gpus-allocatable', f.kubeNodes, (nodes) => {
    const gpuNodes = e.inventory.nodes.filter((n) => n.roles.includes('gpu_worker') && n.facts);
    const problems = gpuNodes.flatMap((n) => {
      const want = n.facts!.gpus.length;
      const have = nodes.find((x) => x.name === n.hostname)?.allocatableGpus ?? 0;
      return have === want ? [] : [`${n.hostname}: ${have} of ${want} GPUs allocatable (inventory: ${want})`];
    });
    const total = gpuNodes.reduce((s, n) => s + n.facts!.gpus.length, 0);
    return result('gpus-allocatable', problems, `${total} GPU(s) allocatable on ${gpuNodes.length} node(s), as the inventory counts`);
  });
}

/** Dotted keys whose values differ between two values trees (a key on one side only counts). */
export function valuesDrift(want: Values, have: Values, at = ''): string[] {
  const isMap = (v: unknown): v is Values => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
  return [...new Set([...Object.keys(want), ...Object.keys(have)])].sort().flatMap((k) => {
    const [w, h] = [want[k], have[k]];
    if (isMap(w) && isMap(h)) return valuesDrift(w, h, `${at}${k}.`);
    return canonicalJson(w ?? null) === canonicalJson(h ?? null) ? [] : [`${at}${k}`];
  });
}

export function checkReleases(f: HealthFacts, e: HealthExpectations): CheckResult {
  return guard('helm-releases', f.releases, (deployed) => {
    const problems = e.releases.flatMap((s) => {
      const name = s.release.name;
      const d = deployed.find((x) => x.name === name && x.namespace === s.release.namespace);
      if (!d) return [`${name}: not installed in ${s.release.namespace}`];
      const out: string[] = [];
      if (d.status !== 'deployed') out.push(`${name}: status ${d.status}`);
      const version = deployedVersion(d, s.release.chart);
      if (!sameChartVersion(version, s.release.version)) out.push(`${name}: chart ${version}, pinned ${s.release.version}`);
      const drift = valuesDrift(s.values, d.values);
      if (drift.length)
        out.push(`${name}: values drifted (${drift.slice(0, 5).join(', ')}${drift.length > 5 ? `, +${drift.length - 5}` : ''})`);
      return out;
    });
    return result('helm-releases', problems, `${e.releases.length} release(s) deployed at their pinned versions and values`);
  });
}

export function checkKnative(f: HealthFacts): CheckResult {
  return guard('knative-serving', f.knativeServing, (k) =>
    result(
      'knative-serving',
      k === 'absent'
        ? ['KnativeServing knative-serving/knative-serving is missing']
        : k.ready
          ? []
          : [`KnativeServing not Ready: ${k.message ?? 'no message'}`],
      'KnativeServing Ready',
    ),
  );
}

export function checkRunai(f: HealthFacts): CheckResult {
  return guard('runai-cluster', f.runaiCluster, (r) =>
    result(
      'runai-cluster',
      r.status === 'Connected' ? [] : [`Run:ai cluster status ${r.status || 'unknown'} (not Connected)`],
      'Run:ai cluster Connected',
    ),
  );
}

export function checkEtcd(f: HealthFacts, e: HealthExpectations): CheckResult {
  return guard('etcd-members', f.etcdMembers, (members) => {
    const expected = e.inventory.nodes.filter((n) => n.roles.includes('etcd')).map((n) => n.hostname);
    const problems = [
      ...members.filter((m) => !m.healthy).map((m) => `${m.name} (${m.endpoint}): unhealthy${m.error ? `: ${m.error}` : ''}`),
      ...expected.filter((n) => !members.some((m) => m.name === n)).map((n) => `${n}: not an etcd member`),
    ];
    const healthy = members.filter((m) => m.healthy).length;
    const quorum = Math.floor(expected.length / 2) + 1;
    return result(
      'etcd-members',
      problems.length && healthy < quorum ? [`quorum lost (${healthy} of ${expected.length} healthy)`, ...problems] : problems,
      `${healthy} of ${expected.length} member(s) healthy`,
    );
  });
}

export function checkBackupAge(f: HealthFacts): CheckResult {
  return guard('etcd-backup', f.etcdBackup, (b) => {
    if (!b.lastAt) return { check: 'etcd-backup', status: 'warn', detail: 'no etcd backup yet', problems: ['no etcd backup yet'] };
    const hours = (f.now.getTime() - Date.parse(b.lastAt)) / 3_600_000;
    const age = `last backup ${hours.toFixed(1)} h ago (${b.lastAt})`;
    if (hours > HEALTH_LIMITS.backupFailHours) return { check: 'etcd-backup', status: 'fail', detail: age, problems: [age] };
    if (hours > HEALTH_LIMITS.backupWarnHours) return { check: 'etcd-backup', status: 'warn', detail: age, problems: [age] };
    return { check: 'etcd-backup', status: 'ok', detail: age, problems: [] };
  });
}

export function checkCertificates(f: HealthFacts): CheckResult {
  return guard('certificates', f.certificates, (certs) => {
    const days = (c: CertificateFact) => (Date.parse(c.notAfter) - f.now.getTime()) / 86_400_000;
    const expired = certs.filter((c) => days(c) <= 0).map((c) => `${c.node} ${c.name}: expired ${c.notAfter}`);
    const soon = certs
      .filter((c) => days(c) > 0 && days(c) <= HEALTH_LIMITS.certificateWarnDays)
      .map((c) => `${c.node} ${c.name}: expires in ${Math.floor(days(c))} days (${c.notAfter})`);
    const first = certs.map(days).sort((a, b) => a - b)[0];
    if (expired.length)
      return { check: 'certificates', status: 'fail', detail: [...expired, ...soon].join('; '), problems: [...expired, ...soon] };
    return result(
      'certificates',
      soon,
      `${certs.length} certificate(s) valid${first === undefined ? '' : `, the first ends in ${Math.floor(first)} days`}`,
      'warn',
    );
  });
}

export function checkClockSkew(f: HealthFacts): CheckResult {
  return guard('clock-skew', f.clockOffsets, (offsets) => {
    const off = Object.entries(offsets).sort(([a], [b]) => a.localeCompare(b));
    const line = ([n, s]: [string, number]) => `${n}: clock ${s > 0 ? '+' : ''}${s.toFixed(1)} s`;
    const bad = off.filter(([, s]) => Math.abs(s) > HEALTH_LIMITS.clockSkewFailSeconds);
    if (bad.length) return { check: 'clock-skew', status: 'fail', detail: bad.map(line).join('; '), problems: bad.map(line) };
    const worst = Math.max(0, ...off.map(([, s]) => Math.abs(s)));
    return result(
      'clock-skew',
      off.filter(([, s]) => Math.abs(s) > HEALTH_LIMITS.clockSkewWarnSeconds).map(line),
      `${off.length} node clock(s) within ${worst.toFixed(1)} s`,
      'warn',
    );
  });
}

/** Every check, in the order the report shows them. */
export function evaluateHealth(f: HealthFacts, e: HealthExpectations): CheckResult[] {
  return [
    checkBcmNodes(f, e),
    checkNodesReady(f, e),
    checkGpusAllocatable(f, e),
    checkReleases(f, e),
    checkKnative(f),
    checkRunai(f),
    checkEtcd(f, e),
    checkBackupAge(f),
    checkCertificates(f),
    checkClockSkew(f),
  ];
}

/**
 * The exit code of `bcmkube health`: 0 healthy, 1 a check failed, 2 bad usage (the CLI's), 3 only warnings,
 * 4 no failure but a check could not be read.
 */
export const HEALTH_EXIT = { healthy: 0, unhealthy: 1, usage: 2, warnings: 3, unknown: 4 } as const;

export function healthExitCode(results: CheckResult[]): number {
  if (results.some((r) => r.status === 'fail')) return HEALTH_EXIT.unhealthy;
  if (results.some((r) => r.status === 'unknown')) return HEALTH_EXIT.unknown;
  if (results.some((r) => r.status === 'warn')) return HEALTH_EXIT.warnings;
  return HEALTH_EXIT.healthy;
}

const MARK: Record<Status, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', unknown: 'UNKNOWN' };

/** One line per check, for a terminal or a log. */
export function healthLines(results: CheckResult[]): string[] {
  const width = Math.max(...results.map((r) => r.check.length));
  return results.map((r) => `${MARK[r.status].padEnd(7)} ${r.check.padEnd(width)}  ${r.detail}`);
}
