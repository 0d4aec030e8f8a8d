// What helm-platform reads from and changes in the cluster: deployed releases, namespaces with their labels,
// the Grafana admin Secret, the default StorageClass, one `helm upgrade --install`, and the
// checks after install (rollout status, allocatable GPUs, a CUDA smoke pod).
import * as yaml from 'js-yaml';
import { parseRendered } from './rendered.ts';
import { StageError } from '../util/errors.ts';
import { runHelm, runKubectl, upgradeInstallArgs, type KubeTools, type ReleaseInstall } from './kube-tools.ts';
import type { Values } from './selection.ts';

export interface DeployedRelease {
  name: string;
  namespace: string;
  /** `<chart>-<version>` as helm list shows it. */
  chart: string;
  status: string;
  revision: number;
}

const first = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .slice(-2)
    .join(' / ')
    .slice(0, 400);

async function kubectlOk(t: KubeTools, args: string[], what: string, input?: string): Promise<string> {
  const r = await runKubectl(t, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new StageError(`${what} failed (kubectl exit ${r.code}): ${first(r.stderr || r.stdout)}`);
  return r.stdout;
}

/** Every release Helm knows, in any namespace and any state. */
export async function listReleases(t: KubeTools): Promise<DeployedRelease[]> {
  const r = await runHelm(t, ['list', '--all-namespaces', '--all', '--output', 'json']);
  if (r.code !== 0) throw new StageError(`helm list failed (exit ${r.code}): ${first(r.stderr)}`);
  const rows = JSON.parse(r.stdout || '[]') as Array<Record<string, string>>;
  return rows.map((x) => ({
    name: x.name ?? '',
    namespace: x.namespace ?? '',
    chart: x.chart ?? '',
    status: x.status ?? '',
    revision: Number(x.revision ?? 0),
  }));
}

/** The user-supplied values Helm stored for a release (`null` in Helm means none). */
export async function deployedValues(t: KubeTools, name: string, namespace: string): Promise<Values> {
  const r = await runHelm(t, ['get', 'values', name, '--namespace', namespace, '--output', 'json']);
  if (r.code !== 0) throw new StageError(`helm get values ${name} failed (exit ${r.code}): ${first(r.stderr)}`);
  const v = JSON.parse(r.stdout.trim() || 'null') as Values | null;
  return v ?? {};
}

/** Applies manifests from stdin; true when the server changed something (kubectl says created/configured). */
export async function applyManifests(t: KubeTools, docs: object[], what: string, serverSide = false): Promise<boolean> {
  const text = docs.map((d) => yaml.dump(d, { noRefs: true })).join('---\n');
  const out = await kubectlOk(
    t,
    ['apply', ...(serverSide ? ['--server-side', '--field-manager', 'bcmkube'] : []), '--filename', '-'],
    what,
    text,
  );
  return !out
    .trim()
    .split('\n')
    .filter(Boolean)
    .every((l) => /\b(unchanged|serverside-applied)\s*$/.test(l) && !/\bconfigured\b|\bcreated\b/.test(l));
}

export function namespaceManifest(name: string, labels: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(Object.keys(labels).length ? { labels } : {}) } };
}

/** Namespaces Kubernetes itself owns: never applied (their labels are not ours to set). */
export const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'default']);

export async function ensureNamespace(t: KubeTools, name: string, labels: Record<string, string>): Promise<void> {
  if (SYSTEM_NAMESPACES.has(name)) return;
  await applyManifests(t, [namespaceManifest(name, labels)], `namespace ${name}`);
}

export interface GrafanaSecretRef {
  namespace: string;
  name: string;
  userKey: string;
  passwordKey: string;
}

/** Does the Secret exist (its content is never read)? */
export async function secretExists(t: KubeTools, namespace: string, name: string): Promise<boolean> {
  const out = await kubectlOk(
    t,
    ['get', 'secret', name, '--namespace', namespace, '--ignore-not-found', '--output', 'name'],
    `look up Secret ${namespace}/${name}`,
  );
  return out.trim() !== '';
}

/**
 * Grafana's admin login as a Secret the chart references (grafana.admin.existingSecret). Sent on stdin and
 * applied server-side, so the password is in no file, argument or last-applied annotation.
 */
export async function applyGrafanaSecret(t: KubeTools, ref: GrafanaSecretRef, user: string, password: string): Promise<void> {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  await applyManifests(
    t,
    [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: ref.name, namespace: ref.namespace, labels: { 'app.kubernetes.io/managed-by': 'bcmkube' } },
        data: { [ref.userKey]: b64(user), [ref.passwordKey]: b64(password) },
      },
    ],
    `Secret ${ref.namespace}/${ref.name}`,
    true,
  );
}

