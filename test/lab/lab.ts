// The lab: real SSH nodes (nodes.ts), and one services daemon (services.ts) hosting the BCM simulator,
// the Run:ai simulator and the chart repository / tool mirror, all on loopback addresses of one subnet:
//   nodes 127.0.S.<index>:22, BCM 127.0.S.254:8081, Run:ai 127.0.S.253:443, repository 127.0.S.252:443.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import { ensureLabCa, issueCert } from './pki.ts';
import {
  alive,
  defaultLabNodes,
  ensureLabPackages,
  nodeFault,
  readRunningNodes,
  startNodes,
  stopNodes,
  syntheticNodes,
  type LabNodeSpec,
  type RunningNode,
} from './nodes.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_LAB_DIR = join(REPO_ROOT, '.bcmkube/lab');

export interface LabConfig {
  dir: string;
  subnet: number;
  nodes: LabNodeSpec[];
  bcmVersion: 'bcm10' | 'bcm11';
  /** An `ibm`-style admin with a password (BCM images ship one). */
  passwordAdmin: boolean;
}

export interface LabServices {
  pid: number;
  bcm: { url: string };
  runai: { url: string };
  repo: { url: string; sha256: Record<string, string> };
}

export interface LabState {
  dir: string;
  subnet: number;
  bcmVersion: 'bcm10' | 'bcm11';
  nodes: RunningNode[];
  services: LabServices;
  files: {
    caCert: string;
    adminKey: string;
    serviceKey: string;
    servicePublicKey: string;
    knownHosts: string;
    bcmPassword: string;
    bcmClientCert: string;
    bcmClientKey: string;
    runaiPassword: string;
    /** A made-up registry token: the lab has no runai.jfrog.io, the chart repository is the lab's. */
    jfrogToken: string;
    controlToken: string;
    adminPassword?: string;
  };
  users: { bcm: string; runai: string; admin?: string };
}

export function labAddress(subnet: number, host: number): string {
  return `127.0.${subnet}.${host}`;
}

export function labConfig(overrides: Partial<LabConfig> = {}): LabConfig {
  return { dir: DEFAULT_LAB_DIR, subnet: 1, nodes: defaultLabNodes(), bcmVersion: 'bcm11', passwordAdmin: false, ...overrides };
}

function writeSecretOnce(path: string, make: () => string): string {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, make(), { mode: 0o600 });
  }
  return path;
}

function keypairOnce(path: string, comment: string): { key: string; pub: string } {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    writeFileSync(path, pair.private, { mode: 0o600 });
    writeFileSync(`${path}.pub`, `${pair.public.trim()}\n`, { mode: 0o644 });
  }
  return { key: path, pub: `${path}.pub` };
}

