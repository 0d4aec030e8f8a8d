// Cluster stand-in for `helm` and `kubectl` (no Kubernetes API server can run on the lab's machines).
// Commands that need no cluster run the REAL binary ($BCMKUBE_REAL_HELM / $BCMKUBE_REAL_KUBECTL).
// Commands that change or read a cluster are recorded ($BCMKUBE_STANDIN_LOG, one JSON line each, with
// start/end times for concurrency checks) and answered from a state file ($BCMKUBE_STANDIN_STATE).
// $BCMKUBE_STANDIN_CONFIG: {"releases": {"<name>": {"fail": true | "once", "delayMs": 100, "rolloutFail": true}},
//   "nodes": {"<node>": {"gpus": 0}}, "smoke": "fail"}
// helm upgrade also renders the chart with the REAL `helm template` (same values files) and keeps the manifest,
// the merged values and the rendered objects, so `helm get values|manifest`, `kubectl get storageclass` and
// `kubectl rollout status` answer as a cluster would. GPU nodes (labelled nvidia.com/gpu.present=true) advertise
// nvidia.com/gpu (8 unless configured); a pod asking for a GPU there succeeds and logs a captured `nvidia-smi -L`.
// Objects applied on stdin (`kubectl apply -f -`) are kept as kind/name/namespace/labels, ConfigMaps with their
// data, Secrets with their key NAMES only; values files of helm upgrade are logged with every value under a
// secret-named key replaced by its SHA-256, so tests can check them and no secret is ever written here.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { dnsConfigMaps } from '../runai-sim/kubespray-dns.ts';
import { isSecretKey } from '../../../actions/lib/config/semantics.ts';

interface Release {
  name: string;
  namespace: string;
  chart: string;
  version: string;
  revision: number;
  status: string;
  updated: string;
  /** Merged values of the last upgrade, for `helm get values` (a real cluster keeps them in the release's Secret). */
  values?: unknown;
  /** What the real `helm template` rendered, for `helm get manifest`. */
  manifest?: string;
}

interface State {
  releases: Record<string, Release>;
  nodes: Record<string, { labels: Record<string, string> }>;
  applied: AppliedObject[];
  failedOnce: string[];
  /** Set once the objects a Kubespray deploy creates (its DNS ConfigMaps) were added. */
  kubesprayObjects?: boolean;
}

interface AppliedObject {
  kind: string;
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  type?: string;
  /** Secrets: the names of their keys, never the data. */
  keys?: string[];
  /** ConfigMaps: their data. */
  data?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Objects a helm upgrade rendered: the release. */
  release?: string;
  /** Objects applied on stdin (not Secrets): their spec, as `kubectl get` shows it. */
  spec?: unknown;
  /** Pods: the node they are pinned to (kubernetes.io/hostname) and the GPUs they ask for. */
  node?: string;
  gpus?: number;
}

interface StandinConfig {
  releases?: Record<string, { fail?: boolean | 'once'; delayMs?: number; rolloutFail?: boolean }>;
  nodes?: Record<string, { gpus?: number }>;
  smoke?: 'fail';
}

const [tool, ...argv] = process.argv.slice(2) as ['helm' | 'kubectl', ...string[]];
const start = Date.now();
const env = process.env;

/** The API server a --kubeconfig points at (never its credentials), so tests can check the rewrite. */
function kubeconfigServer(): string | undefined {
  const file = flag('--kubeconfig');
  if (!file || !existsSync(file)) return undefined;
  return /^\s*server:\s*(\S+)/m.exec(readFileSync(file, 'utf8'))?.[1];
}

function record(extra: Record<string, unknown> = {}): void {
  const server = kubeconfigServer();
  if (server) extra = { ...extra, kubeconfigServer: server };
  if (env.BCMKUBE_STANDIN_LOG)
    appendFileSync(
      env.BCMKUBE_STANDIN_LOG,
      `${JSON.stringify({ tool, argv, start, end: Date.now(), pid: process.pid, cwd: process.cwd(), ...extra })}\n`,
    );
}

