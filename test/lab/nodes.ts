// The lab's fake bare-metal nodes: a real sshd per node inside Linux namespaces over a private root
// (recipes: shared/reference/lab-recipes.md). Everything lives under the lab dir; nothing on the host
// changes but processes, mounts under that dir, and one nftables table of the lab's own.
//   <dir>/state              one tmpfs holding every node's disk (overlay upper), /var and data fs
//   <dir>/nodes/<name>/      node.log, supervisor.log, supervisor.pid, unshare.pid
//   <dir>/nodes.json         what runs (read by readRunningNodes, stopNodes, nodeFault)
//   <dir>/known_hosts        every node by hostname and address, from its real host key
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const LAB_BIN = join(HERE, 'nodes');
const REPO = resolve(HERE, '../..');
const GPU_CAPTURES: Record<GpuModel, string> = {
  H100: join(REPO, 'test/fixtures/gpu/h100-80gb-driver-580'),
  H200: join(REPO, 'test/fixtures/gpu/h200-141gb-driver-580'),
};
/** The lab tmpfs is lazily allocated: its size is a ceiling, not a reservation. */
const STATE_TMPFS_SIZE = '200g';

type GpuModel = 'H100' | 'H200';
export type NodeFault = 'drop' | 'reject' | 'hang' | 'reboot' | 'poweroff' | 'restore';

export interface LabNodeSpec {
  name: string;
  /** Last octet of the node's address 127.0.<subnet>.<index>. */
  index: number;
  gpus: number;
  gpuModel?: GpuModel;
  /** A /var of this many GB (DGX OS has about 6 GB); default: /var on the lab's big tmpfs. */
  varGb?: number;
  /** A data partition of this many GB at dataMount (default /raid, as on DGX OS). */
  dataGb?: number;
  dataMount?: string;
}

export interface NodesOptions {
  dir: string;
  subnet: number;
  nodes: LabNodeSpec[];
  adminPublicKey: string;
  passwordAdmin?: { user: string; password: string };
}

export interface RunningNode {
  name: string;
  address: string;
  port: 22;
  supervisorPid: number;
  gpus: number;
  hostKeyFingerprint: string;
}

interface NodeRecord extends RunningNode {
  spec: LabNodeSpec;
}

interface NodesFile {
  subnet: number;
  adminPublicKey: string;
  nodes: NodeRecord[];
}

export const LAB_APT_PACKAGES = [
  'openssh-server',
  'openssh-client',
  'sudo',
  'ansible-core',
  'ansible',
  'sshpass',
  'nftables',
  'iproute2',
  'procps',
  'util-linux',
  'openssl',
  'unzip',
  'python3',
  'python3-venv',
];

export function defaultLabNodes(): LabNodeSpec[] {
  const dgx = { gpus: 8, gpuModel: 'H100', varGb: 6, dataGb: 1000, dataMount: '/raid' } as const;
  return [
    { name: 'cpu-03', index: 3, gpus: 0 },
    { name: 'cpu-05', index: 5, gpus: 0 },
    { name: 'cpu-06', index: 6, gpus: 0 },
    { name: 'dgx-05', index: 105, ...dgx },
    { name: 'dgx-06', index: 106, ...dgx },
  ];
}

/** node-001… for scale tests; every `gpuEvery`-th node is a DGX H200 with 8 GPUs (0: none). */
export function syntheticNodes(count: number, gpuEvery = 0): LabNodeSpec[] {
  if (!Number.isInteger(count) || count < 1 || count > 250) throw new Error(`lab: 1 to 250 nodes (asked for ${count})`);
  return Array.from({ length: count }, (_, i) => {
    const gpu = gpuEvery > 0 && (i + 1) % gpuEvery === 0;
    return {
      name: `node-${String(i + 1).padStart(3, '0')}`,
      index: i + 1,
      gpus: gpu ? 8 : 0,
      ...(gpu ? { gpuModel: 'H200' as const, varGb: 6, dataGb: 1000, dataMount: '/raid' } : {}),
    };
  });
}

export function nftTable(subnet: number): string {
  return `bcmkube_lab_${subnet}`;
}

export function nodeAddress(subnet: number, index: number): string {
  return `127.0.${subnet}.${index}`;
}

