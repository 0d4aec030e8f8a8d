// The health check's gathering on the lab's real control plane (etcd, kube-apiserver, controller-manager,
// scheduler built from upstream; KWOK kubelets): green on a healthy cluster, then a GPU gone from a node's
// capacity, a node whose kubelet stopped, a release upgraded by hand (real helm) and a stopped etcd member each
// turn their check red with the cause named, read through the real API server and over real SSH (etcdctl, openssl, date in the nodes).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { evaluateHealth, type CheckResult, type HealthFacts } from '../../actions/lib/health/evaluate.ts';
import { gatherKube, gatherNodes } from '../../actions/lib/health/gather.ts';
import type { KubeTools } from '../../actions/lib/helm/kube-tools.ts';
import type { SelectedRelease } from '../../actions/lib/helm/selection.ts';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { parseKnownHosts } from '../../actions/lib/ssh/known-hosts.ts';
import { SshPool } from '../../actions/lib/ssh/pool.ts';
import { factsNode, labInventory } from '../gpu-facts.ts';
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
const inventory: Inventory = labInventory([
  factsNode('cpu-03', ['control_plane', 'etcd'], 0, node('cpu-03').address),
  factsNode('dgx-05', ['worker', 'gpu_worker'], 8, node('dgx-05').address),
]);
let cluster: KubeCluster;
let ssh: SshPool;
let tools: KubeTools;

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await exec(cluster.kubectl, ['--kubeconfig', cluster.adminConf, ...args]);
  return stdout;
}

/** What a GPU taken off the bus leaves: the node's nvidia.com/gpu capacity and allocatable at `count`. */
async function setGpus(name: string, count: number): Promise<void> {
  const gpus = { 'nvidia.com/gpu': String(count) };
  await kubectl(
    'patch',
    'node',
    name,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { capacity: gpus, allocatable: gpus } }),
  );
}

/** Every check this test can read on the lab (BCM, Helm releases and backups are not part of it). */
async function check(releases: SelectedRelease[] = []): Promise<CheckResult[]> {
  const facts: HealthFacts = {
    now: new Date(),
    bcmNodes: inventory.nodes.map((n) => ({ hostname: n.hostname, status: 'UP' })),
    ...(await gatherKube(tools, releases, false)),
    ...(await gatherNodes(ssh, inventory)),
    etcdBackup: { lastAt: new Date().toISOString() },
  };
  return evaluateHealth(facts, { inventory, releases });
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
    await setGpus('dgx-05', 7);
    assert.deepEqual(notOk(await check()), ['gpus-allocatable: fail: dgx-05: 7 of 8 GPUs allocatable (inventory: 8)']);
    await setGpus('dgx-05', 8);
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

  it('a release upgraded by hand (chart and values) turns helm-releases red, naming the version and the drifted key', async () => {
    const chart = (version: string) => {
      const at = join(dir, `chart-${version}`);
      mkdirSync(join(at, 'templates'), { recursive: true });
      writeFileSync(join(at, 'Chart.yaml'), `apiVersion: v2\nname: settings\nversion: ${version}\n`);
      writeFileSync(
        join(at, 'templates/cm.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {size: "{{ .Values.size }}"}\n',
      );
      return at;
    };
    const helm = (...args: string[]) => exec(cluster.helm, ['--kubeconfig', cluster.adminConf, ...args]);
    const pinned: SelectedRelease = {
      release: {
        name: 'settings',
        chart: 'settings',
        repo: 'https://charts.invalid',
        version: '0.1.0',
        namespace: 'default',
        namespaceLabels: {},
        needs: [],
        timeoutSeconds: 60,
        values: 'values/settings.yaml',
        enabled: true,
      },
      baseValues: { size: 1 },
      overrides: {},
      values: { size: 1 },
      versionFrom: 'manifest',
    };
    await helm('upgrade', '--install', 'settings', chart('0.1.0'), '-n', 'default', '--set', 'size=1');
    assert.deepEqual(notOk(await check([pinned])), []);
    // what someone does by hand: a newer chart and a value of their own
    await helm('upgrade', 'settings', chart('0.2.0'), '-n', 'default', '--reuse-values', '--set', 'size=3');
    assert.deepEqual(notOk(await check([pinned])), [
      'helm-releases: fail: settings: chart 0.2.0, pinned 0.1.0; settings: values drifted (size)',
    ]);
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