function passthrough(real: string | undefined): never {
  if (!real) {
    process.stderr.write(`${tool} stand-in: set BCMKUBE_REAL_${tool.toUpperCase()} to run '${argv[0]}'\n`);
    process.exit(127);
  }
  const r = spawnSync(real, argv, { stdio: 'inherit' });
  record({ passthrough: true, exitCode: r.status });
  process.exit(r.status ?? 1);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs fn on the state file under a mkdir lock, so concurrent stand-ins never lose an update. */
function withState<T>(fn: (s: State) => T): T {
  const file = env.BCMKUBE_STANDIN_STATE;
  if (!file) throw new Error('stand-in: BCMKUBE_STANDIN_STATE is not set');
  const lock = `${file}.lock`;
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (i > 2000) throw new Error(`stand-in: state lock ${lock} held too long`);
      sleep(5);
    }
  }
  try {
    const s: State = existsSync(file)
      ? { releases: {}, nodes: {}, applied: [], failedOnce: [], ...JSON.parse(readFileSync(file, 'utf8')) }
      : { releases: {}, nodes: {}, applied: [], failedOnce: [] };
    addKubesprayObjects(s);
    const out = fn(s);
    writeFileSync(file, JSON.stringify(s, null, 2));
    return out;
  } finally {
    rmdirSync(lock);
  }
}

/**
 * What a real Kubespray deploy leaves in the cluster that later stages read: the nodelocaldns and CoreDNS
 * ConfigMaps. Added once, when the Kubespray stand-in has registered nodes (a test may delete them afterwards).
 */
function addKubesprayObjects(s: State): void {
  if (s.kubesprayObjects || !registeredNodes()?.length) return;
  s.kubesprayObjects = true;
  for (const cm of dnsConfigMaps(['nodelocaldns', 'coredns']) as Array<{
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    data: Record<string, string>;
  }>) {
    const { name, namespace, labels } = cm.metadata;
    if (!s.applied.some((o) => o.kind === 'ConfigMap' && o.name === name && o.namespace === namespace))
      s.applied.push({ kind: 'ConfigMap', name, namespace, labels, data: cm.data });
  }
}

function flag(name: string, short?: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === name || (short && a === short)) return argv[i + 1];
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return undefined;
}

function positionals(): string[] {
  const takesValue = new Set([
    '--namespace',
    '-n',
    '--version',
    '--timeout',
    '-f',
    '--values',
    '--set',
    '--set-string',
    '--kube-context',
    '--kubeconfig',
    '-o',
    '--output',
    '-l',
    '--selector',
    '--for',
    '--repo',
    '--ca-file',
    '--post-renderer',
  ]);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (takesValue.has(a)) i++;
    else if (!a.startsWith('-')) out.push(a);
  }
  return out;
}

const config: StandinConfig =
  env.BCMKUBE_STANDIN_CONFIG && existsSync(env.BCMKUBE_STANDIN_CONFIG) ? JSON.parse(readFileSync(env.BCMKUBE_STANDIN_CONFIG, 'utf8')) : {};

type Doc = Record<string, unknown>;
const isDoc = (v: unknown): v is Doc => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
const mergeDocs = (a: Doc, b: Doc): Doc =>
  Object.fromEntries(
    [...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [
      k,
      isDoc(a[k]) && isDoc(b[k]) ? mergeDocs(a[k], b[k]) : k in b ? b[k] : a[k],
    ]),
  );

/** The --values files merged in order, as Helm keeps them in the cluster (secrets included: the release's own Secret). */
function mergedValues(): Doc | undefined {
  const files = argv.flatMap((a, i) => (a === '--values' || a === '-f' ? [argv[i + 1]!] : []));
  if (!files.length) return undefined;
  const docs = files.map((f) => (existsSync(f) ? yaml.load(readFileSync(f, 'utf8')) : undefined));
  return docs.reduce<Doc>((acc, d) => (isDoc(d) ? mergeDocs(acc, d) : acc), {});
}