/** Refuses what would leave 127.0.0.0/8 or collide, before anything starts. */
export function checkNodesOptions(opts: NodesOptions): void {
  if (!Number.isInteger(opts.subnet) || opts.subnet < 1 || opts.subnet > 254)
    throw new Error(`lab: subnet must be 1..254, got ${opts.subnet}`);
  const seen = new Map<string, string>();
  for (const n of opts.nodes) {
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(n.name)) throw new Error(`lab: node name '${n.name}' is not a valid hostname`);
    if (!Number.isInteger(n.index) || n.index < 1 || n.index > 250)
      throw new Error(`lab: node ${n.name}: index must be 1..250, got ${n.index}`);
    for (const key of [n.name, `#${n.index}`]) {
      const other = seen.get(key);
      if (other) throw new Error(`lab: nodes ${other} and ${n.name} share ${key.startsWith('#') ? `index ${n.index}` : 'a name'}`);
      seen.set(key, n.name);
    }
    if (n.dataMount !== undefined && !/^\/[\w./-]+$/.test(n.dataMount))
      throw new Error(`lab: node ${n.name}: bad dataMount '${n.dataMount}'`);
  }
  if (!/^[\w@.-]+ [A-Za-z0-9+/=]+( [^\n]*)?$/.test(opts.adminPublicKey.trim())) {
    throw new Error('lab: adminPublicKey must be one OpenSSH public key line');
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A live node supervisor (guards against a recycled PID in a stale pid file). */
function isSupervisor(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(LAB_BIN, 'node-run.sh'));
  } catch {
    return false;
  }
}

function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]!.replace(/\\040/g, ' '));
}

async function ensureTmpfs(path: string, size: string): Promise<void> {
  mkdirSync(path, { recursive: true });
  if (!mountPoints().includes(path)) await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'bcmkube-lab', path]);
}