const randomSecret = () => randomBytes(18).toString('base64url');

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`lab: ${what} did not come up within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the services daemon (detached, so the lab outlives the command) unless it already runs. */
async function startServices(cfg: LabConfig, files: LabState['files'], users: LabState['users']): Promise<LabServices> {
  const stateFile = join(cfg.dir, 'services.json');
  if (existsSync(stateFile)) {
    const prev = JSON.parse(readFileSync(stateFile, 'utf8')) as LabServices;
    if (alive(prev.pid)) return prev;
    rmSync(stateFile);
  }
  const ca = ensureLabCa(join(cfg.dir, 'pki'));
  const bcmCert = issueCert(ca, 'bcm-head', [labAddress(cfg.subnet, 254), 'bcm-head-01', 'localhost'], 'server');
  const runaiCert = issueCert(ca, 'runai', ['localhost', 'runai.lab.local', labAddress(cfg.subnet, 253)], 'server');
  const repoCert = issueCert(ca, 'repo', [labAddress(cfg.subnet, 252), 'repo.lab.local'], 'server');
  const config = {
    dir: cfg.dir,
    subnet: cfg.subnet,
    bcmVersion: cfg.bcmVersion,
    nodes: cfg.nodes.map((n) => ({
      hostname: n.name,
      index: n.index,
      productionIp: labAddress(cfg.subnet, n.index),
      category: n.gpus ? 'dgx-h100' : 'cpu-nodes',
    })),
    bcm: {
      host: labAddress(cfg.subnet, 254),
      port: 8081,
      cert: bcmCert.cert,
      key: bcmCert.key,
      ca: ca.caCert,
      users: { [users.bcm]: readFileSync(files.bcmPassword, 'utf8') },
    },
    runai: {
      host: labAddress(cfg.subnet, 253),
      port: 443,
      cert: runaiCert.cert,
      key: runaiCert.key,
      users: { [users.runai]: readFileSync(files.runaiPassword, 'utf8') },
    },
    repo: { host: labAddress(cfg.subnet, 252), port: 443, cert: repoCert.cert, key: repoCert.key, dir: join(cfg.dir, 'repo') },
    controlToken: readFileSync(files.controlToken, 'utf8'),
    stateFile,
  };
  const configFile = join(cfg.dir, 'services.config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
  const log = openSync(join(cfg.dir, 'services.log'), 'a');
  const child = spawn('bash', [join(REPO_ROOT, 'scripts/node24.sh'), join(REPO_ROOT, 'test/lab/services.ts'), configFile], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  return waitFor('the services daemon (BCM, Run:ai, repository)', 120_000, () => {
    if (child.exitCode !== null)
      throw new Error(`lab: services daemon exited with ${child.exitCode}; see ${join(cfg.dir, 'services.log')}`);
    return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as LabServices) : undefined;
  });
}

/** Brings the lab up (idempotent: what already runs is kept) and writes lab.json. */
export async function labUp(cfg: LabConfig): Promise<LabState> {
  if (process.getuid?.() !== 0) throw new Error('lab: must run as root (namespaces, mounts, nftables)');
  await ensureLabPackages();
  mkdirSync(cfg.dir, { recursive: true, mode: 0o700 });
  const admin = keypairOnce(join(cfg.dir, 'keys/admin'), 'bcmkube-lab-admin');
  const service = keypairOnce(join(cfg.dir, 'keys/service'), 'bcmkube-lab-service');
  const files: LabState['files'] = {
    caCert: join(cfg.dir, 'pki/ca.pem'),
    adminKey: admin.key,
    serviceKey: service.key,
    servicePublicKey: service.pub,
    knownHosts: join(cfg.dir, 'known_hosts'),
    bcmPassword: writeSecretOnce(join(cfg.dir, 'secrets/bcm-password'), randomSecret),
    runaiPassword: writeSecretOnce(join(cfg.dir, 'secrets/runai-password'), () => `Lab-${randomSecret()}1!`),
    jfrogToken: writeSecretOnce(join(cfg.dir, 'secrets/jfrog-token'), () => `lab-jfrog-${randomSecret()}`),
    controlToken: writeSecretOnce(join(cfg.dir, 'secrets/sim-control-token'), randomSecret),
    bcmClientCert: '',
    bcmClientKey: '',
    ...(cfg.passwordAdmin ? { adminPassword: writeSecretOnce(join(cfg.dir, 'secrets/admin-password'), randomSecret) } : {}),
  };
  const client = issueCert(ensureLabCa(join(cfg.dir, 'pki')), 'bcm-client-admin', ['admin'], 'client');
  files.bcmClientCert = client.cert;
  files.bcmClientKey = client.key;
  const users = { bcm: 'labadmin', runai: 'admin@lab.local', ...(cfg.passwordAdmin ? { admin: 'ibm' } : {}) };
  const [nodes, services] = await Promise.all([
    startNodes({
      dir: cfg.dir,
      subnet: cfg.subnet,
      nodes: cfg.nodes,
      adminPublicKey: readFileSync(admin.pub, 'utf8').trim(),
      ...(cfg.passwordAdmin ? { passwordAdmin: { user: 'ibm', password: readFileSync(files.adminPassword!, 'utf8') } } : {}),
    }),
    startServices(cfg, files, users),
  ]);
  const state: LabState = { dir: cfg.dir, subnet: cfg.subnet, bcmVersion: cfg.bcmVersion, nodes, services, files, users };
  writeFileSync(join(cfg.dir, 'lab.json'), JSON.stringify(state, null, 2));
  return state;
}

export function readLabState(dir: string): LabState | undefined {
  const file = join(dir, 'lab.json');
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as LabState;
  return { ...state, nodes: readRunningNodes(dir) };
}

/** Stops everything the lab started, by PID, and removes its mounts and nft table. Safe to repeat. */
export async function labDown(dir: string): Promise<void> {
  const stateFile = join(dir, 'services.json');
  if (existsSync(stateFile)) {
    const { pid } = JSON.parse(readFileSync(stateFile, 'utf8')) as LabServices;
    if (alive(pid)) {
      process.kill(pid, 'SIGTERM');
      await waitFor('services daemon stop', 10_000, () => (alive(pid) ? undefined : true)).catch(() => process.kill(pid, 'SIGKILL'));
    }
    rmSync(stateFile, { force: true });
  }
  await stopNodes(dir);
  rmSync(join(dir, 'lab.json'), { force: true });
}

export async function labFault(
  dir: string,
  node: string,
  fault: 'drop' | 'reject' | 'hang' | 'reboot' | 'poweroff' | 'restore',
): Promise<void> {
  await nodeFault(dir, node, fault);
}

export { syntheticNodes };