/** For the log: the merged values with each value under a secret-named key replaced by its SHA-256, and the files' modes. */
function valuesSummary(): { values?: unknown; valuesModes?: string[] } {
  const files = argv.flatMap((a, i) => (a === '--values' || a === '-f' ? [argv[i + 1]!] : []));
  if (!files.length) return {};
  const hide = (v: unknown, key?: string): unknown => {
    if (key !== undefined && typeof v === 'string' && isSecretKey(key)) return { sha256: createHash('sha256').update(v).digest('hex') };
    if (Array.isArray(v)) return v.map((x) => hide(x));
    return isDoc(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hide(x, k)])) : v;
  };
  return {
    values: hide(mergedValues()),
    valuesModes: files.map((f) => (existsSync(f) ? (statSync(f).mode & 0o777).toString(8) : 'missing')),
  };
}

function helm(): void {
  const sub = positionals()[0];
  if (['template', 'lint', 'pull', 'package', 'repo', 'version', 'show', 'dependency', 'search', 'env', 'create'].includes(sub ?? ''))
    passthrough(env.BCMKUBE_REAL_HELM);
  const namespace = flag('--namespace', '-n') ?? 'default';
  if (sub === 'upgrade' || sub === 'install') {
    const [, name, chart] = positionals();
    // Helm records the version the chart's Chart.yaml says (a pulled archive is named after it), not --version.
    const version = /-(v?\d+\.\d+\.\d+[^/]*)\.tgz$/.exec(chart ?? '')?.[1] ?? flag('--version') ?? '';
    const behaviour = config.releases?.[name!] ?? {};
    if (behaviour.delayMs) sleep(behaviour.delayMs);
    const fails =
      behaviour.fail === true ||
      (behaviour.fail === 'once' && withState((s) => (s.failedOnce.includes(name!) ? false : (s.failedOnce.push(name!), true))));
    if (fails) {
      const atomic = argv.includes('--atomic');
      const existed = withState((s) => Boolean(s.releases[name!]));
      record({ release: name, outcome: atomic ? (existed ? 'rolled-back' : 'uninstalled') : 'failed' });
      process.stderr.write(
        `Error: ${existed ? 'UPGRADE' : 'INSTALLATION'} FAILED: release ${name} failed, and has been ${existed ? 'rolled back' : 'uninstalled'} due to atomic being set: context deadline exceeded (lab stand-in)\n`,
      );
      process.exit(1);
    }
    const rendered = renderRelease(name!, chart!, namespace);
    const values = mergedValues();
    const rel = withState((s) => {
      const prev = s.releases[name!];
      s.applied = [...s.applied.filter((o) => o.release !== name), ...rendered.objects];
      const chartName = chart!
        .split('/')
        .pop()!
        .replace(/-v?\d+\.\d+\.\d+.*\.tgz$/, '');
      s.releases[name!] = {
        name: name!,
        namespace,
        chart: chartName,
        version,
        revision: (prev?.revision ?? 0) + 1,
        status: 'deployed',
        updated: new Date().toISOString(),
        ...(values === undefined ? {} : { values }),
        ...(rendered.manifest ? { manifest: rendered.manifest } : {}),
      };
      return s.releases[name!]!;
    });
    record({ release: name, outcome: 'deployed', revision: rel.revision, ...valuesSummary() });
    process.stdout.write(
      `Release "${name}" has been ${rel.revision === 1 ? 'installed' : 'upgraded'}. Happy Helming!\nNAME: ${name}\nNAMESPACE: ${namespace}\nSTATUS: deployed\nREVISION: ${rel.revision}\n`,
    );
    return;
  }
  if (sub === 'list' || sub === 'ls') {
    const all = argv.includes('-A') || argv.includes('--all-namespaces');
    const rels = withState((s) => Object.values(s.releases)).filter((r) => all || r.namespace === namespace);
    record();
    const out = rels
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => ({
        name: r.name,
        namespace: r.namespace,
        revision: String(r.revision),
        updated: r.updated,
        status: r.status,
        chart: `${r.chart}-${r.version}`,
        app_version: r.version,
      }));
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  if (sub === 'get' && ['values', 'manifest'].includes(positionals()[1] ?? '')) {
    const [, what, name] = positionals();
    const rel = withState((s) => s.releases[name!]);
    record({ release: name });
    if (!rel || rel.namespace !== namespace) {
      process.stderr.write('Error: release: not found\n');
      process.exit(1);
    }
    if (what === 'manifest') process.stdout.write(rel.manifest ?? '');
    else
      process.stdout.write(flag('--output', '-o') === 'json' ? `${JSON.stringify(rel.values ?? null)}\n` : yaml.dump(rel.values ?? null));
    return;
  }
  if (sub === 'status' || sub === 'history' || sub === 'get') {
    const name = positionals()[sub === 'get' ? 2 : 1];
    const rel = withState((s) => s.releases[name!]);
    record({ release: name });
    if (!rel) {
      process.stderr.write('Error: release: not found\n');
      process.exit(1);
    }
    process.stdout.write(
      `${JSON.stringify({ name: rel.name, namespace: rel.namespace, version: rel.revision, info: { status: rel.status }, chart: { metadata: { name: rel.chart, version: rel.version } } })}\n`,
    );
    return;
  }
  if (sub === 'uninstall' || sub === 'rollback') {
    const name = positionals()[1];
    withState((s) => {
      if (sub === 'uninstall') delete s.releases[name!];
    });
    record({ release: name });
    return;
  }
  record({ unsupported: true });
  process.stderr.write(`helm stand-in: '${sub}' is not supported\n`);
  process.exit(2);
}

