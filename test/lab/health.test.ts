// The health check's gathering on the lab's real control plane (etcd, kube-apiserver, controller-manager,
// scheduler built from upstream; KWOK kubelets): green on a healthy cluster, then a GPU gone from a node's
// capacity, a node whose kubelet stopped, and a stopped etcd member each turn their check red with the cause
// named, read through the real API server and over real SSH (etcdctl, openssl, date in the nodes).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { evaluateHealth, type CheckResult, type HealthFacts } from '../../actions/lib/health/evaluate.ts';
import { gatherKube, gatherNodes } from '../../actions/lib/health/gather.ts';
import type { KubeTools } from '../../actions/lib/helm/kube-tools.ts';
import type { Inventory, InventoryNode } from '../../actions/lib/inventory/types.ts';
import { parseKnownHosts } from '../../actions/lib/ssh/known-hosts.ts';
import { SshPool } from '../../actions/lib/ssh/pool.ts';
import { gpuNodeFacts } from '../gpu-facts.ts';
import { kubeUp, type KubeCluster, type KubeTopology } from './kube/control-plane.ts';
import { nodeAddress, startNodes, stopNodes, type LabNodeSpec } from './nodes.ts';

const exec = promisify(execFile);
const SUBNET = 95;
const dir = mkdtempSync(join(tmpdir(), 'health-'));
const specs: LabNodeSpec[] = [
  { name: 'cpu-03', index: 3, gpus: 0 },
  { name: 'dgx-05', index: 105, gpus: 8, gpuModel: 'H100' },
];
const node = (name: string) => {
  const s = specs.find((n) => n.name === name)!;
  return { name, address: nodeAddress(SUBNET, s.index), gpus: s.gpus };
};
const topology: KubeTopology = { etcd: [node('cpu-03')], controlPlane: [node('cpu-03')], workers: [node('dgx-05')] };
const invNode = (name: string, roles: InventoryNode['roles']): InventoryNode => ({
  hostname: name,
  uuid: name,
  mac: '',
  status: 'UP',
  roles,
  address: node(name).address,
  network: 'lab',
  addresses: [],
  facts: gpuNodeFacts(node(name).gpus),
  history: [],
});
const inventory: Inventory = {
  schemaVersion: 1,
  cluster: 'lab',
  specHash: 'x',
  bcm: { endpoint: 'https://127.0.0.1:8081' },
  nodes: [invNode('cpu-03', ['control_plane', 'etcd']), invNode('dgx-05', ['worker', 'gpu_worker'])],
  history: [],
};
let cluster: KubeCluster;
let ssh: SshPool;
let tools: KubeTools;

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await exec(cluster.kubectl, ['--kubeconfig', cluster.adminConf, ...args]);
  return stdout;
}