function readNodesFile(dir: string): NodesFile | undefined {
  const f = join(dir, 'nodes.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as NodesFile) : undefined;
}

function writeNodesFile(dir: string, file: NodesFile): void {
  writeFileSync(join(dir, 'nodes.json'), `${JSON.stringify(file, null, 2)}\n`);
}

function publicView({ spec: _spec, ...node }: NodeRecord): RunningNode {
  return node;
}

export function readRunningNodes(dir: string): RunningNode[] {
  return (readNodesFile(dir)?.nodes ?? []).filter((n) => isSupervisor(n.supervisorPid)).map(publicView);
}

export async function ensureLabPackages(): Promise<void> {
  if (!existsSync('/usr/bin/dpkg-query')) {
    throw new Error(`lab: needs a Debian machine (no dpkg here) with these packages: ${LAB_APT_PACKAGES.join(' ')}`);
  }
  // dpkg-query exits 1 when some package is unknown but still lists the others
  const listed = await run('dpkg-query', ['-W', '-f', '${Package} ${db:Status-Status}\n', ...LAB_APT_PACKAGES]).catch(
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
  );
  const installed = new Set(
    listed.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]),
  );
  const missing = LAB_APT_PACKAGES.filter((p) => !installed.has(p));
  if (!missing.length) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    throw new Error(`lab: missing Debian packages: ${missing.join(' ')}; run as root: apt-get install -y ${missing.join(' ')}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env, maxBuffer: 64 << 20 });
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, maxBuffer: 64 << 20 });
}

function nodeDir(dir: string, name: string): string {
  return join(dir, 'nodes', name);
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The node's PID 1 (its sshd), the only child of the node's unshare. */
export function nodeInitPid(dir: string, name: string): number | undefined {
  const unshare = readPid(join(nodeDir(dir, name), 'unshare.pid'));
  if (!unshare) return undefined;
  try {
    const child = readFileSync(`/proc/${unshare}/task/${unshare}/children`, 'utf8').trim().split(/\s+/)[0];
    return child ? Number(child) : undefined;
  } catch {
    return undefined;
  }
}

async function passwordHash(password: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const p = spawn('openssl', ['passwd', '-6', '-stdin'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolveHash(out.trim()) : reject(new Error('lab: openssl passwd failed'))));
    p.stdin.end(password);
  });
}

/** Starts one node's supervisor (a session of its own, so the node outlives the caller); returns its PID. */
async function startSupervisor(
  dir: string,
  subnet: number,
  adminPublicKey: string,
  spec: LabNodeSpec,
  pwAdmin?: { user: string; hash: string },
): Promise<number> {
  const state = join(dir, 'state', spec.name);
  const logs = nodeDir(dir, spec.name);
  mkdirSync(state, { recursive: true });
  mkdirSync(logs, { recursive: true });
  if (spec.varGb) {
    await ensureTmpfs(join(state, 'varfs'), `${spec.varGb}g`);
    mkdirSync(join(state, 'varfs/upper'), { recursive: true });
    mkdirSync(join(state, 'varfs/work'), { recursive: true });
  }
  if (spec.dataGb) await ensureTmpfs(join(state, 'datafs'), `${spec.dataGb}g`);
  const env: Record<string, string> = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    NAME: spec.name,
    ADDR: nodeAddress(subnet, spec.index),
    PORT: '22',
    STATE: state,
    LAB_BIN,
    NODE_DIR: logs,
    ADMIN_PUB: adminPublicKey.trim(),
    // the host work tree and the lab dir stay invisible inside nodes (most are covered already by
    // the node's private /tmp, /home and /root)
    HIDE_DIRS: [...new Set(['/work', REPO, resolve(dir)])].join(' '),
    GPU_COUNT: String(spec.gpus),
    GPU_DATA: GPU_CAPTURES[spec.gpuModel ?? 'H100'],
    DATA_MOUNT: spec.dataGb ? (spec.dataMount ?? '/raid') : '',
    ...(pwAdmin ? { PW_USER: pwAdmin.user, PW_HASH: pwAdmin.hash } : {}),
  };
  const log = openSync(join(logs, 'supervisor.log'), 'a');
  const child = spawn(join(LAB_BIN, 'node-run.sh'), [], { env, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error(`lab: could not start the supervisor of ${spec.name}`);
  writeFileSync(join(logs, 'supervisor.pid'), `${pid}\n`);
  return pid;
}

async function listeningAddresses(): Promise<Set<string>> {
  const { stdout } = await run('ss', ['-Hltn']);
  return new Set(
    stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[3])
      .filter((a): a is string => Boolean(a)),
  );
}

function logTail(dir: string, name: string): string {
  try {
    return readFileSync(join(nodeDir(dir, name), 'node.log'), 'utf8')
      .trim()
      .split('\n')
      .slice(-5)
      .join(' | ');
  } catch {
    return 'no node.log';
  }
}

/** One poll loop over `ss` for all nodes (one poller per node would eat the 2 cores). */
async function waitListening(dir: string, nodes: RunningNode[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await listeningAddresses();
    const waiting = nodes.filter((n) => !up.has(`${n.address}:${n.port}`));
    if (!waiting.length) return;
    const dead = waiting.find((n) => !alive(n.supervisorPid));
    if (dead) throw new Error(`lab: node ${dead.name} stopped while booting: ${logTail(dir, dead.name)}`);
    if (Date.now() > deadline) {
      throw new Error(
        `lab: sshd did not start on ${waiting.map((n) => `${n.name} (${n.address})`).join(', ')}: ${logTail(dir, waiting[0]!.name)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The node's real host key, read through its root (/proc/<pid1>/root), and its SHA256 fingerprint. */
function hostKeyOf(dir: string, name: string): { line: string; fingerprint: string } {
  const init = nodeInitPid(dir, name);
  if (!init) throw new Error(`lab: node ${name} is not running`);
  const [type, blob] = readFileSync(`/proc/${init}/root/etc/ssh/ssh_host_ed25519_key.pub`, 'utf8').trim().split(/\s+/);
  if (!type || !blob) throw new Error(`lab: node ${name} has no ed25519 host key`);
  const digest = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '');
  return { line: `${type} ${blob}`, fingerprint: `SHA256:${digest}` };
}

/** Hostname and address entries per node; plain (unhashed) so tests and tools can read them. */
export function renderKnownHosts(entries: { name: string; address: string; keyLine: string }[]): string {
  return entries.map((e) => `${e.name},${e.address} ${e.keyLine}\n`).join('');
}

/**
 * Starts the nodes that are not running (running ones are kept), waits until every sshd listens, then
 * writes <dir>/known_hosts and <dir>/nodes.json.
 */
export async function startNodes(opts: NodesOptions): Promise<RunningNode[]> {
  checkNodesOptions(opts);
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await ensureTmpfs(join(dir, 'state'), STATE_TMPFS_SIZE);
  const previous = readNodesFile(dir);
  if (previous && previous.subnet !== opts.subnet && previous.nodes.some((n) => isSupervisor(n.supervisorPid))) {
    throw new Error(`lab: ${dir} already runs nodes on subnet ${previous.subnet}; stop them first`);
  }
  const before = new Map((previous?.nodes ?? []).map((n) => [n.name, n]));
  const pwAdmin = opts.passwordAdmin ? { user: opts.passwordAdmin.user, hash: await passwordHash(opts.passwordAdmin.password) } : undefined;
  const records: NodeRecord[] = [];
  for (const spec of opts.nodes) {
    const prev = before.get(spec.name);
    const supervisorPid =
      prev && isSupervisor(prev.supervisorPid)
        ? prev.supervisorPid
        : await startSupervisor(dir, opts.subnet, opts.adminPublicKey, spec, pwAdmin);
    const address = nodeAddress(opts.subnet, spec.index);
    records.push({ name: spec.name, address, port: 22, supervisorPid, gpus: spec.gpus, hostKeyFingerprint: '', spec });
  }
  // nodes.json first: a failed bring-up can still be stopped by stopNodes
  const keep = (previous?.nodes ?? []).filter((n) => !records.some((r) => r.name === n.name) && isSupervisor(n.supervisorPid));
  const file: NodesFile = { subnet: opts.subnet, adminPublicKey: opts.adminPublicKey.trim(), nodes: [...records, ...keep] };
  writeNodesFile(dir, file);
  await waitListening(dir, records, 30_000 + records.length * 1000);
  const known: { name: string; address: string; keyLine: string }[] = [];
  for (const r of file.nodes) {
    const key = hostKeyOf(dir, r.name);
    r.hostKeyFingerprint = key.fingerprint;
    known.push({ name: r.name, address: r.address, keyLine: key.line });
  }
  writeFileSync(join(dir, 'known_hosts'), renderKnownHosts(known));
  writeNodesFile(dir, file);
  return records.map(publicView);
}

async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(alive);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter(alive);
  }
  return left;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