/**
 * Nodes the stand-in API server knows: the Kubespray stand-in registers them in a folder beside the state file
 * ($BCMKUBE_STANDIN_STATE.nodes.d/<hostname>). Undefined when no Kubespray stand-in has run: then every labelled
 * node counts as registered.
 */
function registeredNodes(): string[] | undefined {
  const dir = env.BCMKUBE_STANDIN_STATE ? `${env.BCMKUBE_STANDIN_STATE}.nodes.d` : '';
  return dir && existsSync(dir) ? readdirSync(dir).sort() : undefined;
}

/** `cm`, `configmaps`, `ConfigMap` are one kind. */
function sameKind(stored: string, asked: string): boolean {
  const norm = (k: string) =>
    ({ cm: 'configmap', ns: 'namespace' })[k.toLowerCase()] ??
    k
      .toLowerCase()
      .replace(/sses$/, 'ss')
      .replace(/([^s])s$/, '$1');
  return norm(stored) === norm(asked);
}

/** The objects of a `kubectl apply -f -` (YAML or JSON documents, Lists flattened): Secret data is dropped here. */
function stdinObjects(namespace: string): AppliedObject[] {
  const docs = yaml.loadAll(readFileSync(0, 'utf8')).filter(isDoc);
  const flat = docs.flatMap((d) => (d.kind === 'List' && Array.isArray(d.items) ? d.items.filter(isDoc) : [d]));
  return flat.map((d) => {
    const meta = (isDoc(d.metadata) ? d.metadata : {}) as { name?: string; namespace?: string; labels?: Record<string, string> };
    const kind = String(d.kind);
    const data = isDoc(d.data) ? (d.data as Record<string, string>) : {};
    return {
      kind,
      name: String(meta.name),
      namespace: meta.namespace ?? namespace,
      ...(meta.labels ? { labels: meta.labels } : {}),
      ...(typeof d.type === 'string' ? { type: d.type } : {}),
      ...(kind === 'Secret' ? { keys: Object.keys({ ...data, ...(isDoc(d.stringData) ? d.stringData : {}) }).sort() } : {}),
      ...(kind === 'ConfigMap' ? { data } : {}),
      ...(kind !== 'Secret' && isDoc(d.spec) ? { spec: d.spec } : {}),
      ...podFields(d),
      ...(isDoc(meta) && isDoc((meta as Doc).annotations) ? { annotations: (meta as Doc).annotations as Record<string, string> } : {}),
    };
  });
}

