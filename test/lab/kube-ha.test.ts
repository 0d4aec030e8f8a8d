// The control plane of clusters/lab.yaml's shape: three control-plane nodes that are also the etcd members,
// as Kubespray places them, and what that buys — a member or an API server may go and the cluster still works.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { kubeUp, type KubeCluster } from './kube/control-plane.ts';
import { nodeAddress, startNodes, stopNodes, type LabNodeSpec } from './nodes.ts';

const exec = promisify(execFile);
const SUBNET = 86;
const dir = mkdtempSync(join(tmpdir(), 'kube-ha-'));
const specs: LabNodeSpec[] = [
  { name: 'cpu-03', index: 3, gpus: 0 },
  { name: 'cpu-05', index: 5, gpus: 0 },
  { name: 'cpu-06', index: 6, gpus: 0 },
  { name: 'dgx-05', index: 105, gpus: 8, gpuModel: 'H100' },
];
const node = (s: LabNodeSpec) => ({ name: s.name, address: nodeAddress(SUBNET, s.index), gpus: s.gpus });
const controlPlane = specs.filter((s) => !s.gpus).map(node);
const addr = (name: string) => controlPlane.find((n) => n.name === name)!.address;
let cluster: KubeCluster;

async function run(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return exec(cmd, args).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout, err: stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: e.stdout ?? '', err: e.stderr ?? '' }),
  );
}

const ssh = (name: string, command: string) =>
  run('ssh', [
    '-i',
    join(dir, 'admin'),
    '-o',
    `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    `root@${addr(name)}`,
    command,
  ]);

/** kubectl with the admin credentials against one control-plane node's API server. */
const kubectlVia = (name: string, ...args: string[]) =>
  run(cluster.kubectl, ['--kubeconfig', cluster.adminConf, '--server', `https://${addr(name)}:6443`, '--request-timeout=10s', ...args]);

describe('a three-member control plane placed as Kubespray places it', () => {
  before(async () => {
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lab-admin', '-f', join(dir, 'admin')]);
    await startNodes({ dir, subnet: SUBNET, nodes: specs, adminPublicKey: readFileSync(join(dir, 'admin.pub'), 'utf8') });
    cluster = await kubeUp(dir, { etcd: controlPlane, controlPlane, workers: [node(specs[3]!)] });
  });
  after(async () => {
    // by PID: a node's end ends every process of its PID namespace, the control plane's too
    await stopNodes(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('etcd1..3 form one cluster on the nodes’ addresses; each node’s etcdctl works with its own admin certificate', async () => {
    for (const n of controlPlane) {
      const r = await ssh(n.name, 'set -a; . /etc/etcd.env; etcdctl member list -w simple; etcdctl endpoint health');
      assert.equal(r.code, 0, r.err);
      const members = r.out
        .split('\n')
        .filter((l) => l.includes(', started, '))
        .map((l) => l.split(', ').slice(2, 4).join(' '))
        .sort();
      assert.deepEqual(
        members,
        controlPlane.map((c, i) => `etcd${i + 1} https://${c.address}:2380`),
      );
      assert.match(r.out + r.err, new RegExp(`https://${n.address.replace(/\./g, '\\.')}:2379 is healthy`));
      assert.match(readFileSync(join(dir, 'kube/pki/etcd', `admin-${n.name}.pem`), 'utf8'), /BEGIN CERTIFICATE/);
    }
  });

  it('every control-plane node serves the API on its own address with a certificate naming it and has its own admin.conf', async () => {
    for (const n of controlPlane) {
      const version = await kubectlVia(n.name, 'get', '--raw', '/version');
      assert.equal(version.code, 0, `${n.name}: ${version.err}`);
      const conf = await ssh(
        n.name,
        'kubectl --kubeconfig /etc/kubernetes/admin.conf config view -o jsonpath={.clusters[0].cluster.server}',
      );
      assert.equal(conf.out, `https://${n.address}:6443`);
      const nodes = await ssh(n.name, 'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name');
      assert.deepEqual(nodes.out.trim().split('\n'), ['node/cpu-03', 'node/cpu-05', 'node/cpu-06', 'node/dgx-05']);
    }
  });

  it('with one etcd member and one API server down, the others keep serving and the controllers move on', async () => {
    assert.equal((await ssh('cpu-06', 'lab-kube stop etcd')).code, 0);
    // the first control plane's: the worker's proxy (Kubespray's nginx-proxy) passes its KWOK on to the others
    assert.equal((await ssh('cpu-03', 'lab-kube stop kube-apiserver')).code, 0);
    assert.notEqual((await kubectlVia('cpu-03', 'get', '--raw', '/readyz')).code, 0);
    // two of three etcd members are a quorum: writes still commit
    const created = await kubectlVia('cpu-06', 'create', 'deployment', 'after-failover', '--image=registry.k8s.io/pause:3.10');
    assert.equal(created.code, 0, created.err);
    // whichever controller-manager and scheduler lead, one that still reaches an API server rolls it out
    const rolled = await kubectlVia('cpu-06', 'rollout', 'status', 'deployment/after-failover', '--timeout=90s');
    assert.equal(rolled.code, 0, rolled.err);
    const health = await ssh('cpu-05', 'set -a; . /etc/etcd.env; etcdctl endpoint health --cluster');
    assert.match(health.out + health.err, new RegExp(`https://${addr('cpu-06').replace(/\./g, '\\.')}:2379 is unhealthy`));
  });
});