async function nft(args: string[]): Promise<string> {
  const { stdout } = await run('nft', args);
  return stdout;
}

/** Every supervisor of this lab: from nodes.json and from the per-node pid files (a failed start). */
function labSupervisors(dir: string): number[] {
  const pids = new Set((readNodesFile(dir)?.nodes ?? []).map((n) => n.supervisorPid));
  const nodesDir = join(dir, 'nodes');
  if (existsSync(nodesDir)) {
    for (const name of readdirSync(nodesDir)) {
      const pid = readPid(join(nodesDir, name, 'supervisor.pid'));
      if (pid) pids.add(pid);
    }
  }
  return [...pids].filter(isSupervisor);
}

/** Stops every node of this lab by PID, unmounts everything under dir, deletes the lab's nft table. */
export async function stopNodes(dir: string): Promise<void> {
  dir = resolve(dir);
  const file = readNodesFile(dir);
  const supervisors = labSupervisors(dir);
  const names = existsSync(join(dir, 'nodes')) ? readdirSync(join(dir, 'nodes')) : [];
  const inits = names.map((n) => nodeInitPid(dir, n)).filter((p): p is number => p !== undefined);
  for (const pid of supervisors) signal(pid, 'SIGTERM');
  for (const pid of inits) signal(pid, 'SIGCONT'); // a hung node must be able to die
  const stubborn = await waitGone([...supervisors, ...inits], 15_000);
  // SIGKILL of a node's PID 1 ends its whole PID namespace
  for (const pid of [...inits, ...stubborn]) signal(pid, 'SIGKILL');
  await waitGone(stubborn, 5_000);
  const mounts = mountPoints()
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      await run('umount', [m]);
    } catch {
      await run('umount', ['-l', m]);
    }
  }
  if (file) await nft(['delete', 'table', 'inet', nftTable(file.subnet)]).catch(() => undefined);
  for (const p of ['state', 'nodes', 'nodes.json', 'known_hosts']) rmSync(join(dir, p), { recursive: true, force: true });
}