/** A Pod's pinned node and GPU request, which decide how the stand-in answers for it. */
function podFields(d: Doc): Pick<AppliedObject, 'node' | 'gpus'> {
  if (d.kind !== 'Pod' || !isDoc(d.spec)) return {};
  const spec = d.spec as {
    nodeSelector?: Record<string, string>;
    containers?: Array<{ resources?: { limits?: Record<string, unknown> } }>;
  };
  const gpus = (spec.containers ?? []).reduce((n, c) => n + Number(c.resources?.limits?.['nvidia.com/gpu'] ?? 0), 0);
  return { ...(spec.nodeSelector?.['kubernetes.io/hostname'] ? { node: spec.nodeSelector['kubernetes.io/hostname'] } : {}), gpus };
}

/** The REAL `helm template` of a local chart with the same values files: its manifest and objects. */
function renderRelease(name: string, chart: string, namespace: string): { manifest: string; objects: AppliedObject[] } {
  if (!env.BCMKUBE_REAL_HELM || !existsSync(chart)) return { manifest: '', objects: [] };
  const values = argv.flatMap((a, i) => (a === '--values' || a === '-f' ? ['--values', argv[i + 1]!] : []));
  const r = spawnSync(env.BCMKUBE_REAL_HELM, ['template', name, chart, '--namespace', namespace, ...values], { encoding: 'utf8' });
  if (r.status !== 0) return { manifest: '', objects: [] };
  const objects = yaml
    .loadAll(r.stdout)
    .filter(isDoc)
    .map((d): AppliedObject => {
      const meta = (isDoc(d.metadata) ? d.metadata : {}) as { name?: string; namespace?: string; annotations?: Record<string, string> };
      const namespaced = !['StorageClass', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Namespace'].includes(
        String(d.kind),
      );
      return {
        kind: String(d.kind),
        name: String(meta.name),
        namespace: namespaced ? (meta.namespace ?? namespace) : '',
        release: name,
        ...(meta.annotations ? { annotations: meta.annotations } : {}),
      };
    });
  return { manifest: r.stdout, objects };
}

/**
 * GPUs a node advertises: as on a real cluster, only once the GPU Operator (its device plugin) is deployed, and then
 * the GPUs the node has (counted at registration) unless the config says otherwise.
 */
function nodeGpus(name: string, s: State): number {
  if (s.releases['gpu-operator']?.status !== 'deployed') return 0;
  const file = env.BCMKUBE_STANDIN_STATE ? `${env.BCMKUBE_STANDIN_STATE}.nodes.d/${name}` : '';
  const found = file && existsSync(file) ? Number(/gpus=(\d+)/.exec(readFileSync(file, 'utf8'))?.[1] ?? 0) : 0;
  return found ? (config.nodes?.[name]?.gpus ?? found) : 0;
}

/** A pod's phase: one asking for GPUs succeeds on a node that has them (unless told to fail), else stays Pending. */
function podPhase(p: AppliedObject, s: State): string {
  if (!p.gpus) return 'Succeeded';
  const node = p.node ? s.nodes[p.node] : undefined;
  if (!node || nodeGpus(p.node!, s) < p.gpus) return 'Pending';
  return config.smoke === 'fail' ? 'Failed' : 'Succeeded';
}

