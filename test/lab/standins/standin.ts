// Cluster stand-in for `helm` and `kubectl` (no Kubernetes API server can run on the lab's machines).
// Commands that need no cluster run the REAL binary ($BCMKUBE_REAL_HELM / $BCMKUBE_REAL_KUBECTL).
// Commands that change or read a cluster are recorded ($BCMKUBE_STANDIN_LOG, one JSON line each, with
// start/end times for concurrency checks) and answered from a state file ($BCMKUBE_STANDIN_STATE).
// $BCMKUBE_STANDIN_CONFIG: {"releases": {"<name>": {"fail": true | "once", "delayMs": 100}}}
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';

interface Release {
  name: string;
  namespace: string;
  chart: string;
  version: string;
  revision: number;
  status: string;
  updated: string;
}

interface State {
  releases: Record<string, Release>;
  nodes: Record<string, { labels: Record<string, string> }>;
  applied: Array<{ kind: string; name: string; namespace: string }>;
  failedOnce: string[];
}

interface StandinConfig {
  releases?: Record<string, { fail?: boolean | 'once'; delayMs?: number }>;
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
    const out = fn(s);
    writeFileSync(file, JSON.stringify(s, null, 2));
    return out;
  } finally {
    rmdirSync(lock);
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

function helm(): void {
  const sub = positionals()[0];
  if (['template', 'lint', 'pull', 'package', 'repo', 'version', 'show', 'dependency', 'search', 'env', 'create'].includes(sub ?? ''))
    passthrough(env.BCMKUBE_REAL_HELM);
  const namespace = flag('--namespace', '-n') ?? 'default';
  if (sub === 'upgrade' || sub === 'install') {
    const [, name, chart] = positionals();
    const version = flag('--version') ?? '';
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
    const rel = withState((s) => {
      const prev = s.releases[name!];
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
      };
      return s.releases[name!]!;
    });
    record({ release: name, outcome: 'deployed', revision: rel.revision });
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
    const kind = positionals()[1] ?? '';
    const items = withState((s) =>
      kind === 'nodes' || kind === 'node'
        ? (registeredNodes() ?? Object.keys(s.nodes))
            .map((name) => [name, s.nodes[name] ?? { labels: {} }] as const)
            .map(([name, n]) => ({
              kind: 'Node',
              metadata: { name, labels: n.labels },
              status: { conditions: [{ type: 'Ready', status: 'True' }] },
            }))
        : s.applied
            .filter((a) => a.kind.toLowerCase().startsWith(kind.toLowerCase().replace(/s$/, '')))
            .map((a) => ({ kind: a.kind, metadata: { name: a.name, namespace: a.namespace } })),
    );
    record();
    process.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items })}\n`);
    return;
  }
  if (['apply', 'create', 'delete', 'patch', 'annotate', 'wait', 'rollout'].includes(sub ?? '')) {
    if (sub === 'apply' || sub === 'create') {
      const file = flag('--filename', '-f');
      const text = file && file !== '-' && existsSync(file) ? readFileSync(file, 'utf8') : '';
      const objects = [...text.matchAll(/^kind:\s*(\S+)[\s\S]*?^\s+name:\s*(\S+)/gm)].map((m) => ({ kind: m[1]!, name: m[2]!, namespace }));
      withState((s) => {
        const key = (o: { kind: string; name: string; namespace: string }) => `${o.kind}/${o.namespace}/${o.name}`;
        const fresh = new Set(objects.map(key));
        s.applied = [...s.applied.filter((o) => !fresh.has(key(o))), ...objects];
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
