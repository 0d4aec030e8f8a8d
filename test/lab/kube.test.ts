// The lab's real control plane (etcd, kube-apiserver, controller-manager, scheduler built from upstream; KWOK
// for the kubelets), placed in lab nodes as Kubespray places it: what only a real API server shows.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { kubeDown, kubeUp, type KubeCluster, type KubeTopology } from './kube/control-plane.ts';
import { nodeAddress, startNodes, stopNodes, type LabNodeSpec } from './nodes.ts';

const exec = promisify(execFile);
const SUBNET = 85;
const dir = mkdtempSync(join(tmpdir(), 'kube-'));
const specs: LabNodeSpec[] = [
  { name: 'cpu-03', index: 3, gpus: 0 },
  { name: 'dgx-05', index: 105, gpus: 8, gpuModel: 'H100' },
];
const node = (name: string) => {
  const s = specs.find((n) => n.name === name)!;
  return { name, address: nodeAddress(SUBNET, s.index), gpus: s.gpus };
};
const topology: KubeTopology = { etcd: [node('cpu-03')], controlPlane: [node('cpu-03')], workers: [node('dgx-05')] };
let cluster: KubeCluster;

async function kubectl(args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = execFile(cluster.kubectl, ['--kubeconfig', cluster.adminConf, ...args], (err, out, errOut) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    );
    if (input !== undefined) p.stdin!.end(input);
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.err}`);
  return r.out;
}

async function ssh(name: string, command: string): Promise<{ code: number; out: string; err: string }> {
  const args = ['-i', join(dir, 'admin'), '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes'];
  args.push('-o', 'BatchMode=yes', `root@${node(name).address}`, command);
  return exec('ssh', args).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout, err: stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: e.stdout ?? '', err: e.stderr ?? '' }),
  );
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`${what} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const gpuCapacity = async (name: string) => (await ok(['get', 'node', name, '-o', 'jsonpath={.status.capacity.nvidia\\.com/gpu}'])).trim();