export interface ReleaseRun {
  ok: boolean;
  /** helm's own words on failure (rolled back / uninstalled by --atomic). */
  error?: string;
}

export async function upgradeInstall(t: KubeTools, r: ReleaseInstall, onLine?: (line: string) => void): Promise<ReleaseRun> {
  const res = await runHelm(t, upgradeInstallArgs(r), onLine ? { onLine: (l) => onLine(l) } : {});
  if (res.code === 0) return { ok: true };
  return { ok: false, error: first(res.stderr || res.stdout) };
}

const DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';

/** The annotations that make `name` the only default StorageClass (empty when it already is). */
export function defaultClassChanges(
  classes: Array<{ name: string; annotations: Record<string, string> }>,
  name: string,
): Array<{ name: string; value: 'true' | 'false' }> {
  if (!classes.some((c) => c.name === name))
    throw new StageError(
      `StorageClass ${name} does not exist after local-path-provisioner was installed: keep storageClass.create and storageClass.name: ${name} in its values`,
    );
  return classes.flatMap((c): Array<{ name: string; value: 'true' | 'false' }> => {
    const isDefault = c.annotations[DEFAULT_CLASS] === 'true';
    if (c.name === name) return isDefault ? [] : [{ name: c.name, value: 'true' as const }];
    return isDefault ? [{ name: c.name, value: 'false' as const }] : [];
  });
}

/** Makes local-path the default StorageClass; any other default stops being one. Returns what changed. */
export async function ensureDefaultStorageClass(t: KubeTools, name: string): Promise<string[]> {
  const out = await kubectlOk(t, ['get', 'storageclass', '--output', 'json'], 'list StorageClasses');
  const items = ((JSON.parse(out) as { items?: Values[] }).items ?? []).map((i) => {
    const md = (i.metadata ?? {}) as { name?: string; annotations?: Record<string, string> };
    return { name: md.name ?? '', annotations: md.annotations ?? {} };
  });
  const changes = defaultClassChanges(items, name);
  for (const c of changes)
    await kubectlOk(
      t,
      ['annotate', 'storageclass', c.name, `${DEFAULT_CLASS}=${c.value}`, '--overwrite'],
      `annotate StorageClass ${c.name}`,
    );
  return changes.map((c) => `${c.name}: default=${c.value}`);
}

/** What verification checks in a release: its workloads, and what prometheus-operator turns into StatefulSets. */
export interface WorkloadCheck {
  kind: string;
  name: string;
  namespace: string;
  /** rollout: `kubectl rollout status`; available: the operator's Available condition (its StatefulSet is ready). */
  how: 'rollout' | 'available';
}

const ROLLOUT_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet'];
/** prometheus-operator's resources whose StatefulSet (volume claims included) only the operator creates. */
const OPERATOR_KINDS: Record<string, string> = {
  Prometheus: 'prometheuses.monitoring.coreos.com',
  Alertmanager: 'alertmanagers.monitoring.coreos.com',
};

/** Deployments, DaemonSets and StatefulSets in a release's manifest, and its Prometheus and Alertmanager resources. */
export function workloadsOf(manifest: string, namespace: string): WorkloadCheck[] {
  return parseRendered(manifest, 'helm get manifest').objects.flatMap((o): WorkloadCheck[] => {
    const ns = o.namespace ?? namespace;
    if (ROLLOUT_KINDS.includes(o.kind)) return [{ kind: o.kind.toLowerCase(), name: o.name, namespace: ns, how: 'rollout' }];
    const resource = OPERATOR_KINDS[o.kind];
    return resource ? [{ kind: resource, name: o.name, namespace: ns, how: 'available' }] : [];
  });
}

/** `kubectl rollout status` for every workload the release created; the failures, one line each. */
export async function verifyRollout(t: KubeTools, release: string, namespace: string, timeoutSeconds: number): Promise<string[]> {
  const m = await runHelm(t, ['get', 'manifest', release, '--namespace', namespace]);
  if (m.code !== 0) return [`${release}: helm get manifest failed: ${first(m.stderr)}`];
  const problems: string[] = [];
  for (const w of workloadsOf(m.stdout, namespace)) {
    const ref = `${w.kind}/${w.name}`;
    const timeout = `--timeout=${timeoutSeconds}s`;
    const r = await runKubectl(
      t,
      w.how === 'rollout'
        ? ['rollout', 'status', ref, '--namespace', w.namespace, timeout]
        : ['wait', ref, '--namespace', w.namespace, '--for=condition=Available', timeout],
    );
    if (r.code !== 0)
      problems.push(
        `${release}: ${ref} in ${w.namespace} ${w.how === 'rollout' ? 'did not roll out' : 'is not Available (its StatefulSet or volume claims)'}: ${first(r.stderr || r.stdout)}`,
      );
  }
  return problems;
}

