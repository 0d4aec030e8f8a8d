// The lab's fake bare-metal nodes: real sshd per node inside Linux namespaces over a private root
// (recipes in shared/reference/lab-recipes.md). Everything lives under the lab dir; nothing on the host
// is changed but processes, mounts under that dir, and one nftables table of the lab's own.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const LAB_BIN = join(HERE, 'nodes');
const REPO = resolve(HERE, '../..');
const GPU_CAPTURES: Record<'H100' | 'H200', string> = {
  H100: join(REPO, 'test/fixtures/gpu/h100-80gb-driver-580'),
  H200: join(REPO, 'test/fixtures/gpu/h200-141gb-driver-580'),
};

export interface LabNodeSpec {
  name: string;
  index: number;
  gpus: number;
  gpuModel?: 'H100' | 'H200';
  /** A small /var of this many GB (DGX OS has ~6 GB); default: /var on the lab's big tmpfs. */
  varGb?: number;
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
];

export function defaultLabNodes(): LabNodeSpec[] {
  return [
    { name: 'cpu-03', index: 3, gpus: 0 },
    { name: 'cpu-05', index: 5, gpus: 0 },
    { name: 'cpu-06', index: 6, gpus: 0 },
    { name: 'dgx-05', index: 105, gpus: 8, gpuModel: 'H100', varGb: 6, dataGb: 1000, dataMount: '/raid' },
    { name: 'dgx-06', index: 106, gpus: 8, gpuModel: 'H100', varGb: 6, dataGb: 1000, dataMount: '/raid' },
  ];
}

/** node-001… for scale tests; every `gpuEvery`-th node is a DGX with 8 GPUs (0: none). */
export function syntheticNodes(count: number, gpuEvery = 0): LabNodeSpec[] {
  if (count < 1 || count > 200) throw new Error('lab: 1 to 200 nodes');
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

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
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

export function readRunningNodes(dir: string): RunningNode[] {
  return (readNodesFile(dir)?.nodes ?? []).filter((n) => alive(n.supervisorPid)).map(({ spec: _spec, ...n }) => n);
}

export async function ensureLabPackages(): Promise<void> {
  const missing: string[] = [];
  for (const p of LAB_APT_PACKAGES) {
    try {
      await run('dpkg', ['-s', p]);
    } catch {
      missing.push(p);
    }
  }
  if (!missing.length) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    throw new Error(
      `lab: missing Debian packages ${missing.join(' ')}; install them (apt-get install ${missing.join(' ')}) as root on Debian`,
    );
  }
  await run('apt-get', ['update', '-qq'], { maxBuffer: 64 << 20 });
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    maxBuffer: 64 << 20,
  });
}

/** The node's PID 1 (sshd), the child of its unshare. */
export function nodeInitPid(dir: string, name: string): number | undefined {
  const f = join(dir, 'nodes', name, 'unshare.pid');
  if (!existsSync(f)) return undefined;
  const unshare = Number(readFileSync(f, 'utf8'));
  try {
    const child = readFileSync(`/proc/${unshare}/task/${unshare}/children`, 'utf8').trim().split(/\s+/)[0];
    return child ? Number(child) : undefined;
  } catch {
    return undefined;
  }
}

async function passwordHash(password: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn('openssl', ['passwd', '-6', '-stdin'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.on('exit', (code) => (code === 0 ? resolvePromise(out.trim()) : reject(new Error('openssl passwd failed'))));
    p.stdin.end(password);
  });
}