describe('the lab control plane: real etcd, API server, controller-manager and scheduler in the nodes', () => {
  before(async () => {
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lab-admin', '-f', join(dir, 'admin')]);
    await startNodes({ dir, subnet: SUBNET, nodes: specs, adminPublicKey: (await exec('cat', [join(dir, 'admin.pub')])).stdout });
    cluster = await kubeUp(dir, topology);
  });
  after(async () => {
    // by PID: a node's end ends every process of its PID namespace, the control plane's too
    await stopNodes(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves on the control-plane address with a certificate naming it, admin.conf inside the node, nodes registered as kubelet would', async () => {
    assert.equal(cluster.server, `https://${node('cpu-03').address}:6443`);
    // kubectl verifies the server certificate against the cluster CA: it must name the address
    const version = JSON.parse(await ok(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string; gitCommit: string } };
    assert.equal(version.serverVersion.gitVersion, 'v1.31.9');
    // the commit of the v1.31.9 tag, as the module proxy records it
    assert.equal(version.serverVersion.gitCommit, '8f3800390d488f54f74111f22973059e133f9cba');
    const inNode = await ssh('cpu-03', 'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o wide --no-headers');
    assert.equal(inNode.code, 0, inNode.err);
    const rows = inNode.out
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    assert.deepEqual(
      rows.map((r) => [r[0], r[1], r[2], r[5]]),
      [
        ['cpu-03', 'Ready', 'control-plane', node('cpu-03').address],
        ['dgx-05', 'Ready', '<none>', node('dgx-05').address],
      ],
    );
    const taints = await ok(['get', 'node', 'cpu-03', '-o', 'jsonpath={.spec.taints[*].key}']);
    assert.equal(taints, 'node-role.kubernetes.io/control-plane');
  });

  it('etcdctl over SSH on the etcd node works with the certificates under /etc/ssl/etcd/ssl and holds the cluster', async () => {
    const ls = await ssh('cpu-03', 'ls /etc/ssl/etcd/ssl');
    assert.deepEqual(ls.out.trim().split('\n').sort(), [
      'admin-cpu-03-key.pem',
      'admin-cpu-03.pem',
      'ca-key.pem',
      'ca.pem',
      'member-cpu-03-key.pem',
      'member-cpu-03.pem',
      'node-cpu-03-key.pem',
      'node-cpu-03.pem',
    ]);
    // the settings Kubespray's etcd.env gives etcdctl
    const members = await ssh('cpu-03', 'set -a; . /etc/etcd.env; etcdctl member list -w simple');
    assert.equal(members.code, 0, members.err);
    assert.match(members.out, new RegExp(`, started, etcd1, https://${node('cpu-03').address.replace(/\./g, '\\.')}:2380,`));
    const keys = await ssh('cpu-03', 'set -a; . /etc/etcd.env; etcdctl get /registry/minions/ --prefix --keys-only');
    assert.deepEqual(keys.out.trim().split('\n').filter(Boolean), ['/registry/minions/cpu-03', '/registry/minions/dgx-05']);
    const noCert = await ssh(
      'cpu-03',
      `etcdctl --endpoints https://${node('cpu-03').address}:2379 --cacert /etc/ssl/etcd/ssl/ca.pem endpoint health`,
    );
    assert.notEqual(noCert.code, 0, 'etcd must refuse a client without a certificate');
  });

  it('a chart whose workload never becomes ready fails helm upgrade --install --atomic --wait and is rolled back', async () => {
    const chart = join(dir, 'chart');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: waiter\nversion: 0.1.0\n');
    writeFileSync(join(chart, 'values.yaml'), 'nodeSelector: {}\n');
    writeFileSync(
      join(chart, 'templates/deploy.yaml'),
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: waiter}',
        'spec:',
        '  replicas: 1',
        '  selector: {matchLabels: {app: waiter}}',
        '  template:',
        '    metadata: {labels: {app: waiter}}',
        '    spec:',
        '      nodeSelector: {{ toJson .Values.nodeSelector }}',
        '      containers: [{name: c, image: registry.k8s.io/pause:3.10}]',
        '',
      ].join('\n'),
    );
    const helm = (...args: string[]) =>
      exec(cluster.helm, ['--kubeconfig', cluster.adminConf, ...args]).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout}${e.stderr}` }),
      );
    const good = await helm('upgrade', '--install', 'waiter', chart, '-n', 'default', '--atomic', '--wait', '--timeout', '60s');
    assert.equal(good.code, 0, good.out);
    // a node selector no node carries: the scheduler leaves the new pod Pending, so the rollout never completes
    const bad = await helm(
      'upgrade',
      '--install',
      'waiter',
      chart,
      '-n',
      'default',
      '--atomic',
      '--wait',
      '--timeout',
      '15s',
      '--set',
      'nodeSelector.gpu=none',
    );
    assert.notEqual(bad.code, 0, bad.out);
    assert.match(bad.out, /rolled back|rollback/i);
    const history = JSON.parse((await helm('history', 'waiter', '-n', 'default', '-o', 'json')).out) as Array<{
      revision: number;
      status: string;
      description: string;
    }>;
    assert.deepEqual(
      history.map((h) => [h.revision, h.status]),
      [
        [1, 'superseded'],
        [2, 'failed'],
        [3, 'deployed'],
      ],
    );
    assert.match(history[2]!.description, /Rollback to 1/);
    assert.equal(await ok(['get', 'deploy', 'waiter', '-o', 'jsonpath={.spec.template.spec.nodeSelector}']), '');
  });

  it('refuses a custom resource with an unknown field under fieldValidation=Strict', async () => {
    await ok(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.lab.bcmkube.io' },
        spec: {
          group: 'lab.bcmkube.io',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } },
              },
            },
          ],
        },
      }),
    );
    await ok(['wait', '--for=condition=Established', 'crd/widgets.lab.bcmkube.io', '--timeout=30s']);
    const cr = (spec: object) =>
      JSON.stringify({ apiVersion: 'lab.bcmkube.io/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'default' }, spec });
    const refused = await kubectl(['apply', '--server-side', '--validate=strict', '-f', '-'], cr({ size: 1, colour: 'red' }));
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /\.spec\.colour: field not declared in schema/);
    // a create (not an apply) is refused by the same strict decoding
    const created = await kubectl(['create', '--validate=strict', '-f', '-'], cr({ size: 1, colour: 'red' }));
    assert.notEqual(created.code, 0);
    assert.match(created.err, /strict decoding error: unknown field "spec\.colour"/);
    await ok(['apply', '--server-side', '--validate=strict', '-f', '-'], cr({ size: 1 }));
    assert.equal(await ok(['get', 'widget', 'w', '-o', 'jsonpath={.spec.size}']), '1');
  });

  it('refuses a privileged pod in a namespace enforcing the restricted Pod Security level', async () => {
    await ok(['create', 'namespace', 'locked']);
    await ok(['label', 'namespace', 'locked', 'pod-security.kubernetes.io/enforce=restricted']);
    const pod = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'root', namespace: 'locked' },
      spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', securityContext: { privileged: true } }] },
    });
    const r = await kubectl(['create', '-f', '-'], pod);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /violates PodSecurity "restricted:latest": privileged/);
    // the same pod where no level is enforced is admitted, scheduled and (KWOK) Running
    await ok(['create', '-f', '-'], pod.replace('"locked"', '"default"'));
    await ok(['wait', '--for=condition=Ready', 'pod/root', '-n', 'default', '--timeout=60s']);
  });

  it('a GPU node advertises nvidia.com/gpu only once the device plugin pod is Ready on it', async () => {
    // any other Ready pod on the GPU node (the helm test's, the pod test's) adds no GPUs
    await ok(['wait', '--for=condition=Ready', 'pod', '-l', 'app=waiter', '--timeout=60s']);
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await gpuCapacity('dgx-05'), '');
    await ok(['create', 'namespace', 'gpu-operator']);
    await ok(
      ['apply', '-f', '-'],
      JSON.stringify({
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
      }),
    );
    const readyAt = await eventually('the device plugin pod Ready on dgx-05', async () => {
      const out = await ok([
        'get',
        'pods',
        '-n',
        'gpu-operator',
        '-o',
        'jsonpath={range .items[*]}{.spec.nodeName}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
      ]);
      return out.includes('dgx-05=True') ? Date.now() : undefined;
    });
    const seenAt = await eventually(
      'nvidia.com/gpu on dgx-05',
      async () => ((await gpuCapacity('dgx-05')) === '8' ? Date.now() : undefined),
      30_000,
    );
    assert.ok(seenAt >= readyAt);
    assert.equal(await ok(['get', 'node', 'dgx-05', '-o', 'jsonpath={.status.allocatable.nvidia\\.com/gpu}']), '8');
    // the control-plane node is tainted, so no device plugin pod runs there, and it has no GPUs anyway
    assert.equal(await gpuCapacity('cpu-03'), '');
  });
  it("a CUDA smoke pod on a GPU node completes and its log is the node's nvidia-smi -L", async () => {
    await ok(['create', 'namespace', 'bcmkube-smoke']);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'cuda-smoke', namespace: 'bcmkube-smoke' },
      spec: {
        restartPolicy: 'Never',
        nodeSelector: { 'kubernetes.io/hostname': 'dgx-05' },
        containers: [
          {
            name: 'cuda',
            image: 'nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04',
            command: ['nvidia-smi', '-L'],
            resources: { limits: { 'nvidia.com/gpu': '1' } },
          },
        ],
      },
    };
    await ok(['create', '-f', '-'], JSON.stringify(pod));
    await ok(['wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/cuda-smoke', '-n', 'bcmkube-smoke', '--timeout=60s']);
    // the API server fetches the log from the node's "kubelet" at <node address>:10250
    const logs = await ok(['logs', 'cuda-smoke', '-n', 'bcmkube-smoke']);
    const local = await ssh('dgx-05', 'nvidia-smi -L');
    assert.equal(local.code, 0, local.err);
    assert.equal(logs, local.out);
    assert.equal(logs.split('\n').filter((l) => /^GPU \d+: NVIDIA H100/.test(l)).length, 8);
  });

  it('lab-kube, the entry point inside the node, stops and starts a component over SSH as an Ansible task would', async () => {
    const status = await ssh('cpu-03', 'lab-kube status');
    assert.equal(status.code, 0, status.err);
    for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'gpu-capacity'])
      assert.match(status.out, new RegExp(`^${c} \\d+$`, 'm'), status.out);
    assert.equal((await ssh('cpu-03', 'lab-kube stop kube-scheduler')).code, 0);
    assert.match((await ssh('cpu-03', 'lab-kube status')).out, /^kube-scheduler stopped$/m);
    // with no scheduler a new pod stays unscheduled; started again, the scheduler places it
    await ok(['run', 'late', '--image=registry.k8s.io/pause:3.10', '--restart=Never']);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await ok(['get', 'pod', 'late', '-o', 'jsonpath={.spec.nodeName}']), '');
    const started = await ssh('cpu-03', 'lab-kube start kube-scheduler');
    assert.equal(started.code, 0, started.err);
    assert.match(started.out, /^kube-scheduler started \(pid \d+\)$/m);
    await ok(['wait', '--for=condition=Ready', 'pod/late', '--timeout=90s']);
    assert.equal(await ok(['get', 'pod', 'late', '-o', 'jsonpath={.spec.nodeName}']), 'dgx-05');
    const bad = await ssh('cpu-03', 'lab-kube start kubelet');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown component 'kubelet'/);
  });
  it('kubeDown stops every component in every node, and nothing of it listens any more', async () => {
    await kubeDown(
      dir,
      specs.map((s) => s.name),
    );
    for (const s of specs) {
      const status = await ssh(s.name, 'lab-kube status');
      assert.doesNotMatch(status.out, /^\S+ \d+$/m, `${s.name}: ${status.out}`);
    }
    const { stdout } = await exec('ss', ['-Hltn']);
    const left = stdout.split('\n').filter((l) => l.includes(`127.0.${SUBNET}.`) && !/:22\s/.test(l));
    assert.deepEqual(left, []);
  });
});