/** Rules of node `name` live in this lab's table only and carry the node's name as comment. */
async function removeFaultRules(subnet: number, name: string): Promise<void> {
  let listing: string;
  try {
    listing = await nft(['-a', 'list', 'chain', 'inet', nftTable(subnet), 'input']);
  } catch {
    return; // no table yet
  }
  for (const line of listing.split('\n')) {
    const handle = new RegExp(`comment "node:${name}" # handle (\\d+)$`).exec(line.trim())?.[1];
    if (handle) await nft(['delete', 'rule', 'inet', nftTable(subnet), 'input', 'handle', handle]);
  }
}

async function addFaultRule(subnet: number, node: RunningNode, verdict: 'drop' | 'reject'): Promise<void> {
  const table = nftTable(subnet);
  await nft(['add', 'table', 'inet', table]);
  await nft(['add', 'chain', 'inet', table, 'input', '{ type filter hook input priority -10; policy accept; }']);
  await removeFaultRules(subnet, node.name);
  const action = verdict === 'drop' ? ['drop'] : ['reject', 'with', 'tcp', 'reset'];
  await nft([
    'add',
    'rule',
    'inet',
    table,
    'input',
    'ip',
    'daddr',
    node.address,
    'tcp',
    'dport',
    String(node.port),
    ...action,
    'comment',
    `"node:${node.name}"`,
  ]);
}

/** Runs a command inside a node's namespaces (as its root), without SSH. */
export async function nodeExec(dir: string, name: string, command: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const pid = nodeInitPid(dir, name);
  if (!pid) throw new Error(`lab: node '${name}' is not running`);
  try {
    const { stdout, stderr } = await run('nsenter', ['-t', String(pid), '-m', '-u', '-p', '-T', '-r', '-w', '--', ...command], {
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 127, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

export async function nodeFault(dir: string, name: string, fault: NodeFault): Promise<void> {
  dir = resolve(dir);
  const file = readNodesFile(dir);
  const node = file?.nodes.find((n) => n.name === name);
  if (!file || !node) throw new Error(`lab: no node '${name}' (nodes: ${(file?.nodes ?? []).map((n) => n.name).join(', ') || 'none'})`);
  switch (fault) {
    case 'drop':
    case 'reject':
      await addFaultRule(file.subnet, node, fault);
      return;
    case 'hang': {
      const init = nodeInitPid(dir, name);
      if (!init) throw new Error(`lab: node '${name}' is not running`);
      process.kill(init, 'SIGSTOP');
      return;
    }
    case 'reboot': {
      const before = nodeInitPid(dir, name);
      if (!before) throw new Error(`lab: node '${name}' is not running`);
      signal(before, 'SIGCONT');
      const r = await nodeExec(dir, name, ['/usr/sbin/reboot']);
      if (r.code !== 0) throw new Error(`lab: reboot of ${name} failed: ${r.stderr.trim()}`);
      const deadline = Date.now() + 15_000;
      while (alive(before) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await waitListening(dir, [node], 15_000);
      return;
    }
    case 'poweroff':
      if (isSupervisor(node.supervisorPid)) {
        process.kill(node.supervisorPid, 'SIGTERM');
        const left = await waitGone([node.supervisorPid], 10_000);
        if (left.length) throw new Error(`lab: ${name} did not power off within 10 s`);
      }
      return;
    case 'restore': {
      await removeFaultRules(file.subnet, name);
      const init = nodeInitPid(dir, name);
      if (init) signal(init, 'SIGCONT');
      if (!isSupervisor(node.supervisorPid)) {
        // power on again, on the same disk
        node.supervisorPid = await startSupervisor(dir, file.subnet, file.adminPublicKey, node.spec);
        writeNodesFile(dir, file);
        await waitListening(dir, [node], 15_000);
      }
      return;
    }
  }
}