function kubectl(): void {
  const sub = positionals()[0];
  const dryRunClient = argv.some((a) => a === '--dry-run=client');
  if (sub === 'completion' || (sub === 'version' && argv.includes('--client')) || dryRunClient) passthrough(env.BCMKUBE_REAL_KUBECTL);
  const namespace = flag('--namespace', '-n') ?? 'default';
  if (sub === 'label') {
    const [, kind, name, ...labels] = positionals();
    const registered = registeredNodes();
    if ((kind === 'node' || kind === 'nodes') && registered && !registered.includes(name!)) {
      record({ notFound: name });
      process.stderr.write(`Error from server (NotFound): nodes "${name}" not found\n`);
      process.exit(1);
    }
    withState((s) => {
      if (kind === 'node' || kind === 'nodes') {
        const node = (s.nodes[name!] ??= { labels: {} });
        for (const l of labels) {
          const [k, v] = l.split('=');
          if (k && v !== undefined) node.labels[k] = v;
        }
      }
    });
    record();
    process.stdout.write(`${kind}/${name} labeled\n`);
    return;
  }
  if (sub === 'get') {
    const [, kind = '', name] = positionals();
    if (name && sameKind('Pod', kind)) {
      const pod = withState((s) => {
        const p = s.applied.find((a) => a.kind === 'Pod' && a.name === name && a.namespace === namespace);
        return p && { ...p, phase: podPhase(p, s) };
      });
      record(pod ? { phase: pod.phase } : { notFound: name });
      if (!pod) {
        if (argv.includes('--ignore-not-found')) return;
        process.stderr.write(`Error from server (NotFound): pods "${name}" not found\n`);
        process.exit(1);
      }
      const doc = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, status: { phase: pod.phase } };
      process.stdout.write(flag('--output', '-o') === 'name' ? `pod/${name}\n` : `${JSON.stringify(doc)}\n`);
      return;
    }
    if (name && !/^nodes?$/.test(kind)) {
      const obj = withState((s) =>
        s.applied.find((a) => sameKind(a.kind, kind) && a.name === name && (a.kind === 'Namespace' || a.namespace === namespace)),
      );
      record(obj ? {} : { notFound: name });
      if (!obj) {
        if (argv.includes('--ignore-not-found')) return;
        process.stderr.write(`Error from server (NotFound): ${kind} "${name}" not found\n`);
        process.exit(1);
      }
      const { kind: k, name: n, namespace: ns, labels, type, data, spec } = obj;
      const doc = {
        apiVersion: 'v1',
        kind: k,
        metadata: { name: n, namespace: ns, ...(labels ? { labels } : {}) },
        ...(type ? { type } : {}),
        ...(data ? { data } : {}),
        ...(spec ? { spec } : {}),
      };
      process.stdout.write(flag('--output', '-o') === 'name' ? `${k.toLowerCase()}/${n}\n` : `${JSON.stringify(doc)}\n`);
      return;
    }
    const items = withState((s) =>
      kind === 'nodes' || kind === 'node'
        ? (registeredNodes() ?? Object.keys(s.nodes))
            .map((name) => [name, s.nodes[name] ?? { labels: {} }] as const)
            .map(([name, n]) => ({
              kind: 'Node',
              metadata: { name, labels: n.labels },
              status: {
                conditions: [{ type: 'Ready', status: 'True' }],
                ...(nodeGpus(name, s) ? { allocatable: { 'nvidia.com/gpu': String(nodeGpus(name, s)) } } : {}),
              },
            }))
        : s.applied
            .filter((a) => sameKind(a.kind, kind) || a.kind.toLowerCase().startsWith(kind.toLowerCase().replace(/s$/, '')))
            .map((a) => ({
              kind: a.kind,
              metadata: { name: a.name, namespace: a.namespace, ...(a.annotations ? { annotations: a.annotations } : {}) },
            })),
    );
    record();
    process.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items })}\n`);
    return;
  }
  if (sub === 'rollout' && positionals()[1] === 'status') {
    const target = positionals()[2] ?? '';
    const [kind = '', name = ''] = target.split('/');
    const owner = withState((s) => s.applied.find((a) => sameKind(a.kind, kind) && a.name === name && a.namespace === namespace)?.release);
    const fails = owner !== undefined && config.releases?.[owner]?.rolloutFail === true;
    record({ rollout: target, ...(fails ? { outcome: 'failed' } : {}) });
    if (fails) {
      process.stderr.write(`error: timed out waiting for the condition (lab stand-in: ${target} is told not to become ready)\n`);
      process.exit(1);
    }
    process.stdout.write(`${kind} "${name}" successfully rolled out\n`);
    return;
  }
  if (sub === 'logs') {
    const name = positionals()[1] ?? '';
    const pod = withState((s) => {
      const p = s.applied.find((a) => a.kind === 'Pod' && a.name === name && a.namespace === namespace);
      return p && { ...p, phase: podPhase(p, s) };
    });
    record();
    if (!pod) {
      process.stderr.write(`Error from server (NotFound): pods "${name}" not found\n`);
      process.exit(1);
    }
    if (pod.phase === 'Failed') process.stdout.write('Failed to initialize NVML: Unknown Error\n');
    else if (pod.phase === 'Succeeded' && pod.gpus) {
      // A real `nvidia-smi -L` captured on an H100 node (test/fixtures/gpu), one line per GPU asked for.
      const capture = readFileSync(new URL('../../fixtures/gpu/h100-80gb-driver-580/nvidia-smi-L.txt', import.meta.url), 'utf8');
      process.stdout.write(`${capture.trim().split('\n').slice(0, pod.gpus).join('\n')}\n`);
    }
    return;
  }
  if (sub === 'delete') {
    const [, kind = '', name] = positionals();
    const gone = withState((s) => {
      const before = s.applied.length;
      s.applied = s.applied.filter(
        (a) =>
          !(
            (sameKind(a.kind, kind) && a.name === name && (a.kind === 'Namespace' || a.namespace === namespace)) ||
            (sameKind(kind, 'Namespace') && a.namespace === name)
          ),
      );
      return before - s.applied.length;
    });
    record({ deleted: gone });
    if (!gone && !argv.includes('--ignore-not-found')) {
      process.stderr.write(`Error from server (NotFound): ${kind} "${name}" not found\n`);
      process.exit(1);
    }
    if (gone) process.stdout.write(`${kind}/${name} deleted\n`);
    return;
  }
  if (sub === 'annotate') {
    const [, kind = '', name, ...pairs] = positionals();
    withState((s) => {
      for (const a of s.applied)
        if (sameKind(a.kind, kind) && a.name === name && (a.namespace === '' || a.namespace === namespace || a.kind === 'StorageClass'))
          for (const p of pairs) {
            const [k, v] = p.split('=');
            if (k && v !== undefined) a.annotations = { ...a.annotations, [k]: v };
          }
    });
    record();
    process.stdout.write(`${kind}/${name} annotated\n`);
    return;
  }
  if (['apply', 'create', 'delete', 'patch', 'annotate', 'wait', 'rollout'].includes(sub ?? '')) {
    if (sub === 'apply' || sub === 'create') {
      const file = flag('--filename', '-f');
      const text = file && file !== '-' && existsSync(file) ? readFileSync(file, 'utf8') : '';
      const objects: AppliedObject[] =
        file === '-'
          ? stdinObjects(namespace)
          : [...text.matchAll(/^kind:\s*(\S+)[\s\S]*?^\s+name:\s*(\S+)/gm)].map((m) => ({ kind: m[1]!, name: m[2]!, namespace }));
      const said = withState((s) => {
        const key = (o: { kind: string; name: string; namespace: string }) => `${o.kind}/${o.namespace}/${o.name}`;
        const fresh = new Set(objects.map(key));
        const before = new Map(s.applied.map((o) => [key(o), JSON.stringify(o)]));
        s.applied = [...s.applied.filter((o) => !fresh.has(key(o))), ...objects];
        return objects.map((o) => {
          const was = before.get(key(o));
          const verb = argv.includes('--server-side')
            ? 'serverside-applied'
            : !was
              ? 'created'
              : was === JSON.stringify(o)
                ? 'unchanged'
                : 'configured';
          return `${o.kind.toLowerCase()}/${o.name} ${verb}`;
        });
      });
      if (said.length) process.stdout.write(`${said.join('\n')}\n`);
      record({
        objects: objects.map((o) => ({ kind: o.kind, name: o.name, namespace: o.namespace, ...(o.keys ? { keys: o.keys } : {}) })),
      });
      return;
    }
    if (sub === 'patch') {
      const [, kind = '', name] = positionals();
      const patch = JSON.parse(flag('--patch', '-p') ?? '{}') as { data?: Record<string, string> };
      withState((s) => {
        const obj = s.applied.find((a) => sameKind(a.kind, kind) && a.name === name && a.namespace === namespace);
        if (obj?.data && patch.data) obj.data = { ...obj.data, ...patch.data };
      });
    }
    record();
    return;
  }
  record({ unsupported: true });
  process.stderr.write(`kubectl stand-in: '${sub}' is not supported\n`);
  process.exit(2);
}

if (tool === 'helm') helm();
else kubectl();