async function startOne(opts: NodesOptions, spec: LabNodeSpec, pwHash: string | undefined): Promise<number> {
  const state = join(opts.dir, 'state', spec.name);
  const nodeDir = join(opts.dir, 'nodes', spec.name);
  mkdirSync(state, { recursive: true });
  mkdirSync(nodeDir, { recursive: true });
  if (spec.varGb) {
    await ensureTmpfs(join(state, 'varfs'), `${spec.varGb}g`);
    mkdirSync(join(state, 'varfs/upper'), { recursive: true });
    mkdirSync(join(state, 'varfs/work'), { recursive: true });
  }
  if (spec.dataGb) await ensureTmpfs(join(state, 'datafs'), `${spec.dataGb}g`);
  const env: Record<string, string> = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    NAME: spec.name,
    ADDR: `127.0.${opts.subnet}.${spec.index}`,
    PORT: '22',
    STATE: state,
    LAB_BIN,
    NODE_DIR: nodeDir,
    ADMIN_PUB: opts.adminPublicKey,
    HIDE_DIRS: [...new Set(['/work', resolve(opts.dir)])].join(' '),
    GPU_COUNT: String(spec.gpus),
    GPU_MODEL: spec.gpuModel ?? 'H100',
    GPU_DATA: GPU_CAPTURES[spec.gpuModel ?? 'H100'],
    DATA_MOUNT: spec.dataGb ? (spec.dataMount ?? '/raid') : '',
    ...(opts.passwordAdmin && pwHash ? { PW_USER: opts.passwordAdmin.user, PW_HASH: pwHash } : {}),
  };
  const log = openSync(join(nodeDir, 'supervisor.log'), 'a');
  // detached: a session of its own (setsid), so the node outlives the command that started the lab
  const child = spawn(join(LAB_BIN, 'node-run.sh'), [], { env, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  return child.pid!;
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

async function waitListening(addresses: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await listeningAddresses();
    const missing = addresses.filter((a) => !up.has(`${a}:22`));
    if (!missing.length) return;
    if (Date.now() > deadline) throw new Error(`lab: sshd did not start on ${missing.join(', ')} (see the nodes' node.log)`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

function hostKeyOf(dir: string, name: string): { line: string; fingerprint: string } {
  const pub = readFileSync(join(dir, 'state', name, 'upper/etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')
    .trim()
    .split(/\s+/);
  const blob = Buffer.from(pub[1]!, 'base64');
  return { line: `${pub[0]} ${pub[1]}`, fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}` };
}

export async function startNodes(opts: NodesOptions): Promise<RunningNode[]> {
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  await ensureTmpfs(join(opts.dir, 'state'), '200g');
  const previous = new Map((readNodesFile(opts.dir)?.nodes ?? []).map((n) => [n.name, n]));
  const pwHash = opts.passwordAdmin ? await passwordHash(opts.passwordAdmin.password) : undefined;
  const records: NodeRecord[] = [];
  for (const spec of opts.nodes) {
    const prev = previous.get(spec.name);
    const supervisorPid = prev && alive(prev.supervisorPid) ? prev.supervisorPid : await startOne(opts, spec, pwHash);
    records.push({
      name: spec.name,
      address: `127.0.${opts.subnet}.${spec.index}`,
      port: 22,
      supervisorPid,
      gpus: spec.gpus,
      hostKeyFingerprint: '',
      spec,
    });
  }
  await waitListening(
    records.map((r) => r.address),
    60_000 + records.length * 1000,
  );
  const known: string[] = [];
  for (const r of records) {
    const key = hostKeyOf(opts.dir, r.name);
    r.hostKeyFingerprint = key.fingerprint;
    known.push(`${r.name},${r.address} ${key.line}`);
  }
  writeFileSync(join(opts.dir, 'known_hosts'), `${known.join('\n')}\n`);
  writeFileSync(
    join(opts.dir, 'nodes.json'),
    JSON.stringify(
      { subnet: opts.subnet, nodes: records, adminPublicKey: opts.adminPublicKey } satisfies NodesFile & { adminPublicKey: string },
      null,
      2,
    ),
  );
  return records.map(({ spec: _spec, ...n }) => n);
}

async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(alive);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter(alive);
  }
  return left;
}

async function nft(args: string[]): Promise<string> {
  const { stdout } = await run('nft', args);
  return stdout;
}

async function deleteNftTable(subnet: number): Promise<void> {
  try {
    await nft(['delete', 'table', 'inet', nftTable(subnet)]);
  } catch {
    /* no such table */
  }
}

/** Stops every node of this lab by PID, unmounts everything under dir, deletes the lab's nft table. */
export async function stopNodes(dir: string): Promise<void> {
  const file = readNodesFile(dir);
  const supervisors = (file?.nodes ?? []).map((n) => n.supervisorPid).filter(alive);
  for (const n of file?.nodes ?? []) {
    const init = nodeInitPid(dir, n.name);
    if (init) process.kill(init, 'SIGCONT');
  }
  for (const pid of supervisors) process.kill(pid, 'SIGTERM');
  const stubborn = await waitGone(supervisors, 15_000);
  for (const pid of stubborn) process.kill(pid, 'SIGKILL');
  const root = resolve(dir);
  const mounts = mountPoints()
    .filter((m) => m === root || m.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      await run('umount', [m]);
    } catch {
      await run('umount', ['-l', m]);
    }
  }
  if (file) await deleteNftTable(file.subnet);
  for (const p of ['state', 'nodes', 'nodes.json', 'known_hosts']) rmSync(join(dir, p), { recursive: true, force: true });
}

async function ensureFaultChain(subnet: number): Promise<void> {
  const t = nftTable(subnet);
  await nft(['add', 'table', 'inet', t]);
  await nft(['add', 'chain', 'inet', t, 'input', '{ type filter hook input priority -10; policy accept; }']);
}

async function removeFaultRules(subnet: number, name: string): Promise<void> {
  let listing: string;
  try {
    listing = await nft(['-a', 'list', 'chain', 'inet', nftTable(subnet), 'input']);
  } catch {
    return;
  }
  for (const line of listing.split('\n')) {
    const m = new RegExp(`comment "node:${name}" # handle (\\d+)`).exec(line);
    if (m) await nft(['delete', 'rule', 'inet', nftTable(subnet), 'input', 'handle', m[1]!]);
  }
}

export async function nodeExec(dir: string, name: string, command: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const pid = nodeInitPid(dir, name);
  if (!pid) throw new Error(`lab: node '${name}' is not running`);
  try {
    const { stdout, stderr } = await run('nsenter', ['-t', String(pid), '-m', '-u', '-p', '-r', '-w', '--', ...command], {
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

export async function nodeFault(
  dir: string,
  name: string,
  fault: 'drop' | 'reject' | 'hang' | 'reboot' | 'poweroff' | 'restore',
): Promise<void> {
  const file = readNodesFile(dir);
  const rec = file?.nodes.find((n) => n.name === name);
  if (!file || !rec) throw new Error(`lab: no node '${name}' (nodes: ${(file?.nodes ?? []).map((n) => n.name).join(', ') || 'none'})`);
  switch (fault) {
    case 'drop':
    case 'reject':
      await ensureFaultChain(file.subnet);
      await removeFaultRules(file.subnet, name);
      await nft([
        'add',
        'rule',
        'inet',
        nftTable(file.subnet),
        'input',
        'ip',
        'daddr',
        rec.address,
        'tcp',
        'dport',
        '22',
        ...(fault === 'drop' ? ['drop'] : ['reject', 'with', 'tcp', 'reset']),
        'comment',
        `"node:${name}"`,
      ]);
      return;
    case 'hang': {
      const pid = nodeInitPid(dir, name);
      if (!pid) throw new Error(`lab: node '${name}' is not running`);
      process.kill(pid, 'SIGSTOP');
      return;
    }
    case 'reboot': {
      const before = nodeInitPid(dir, name);
      await nodeExec(dir, name, ['/usr/sbin/reboot']);
      const deadline = Date.now() + 15_000;
      while (nodeInitPid(dir, name) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await waitListening([rec.address], 15_000);
      return;
    }
    case 'poweroff':
      if (alive(rec.supervisorPid)) {
        process.kill(rec.supervisorPid, 'SIGTERM');
        await waitGone([rec.supervisorPid], 10_000);
      }
      return;
    case 'restore': {
      await removeFaultRules(file.subnet, name);
      const pid = nodeInitPid(dir, name);
      if (pid) process.kill(pid, 'SIGCONT');
      if (!alive(rec.supervisorPid)) {
        const adminPublicKey = (JSON.parse(readFileSync(join(dir, 'nodes.json'), 'utf8')) as { adminPublicKey: string }).adminPublicKey;
        rec.supervisorPid = await startOne({ dir, subnet: file.subnet, nodes: [rec.spec], adminPublicKey }, rec.spec, undefined);
        writeFileSync(join(dir, 'nodes.json'), JSON.stringify({ ...file, adminPublicKey }, null, 2));
        await waitListening([rec.address], 15_000);
      }
      return;
    }
  }
}