/** Every check this test can read on the lab (BCM, Helm releases and backups are not part of it). */
async function check(): Promise<CheckResult[]> {
  const facts: HealthFacts = {
    now: new Date(),
    bcmNodes: inventory.nodes.map((n) => ({ hostname: n.hostname, status: 'UP' })),
    ...(await gatherKube(tools, [], false)),
    ...(await gatherNodes(ssh, inventory)),
    etcdBackup: { lastAt: new Date().toISOString() },
  };
  return evaluateHealth(facts, { inventory, releases: [] });
}
const notOk = (r: CheckResult[]) => r.filter((c) => c.status !== 'ok').map((c) => `${c.check}: ${c.status}: ${c.detail}`);

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`${what} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function inNode(name: string, command: string): Promise<void> {
  const r = await ssh.exec({ hostname: name, address: node(name).address }, command);
  assert.equal(r.code, 0, `${name}: ${command}: ${r.stderr}`);
}

describe('bcmkube health on the lab control plane', () => {
  before(async () => {
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lab-admin', '-f', join(dir, 'admin')]);
    await startNodes({ dir, subnet: SUBNET, nodes: specs, adminPublicKey: readFileSync(join(dir, 'admin.pub'), 'utf8') });
    cluster = await kubeUp(dir, topology);
    tools = { helm: cluster.helm, kubectl: cluster.kubectl, kubeconfig: cluster.adminConf, env: { ...process.env } };
    ssh = new SshPool({
      credentials: { username: 'root', privateKey: readFileSync(join(dir, 'admin'), 'utf8') },
      knownHosts: parseKnownHosts(readFileSync(join(dir, 'known_hosts'), 'utf8')),
      policy: 'strict',
      concurrency: 4,
      connectTimeoutMs: 10_000,
      commandTimeoutMs: 30_000,
      connectRetries: 1,
      legacyAlgorithms: false,
    });
    // the device plugin's stand-in gives dgx-05 its 8 GPUs once it runs there
    await kubectl('create', 'namespace', 'gpu-operator');
    const plugin = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'nvidia-device-plugin-daemonset', namespace: 'gpu-operator' },
      spec: {
        selector: { matchLabels: { app: 'nvidia-device-plugin-daemonset' } },
        template: {
          metadata: { labels: { app: 'nvidia-device-plugin-daemonset' } },
          spec: { containers: [{ name: 'nvidia-device-plugin', image: 'nvcr.io/nvidia/k8s-device-plugin:v0.17.1' }] },
        },
      },
    };
    await new Promise<void>((resolve, reject) => {
      const p = execFile(cluster.kubectl, ['--kubeconfig', cluster.adminConf, 'apply', '-f', '-'], (err) =>
        err ? reject(err) : resolve(),
      );
      p.stdin!.end(JSON.stringify(plugin));
    });
    await eventually('8 GPUs on dgx-05', async () =>
      (await kubectl('get', 'node', 'dgx-05', '-o', 'jsonpath={.status.allocatable.nvidia\\.com/gpu}')) === '8' ? true : undefined,
    );
  });
  after(async () => {
    await ssh?.close();
    await stopNodes(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a healthy cluster: nodes Ready, 8 of 8 GPUs, the etcd member healthy, certificates valid, clocks in step', async () => {
    const r = await check();
    assert.deepEqual(notOk(r), []);
    const detail = (c: string) => r.find((x) => x.check === c)!.detail;
    assert.equal(detail('gpus-allocatable'), '8 GPU(s) allocatable on 1 node(s), as the inventory counts');
    assert.equal(detail('etcd-members'), '1 of 1 member(s) healthy');
    assert.match(detail('certificates'), /^\d+ certificate\(s\) valid, the first ends in \d+ days$/);
  });

  it('a GPU gone from the node’s capacity turns gpus-allocatable red, naming the node and the inventory count', async () => {
    await kubectl(
      'patch',
      'node',
      'dgx-05',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"capacity":{"nvidia.com/gpu":"7"},"allocatable":{"nvidia.com/gpu":"7"}}}',
    );
    assert.deepEqual(notOk(await check()), ['gpus-allocatable: fail: dgx-05: 7 of 8 GPUs allocatable (inventory: 8)']);
    await kubectl(
      'patch',
      'node',
      'dgx-05',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"capacity":{"nvidia.com/gpu":"8"},"allocatable":{"nvidia.com/gpu":"8"}}}',
    );
    assert.deepEqual(notOk(await check()), []);
  });

  it('a node whose kubelet stopped turns nodes-ready red once the controller marks it, with the reason', async () => {
    await inNode('dgx-05', 'lab-kube stop kwok');
    const red = await eventually('dgx-05 NotReady', async () => {
      const r = notOk(await check());
      return r.some((l) => l.startsWith('nodes-ready')) ? r : undefined;
    });
    assert.match(
      red.find((l) => l.startsWith('nodes-ready'))!,
      /^nodes-ready: fail: dgx-05: NotReady \(NodeStatusUnknown: Kubelet stopped posting node status\.?\)$/,
    );
    await inNode('dgx-05', 'lab-kube start kwok');
    await eventually('dgx-05 Ready again', async () => (notOk(await check()).length === 0 ? true : undefined));
  });

  it('a stopped etcd member: etcd-members red naming it, the API-server checks unknown; all green after it starts', async () => {
    await inNode('cpu-03', 'lab-kube stop etcd');
    const r = notOk(await check());
    assert.match(
      r.find((l) => l.startsWith('etcd-members'))!,
      /^etcd-members: fail: quorum lost \(0 of 1 healthy\); cpu-03 /,
    );
    assert.ok(
      r.some((l) => /^nodes-ready: unknown: could not be read: /.test(l)),
      r.join('\n'),
    );
    await inNode('cpu-03', 'lab-kube start etcd');
    await eventually('all green after etcd is back', async () => (notOk(await check()).length === 0 ? true : undefined));
  });
});