/** GPUs each node advertises (status.allocatable["nvidia.com/gpu"]); undefined for a node the API does not know. */
export function allocatableGpus(nodesJson: string, names: string[]): Record<string, number | undefined> {
  const items = (JSON.parse(nodesJson) as { items?: Values[] }).items ?? [];
  const by = new Map(
    items.map((i) => [
      String((i.metadata as Values | undefined)?.name ?? ''),
      Number(((i.status as Values | undefined)?.allocatable as Record<string, string> | undefined)?.['nvidia.com/gpu'] ?? 0),
    ]),
  );
  return Object.fromEntries(names.map((n) => [n, by.get(n)]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (up to the deadline) until every GPU node advertises at least one GPU; returns the last counts. */
export async function waitForGpus(
  t: KubeTools,
  nodes: string[],
  timeoutSeconds: number,
  pollMs = 10_000,
): Promise<{ counts: Record<string, number | undefined>; problems: string[] }> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const counts = allocatableGpus(await kubectlOk(t, ['get', 'nodes', '--output', 'json'], 'list nodes'), nodes);
    const problems = nodes
      .filter((n) => !counts[n])
      .map((n) =>
        counts[n] === undefined
          ? `${n}: not registered with the API server`
          : `${n}: advertises no nvidia.com/gpu after ${timeoutSeconds}s (GPU Operator device plugin: kubectl -n gpu-operator get pods -o wide)`,
      );
    if (!problems.length || Date.now() + pollMs > deadline) return { counts, problems };
    await sleep(pollMs);
  }
}

export const SMOKE_NAMESPACE = 'bcmkube-smoke';
export const SMOKE_POD = 'cuda-smoke';

export function smokePodManifest(node: string, image: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: SMOKE_POD, namespace: SMOKE_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'bcmkube' } },
    spec: {
      restartPolicy: 'Never',
      nodeSelector: { 'kubernetes.io/hostname': node },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      containers: [{ name: 'cuda', image, command: ['nvidia-smi', '-L'], resources: { limits: { 'nvidia.com/gpu': 1 } } }],
    },
  };
}

export interface SmokeResult {
  ok: boolean;
  node: string;
  /** nvidia-smi -L lines, or why it failed. */
  detail: string;
  /** Set when the namespace was kept for debugging. */
  kept?: string;
}

/**
 * A pod with one GPU on `node` that runs `nvidia-smi -L`. Its namespace is removed on success and kept on
 * failure (with the commands to look at it).
 */
export async function cudaSmoke(t: KubeTools, node: string, image: string, timeoutSeconds: number, pollMs = 3000): Promise<SmokeResult> {
  const ns = ['--namespace', SMOKE_NAMESPACE];
  await ensureNamespace(t, SMOKE_NAMESPACE, { 'app.kubernetes.io/managed-by': 'bcmkube' });
  await kubectlOk(t, ['delete', 'pod', SMOKE_POD, ...ns, '--ignore-not-found', '--wait=true'], 'remove the last smoke pod');
  await applyManifests(t, [smokePodManifest(node, image)], 'CUDA smoke pod');
  const deadline = Date.now() + timeoutSeconds * 1000;
  let phase = '';
  for (;;) {
    const pod = JSON.parse(await kubectlOk(t, ['get', 'pod', SMOKE_POD, ...ns, '--output', 'json'], 'read the smoke pod')) as {
      status?: { phase?: string };
    };
    phase = pod.status?.phase ?? '';
    if (phase === 'Succeeded' || phase === 'Failed' || Date.now() + pollMs > deadline) break;
    await sleep(pollMs);
  }
  const logs = await runKubectl(t, ['logs', SMOKE_POD, ...ns]);
  const gpus = logs.stdout.split('\n').filter((l) => /^GPU \d+: /.test(l));
  if (phase === 'Succeeded' && gpus.length) {
    await kubectlOk(t, ['delete', 'namespace', SMOKE_NAMESPACE, '--wait=false'], 'remove the smoke namespace');
    return { ok: true, node, detail: gpus.join('; ') };
  }
  return {
    ok: false,
    node,
    detail: `pod ${phase || 'not started'} after ${timeoutSeconds}s${logs.stdout.trim() ? `: ${first(logs.stdout)}` : ''}`,
    kept: `kept for debugging: kubectl -n ${SMOKE_NAMESPACE} describe pod ${SMOKE_POD}; kubectl -n ${SMOKE_NAMESPACE} logs ${SMOKE_POD}; remove with kubectl delete namespace ${SMOKE_NAMESPACE}`,
  };
}
