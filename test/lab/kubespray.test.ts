// The kubespray stage on the lab: Kubespray (the lab's named stand-in tarball, keeping Kubespray v2.27.1's
// contracts) downloaded from the lab mirror, checksum-verified and cached; its playbooks run by the real Ansible
// of Kubespray's requirements.txt (ansible 9.13.0, from the lab's PyPI mirror) over real SSH as the service user,
// with the stand-in's own ansible.cfg in force; cluster.yml brings the lab's real control plane up (etcd,
// kube-apiserver… in the nodes, KWOK as kubelets); the kubeconfig fetched with its server rewritten and never
// shown; Run:ai's node roles set with the real kubectl. What is in the cluster is asked of its API server.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { nodeExec, nodeFault } from './nodes.ts';
import { ensureRealHelmKubectl } from './repo/index.ts';
import { startStageLab, type StageLab } from './stage-fixture.ts';

const SUBNET = 26;
const dir = mkdtempSync(join(tmpdir(), 'kubespray-'));
let stage: StageLab;
let out: string;

const cli = (...argv: string[]) => stage.cli(...argv);
const writeSpec = (name: string, mutate?: (s: Record<string, any>) => void) => stage.writeSpec(name, mutate);
const records = async (node: string) =>
  (await nodeExec(dir, node, ['cat', '/var/lib/bcmkube-lab/kubespray.jsonl'])).stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);
const wheelDownloads = () => stage.repo.requests().filter((r) => r.path.endsWith('.whl')).length;
const exec = promisify(execFile);
/** kubectl against the lab's API server with the cluster's admin.conf as placed on the first control-plane node. */
const kubectl = async (...args: string[]) =>
  (await exec((await ensureRealHelmKubectl()).kubectl, ['--kubeconfig', join(dir, 'kube/admin.conf'), ...args])).stdout;
/** The Node objects the API server has. */
const registered = async () =>
  (await kubectl('get', 'nodes', '-o', 'name'))
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace('node/', ''))
    .sort();
const removeNode = (nodes: string, ...extra: string[]) =>
  cli('kubespray', '--spec', stage.spec, '--out', out, '--operation', 'remove-node', '--nodes', nodes, '--confirm', 'dgx-lab', ...extra);
const kubesprayDownloads = () => stage.repo.requests().filter((r) => r.path === '/tools/kubespray/v2.27.1.tar.gz').length;

describe('kubespray stage on the lab', () => {
  let spec: string;
  before(async () => {
    stage = await startStageLab({ dir, subnet: SUBNET, through: 'prepare', cluster: 'real' });
    out = stage.out;
    spec = stage.spec;
  });
  after(async () => {
    await stage?.close();
  });

  it('plan before any deploy: Kubespray needs deploy; cluster.yml passes --syntax-check with the real Ansible and targets the five nodes; nothing runs on them', async () => {
    const r = await cli('kubespray', '--spec', spec, '--out', out, '--plan');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Cluster: no cluster answered: cpu-03: could not read \/etc\/kubernetes\/admin\.conf/);
    assert.match(r.out, /\*\*Kubespray needs: deploy\*\*: no cluster answers yet/);
    assert.match(r.out, /Ansible: ansible-core 2\.16\.\d+ \(new venv kubespray-venv\/2\.27\.1-py3\.\d+\)/);
    assert.ok(wheelDownloads() >= 4, "Kubespray's real requirements.txt installed from the lab index (mirrors.pypi)");
    assert.match(
      r.out,
      /Would run Kubespray v2\.27\.1 with ansible-core 2\.16\.\d+ as ansiblebcm; each playbook passed `ansible-playbook --syntax-check`/,
    );
    assert.match(
      r.out,
      /\| 1 \| `ansible-playbook -i \S+hosts\.yaml --become bcmkube-mirror-ca\.yml` \| 5: cpu-03, cpu-05, cpu-06, dgx-05, dgx-06 \|\n\| 2 \| `ansible-playbook -i \S+hosts\.yaml --become cluster\.yml` \| 5: cpu-03, cpu-05, cpu-06, dgx-05, dgx-06 \|/,
    );
    assert.equal(r.outputs.changes, 'true');
    assert.deepEqual(await records('cpu-03'), [], 'nothing ran on the nodes');
  });

  it('plan of a scale: facts.yml on every node, then scale.yml limited to the new worker', async () => {
    const r = await cli('kubespray', '--spec', spec, '--out', out, '--plan', '--operation', 'scale', '--nodes', 'dgx-06');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\(cached venv kubespray-venv\/2\.27\.1-py3\.\d+\)/);
    assert.match(
      r.out,
      /\| 2 \| `ansible-playbook -i \S+hosts\.yaml --become playbooks\/facts\.yml` \| 5: cpu-03, cpu-05, cpu-06, dgx-05, dgx-06 \|\n\| 3 \| `ansible-playbook -i \S+hosts\.yaml --become scale\.yml --limit dgx-06` \| 1: dgx-06 \|/,
    );
  });

  it("deploy: runs cluster.yml with Kubespray's ansible.cfg, as the service user with --become, fetches the kubeconfig, sets Run:ai's node roles", async () => {
    const wheels = wheelDownloads();
    const r = await cli('kubespray', '--spec', spec, '--out', out);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Kubespray v2\.27\.1: from the tool cache/, 'the plan downloaded and verified it');
    assert.match(r.out, /Ansible: ansible-core 2\.16\.\d+ \(cached venv kubespray-venv\/2\.27\.1-py3\.\d+\)/);
    assert.equal(wheelDownloads(), wheels, 'the venv is reused');
    assert.match(r.out, /TASK \[kubespray-defaults : Kubespray defaults are loaded\]/, "the role is found through Kubespray's roles_path");
    const trusted = await nodeExec(dir, 'dgx-05', [
      'cat',
      '/usr/local/share/ca-certificates/bcmkube-mirrors.crt',
      '/etc/ssl/certs/ca-certificates.crt',
    ]);
    const labCa = readFileSync(stage.lab.ca.caCert, 'utf8').trim();
    assert.equal(trusted.stdout.split(labCa).length - 1, 2, "mirrors.ca_file is in the node's system trust store");
    assert.match(
      r.out,
      /▶ play: Check and record what each host received[\s\S]*▶ play: Control plane and nodes \(lab\)[\s\S]*▶ PLAY RECAP/,
    );
    const recap = JSON.parse(r.outputs.recap!) as Array<{ host: string; failed: number; unreachable: number }>;
    assert.deepEqual(
      recap.filter((h) => h.host !== 'localhost').map((h) => `${h.host}:${h.failed}:${h.unreachable}`),
      ['cpu-03:0:0', 'cpu-05:0:0', 'cpu-06:0:0', 'dgx-05:0:0', 'dgx-06:0:0'],
    );
    const dgx = (await records('dgx-05')).at(-1)!;
    assert.deepEqual(
      [dgx.playbook, dgx.user, dgx.become_user, dgx.kube_version, dgx.containerd_storage_dir, dgx.ip],
      ['cluster.yml', 'ansiblebcm', 'root', 'v1.31.9', '/raid/containerd', `127.0.${SUBNET}.105`],
    );
    assert.deepEqual((await records('cpu-05')).at(-1)!.groups, ['etcd', 'k8s_cluster', 'kube_control_plane']);
    // the real API server: five Ready nodes, named and addressed as the lab's machines; etcd over SSH as on a real cluster
    assert.deepEqual(
      (
        await kubectl(
          'get',
          'nodes',
          '-o',
          'jsonpath={range .items[*]}{.metadata.name}={.status.addresses[0].address}={.status.conditions[?(@.type=="Ready")].status} {end}',
        )
      )
        .trim()
        .split(' '),
      ['cpu-03=3', 'cpu-05=5', 'cpu-06=6', 'dgx-05=105', 'dgx-06=106'].map((n) => n.replace(/=(\d+)$/, `=127.0.${SUBNET}.$1=True`)),
    );
    const etcd = await nodeExec(dir, 'cpu-05', ['/bin/sh', '-c', 'set -a; . /etc/etcd.env; /usr/local/bin/etcdctl member list']);
    for (const [member, host] of [
      ['etcd1', 3],
      ['etcd2', 5],
      ['etcd3', 6],
    ])
      assert.match(etcd.stdout, new RegExp(`started, ${member}, https://127\\.0\\.${SUBNET}\\.${host}:2380`), etcd.stdout + etcd.stderr);
    assert.deepEqual(
      (await kubectl('get', 'cm', '-n', 'kube-system', 'nodelocaldns', 'coredns', '-o', 'name')).trim().split('\n'),
      ['configmap/nodelocaldns', 'configmap/coredns'],
      "what Kubespray's dns role creates, which later stages read",
    );
    const roles = await kubectl('get', 'nodes', '-l', 'node-role.kubernetes.io/runai-gpu-worker=true', '-o', 'name');
    assert.deepEqual(roles.trim().split('\n'), ['node/dgx-05', 'node/dgx-06'], "Run:ai's GPU-worker role set on the GPU nodes");
    assert.equal(
      (await kubectl('get', 'node', 'cpu-03', '-o', 'jsonpath={.metadata.labels}')).includes('runai'),
      false,
      'only labels something reads',
    );
    assert.deepEqual(readdirSync(join(dir, 'runner-temp')), [], 'key, known_hosts and kubeconfig removed from RUNNER_TEMP');
    assert.doesNotMatch(r.out, /client-key-data: \S/, 'kubeconfig credentials never printed');
    assert.doesNotMatch(JSON.stringify(r.outputs), /kubeconfig|BEGIN/, 'no kubeconfig or key in outputs');
    const inv = JSON.parse(readFileSync(join(out, 'inventory.json'), 'utf8')) as Inventory;
    assert.equal(inv.history.at(-1)!.stage, 'kubespray');
    assert.deepEqual(inv.kubernetes, {
      version: 'v1.31.9',
      apiServer: `https://127.0.${SUBNET}.3:6443`,
      registeredNodes: ['cpu-03', 'cpu-05', 'cpu-06', 'dgx-05', 'dgx-06'],
    });
  });

  it('plan on the deployed cluster: every node registered, no changes', async () => {
    const r = await cli('kubespray', '--spec', spec, '--out', out, '--plan');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\*\*No changes\*\*: every inventory node is registered/);
    assert.equal(r.outputs.changes, 'false');
    assert.deepEqual(readdirSync(join(dir, 'runner-temp')), [], 'the plan removes its kubeconfig too');
  });

  it('a second deploy takes Kubespray and its venv from the tool cache and changes nothing', async () => {
    const before = kubesprayDownloads();
    const r = await cli('kubespray', '--spec', spec, '--out', out);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /from the tool cache/);
    assert.match(r.out, /\(cached venv kubespray-venv\/2\.27\.1-py3\.\d+\)/);
    assert.equal(kubesprayDownloads(), before);
    assert.ok(JSON.parse(r.outputs.recap!).every((h: { changed: number }) => h.changed === 0));
  });

  it('refuses a Kubespray archive whose checksum does not match the pin, installing nothing', async () => {
    process.env.RUNNER_TOOL_CACHE = join(dir, 'tool-cache-2');
    try {
      const pinned = writeSpec('pinned', (s) => (s.mirrors.sha256 = { 'kubespray-v2.27.1.tar.gz': '0'.repeat(64) }));
      const r = await cli('kubespray', '--spec', pinned, '--out', out);
      assert.equal(r.code, 1);
      assert.match(
        r.out,
        /SHA-256 of https:\/\/\S+v2\.27\.1\.tar\.gz is [0-9a-f]{64}, expected 0{64} \(pinned\); the download was refused/,
      );
      assert.equal(existsSync(join(dir, 'tool-cache-2/kubespray')), false);
    } finally {
      process.env.RUNNER_TOOL_CACHE = join(dir, 'tool-cache');
    }
  });

  it('reset and remove-node refuse without confirm: <cluster>; reset runs with it', async () => {
    const before = (await records('cpu-03')).length;
    const refused = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'reset');
    assert.equal(refused.code, 2);
    assert.match(refused.out, /pass confirm: dgx-lab/);
    assert.equal(
      (await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'remove-node', '--nodes', 'dgx-06', '--confirm', 'other')).code,
      2,
    );
    assert.equal((await records('cpu-03')).length, before, 'nothing ran');
    const reset = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'reset', '--confirm', 'dgx-lab');
    assert.equal(reset.code, 0, reset.out);
    assert.equal((await records('cpu-03')).at(-1)!.playbook, 'reset.yml');
    for (const node of ['cpu-03', 'cpu-05', 'dgx-05']) {
      const left = await nodeExec(dir, node, ['/bin/sh', '-c', 'ls /etc/kubernetes /var/lib/etcd 2>&1; /usr/local/bin/lab-kube status']);
      assert.doesNotMatch(left.stdout, /running/, `${node}: nothing of the cluster runs after reset`);
      assert.match(left.stdout, /ls: cannot access '\/etc\/kubernetes'/, `${node}: the cluster's state is removed`);
    }
    const inv = JSON.parse(readFileSync(join(out, 'inventory.json'), 'utf8')) as Inventory;
    assert.equal(inv.kubernetes, undefined, 'no cluster recorded after reset');
  });

  it("scale runs facts.yml, then scale.yml limited to the new nodes (Kubespray's fact-cache check passes), and refuses control-plane nodes", async () => {
    const r = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'scale', '--nodes', 'dgx-06');
    assert.equal(r.code, 0, r.out);
    assert.match(
      r.out,
      /▶ play: Gather facts[\s\S]*TASK \[Stop if any host not in '--limit' does not have a fact cache\] \*+\nok: \[dgx-06\]/,
    );
    assert.match(r.out, /then `playbooks\/facts\.yml` then `scale\.yml` \(--limit dgx-06\)/);
    assert.equal((await records('dgx-06')).at(-1)!.playbook, 'scale.yml');
    assert.notEqual((await records('dgx-05')).at(-1)!.playbook, 'scale.yml');
    const cp = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'scale', '--nodes', 'cpu-03');
    assert.equal(cp.code, 2);
    assert.match(cp.out, /control-plane nodes are added with operation deploy/);
  });

  it('refuses an ansible-playbook whose ansible-core is outside the range Kubespray supports, running nothing', async () => {
    const old = join(dir, 'old-ansible-playbook');
    // A test double for the version probe only: it answers --version like Ansible 2.9 and fails otherwise.
    writeFileSync(old, '#!/bin/sh\n[ "$1" = --version ] && echo "ansible-playbook 2.9.27" && exit 0\nexit 99\n');
    chmodSync(old, 0o755);
    const before = (await records('cpu-03')).length;
    const r = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'upgrade', '--ansible-playbook-path', old);
    assert.equal(r.code, 2, r.out);
    assert.match(
      r.out,
      /Kubespray v2\.27\.1 needs ansible-core >= 2\.16\.4 and < 2\.17\.0 \(playbooks\/ansible_version\.yml\), but ansible-playbook-path \S+old-ansible-playbook: ansible-core 2\.9\.27 is older than 2\.16\.4/,
    );
    assert.equal((await records('cpu-03')).length, before, 'no playbook ran');
  });

  it('a node missing from the cluster: plan says scale it, an upgrade fails naming it, scale brings it back', async () => {
    assert.equal((await cli('kubespray', '--spec', spec, '--out', out)).code, 0);
    await kubectl('delete', 'node', 'dgx-06');
    const plan = await cli('kubespray', '--spec', spec, '--out', out, '--plan', '--operation', 'upgrade');
    assert.equal(plan.code, 0, plan.out);
    assert.match(plan.out, /\*\*Kubespray needs: scale\*\* \(dgx-06\): new worker nodes/);
    assert.match(plan.out, /warning: kubespray plan: operation upgrade was asked; the cluster needs scale/);
    const upgrade = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'upgrade');
    assert.equal(upgrade.code, 1);
    assert.match(
      upgrade.out,
      /upgrade-cluster\.yml finished, but the cluster does not match the inventory\n {2}- dgx-06: not registered with the API server/,
    );
    const scale = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'scale', '--nodes', 'dgx-06');
    assert.equal(scale.code, 0, scale.out);
    assert.ok((await registered()).includes('dgx-06'), 'dgx-06 is a Node again');
    assert.equal(
      await kubectl('get', 'node', 'dgx-06', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'),
      'True',
      'its kubelet (KWOK) reports it Ready',
    );
  });

  it('remove-node takes the node out of the cluster and checks it left', async () => {
    const r = await removeNode('cpu-06');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /-e skip_confirmation=true/, 'no prompt without a terminal');
    assert.deepEqual(await registered(), ['cpu-03', 'cpu-05', 'dgx-05', 'dgx-06']);
    assert.doesNotMatch((await nodeExec(dir, 'cpu-06', ['/usr/local/bin/lab-kube', 'status'])).stdout, /kwok\s+running/);
    const inv = JSON.parse(readFileSync(join(out, 'inventory.json'), 'utf8')) as Inventory;
    assert.deepEqual(inv.kubernetes?.registeredNodes, ['cpu-03', 'cpu-05', 'dgx-05', 'dgx-06']);
  });

  it('remove-node refuses the first control-plane node, saying what to do; nothing runs', async () => {
    const before = (await records('cpu-03')).length;
    const r = await removeNode('cpu-03');
    assert.equal(r.code, 2, r.out);
    assert.match(
      r.out,
      /cpu-03 is the first control-plane node, which Kubespray's remove-node\.yml cannot remove: move another node to the front/,
    );
    assert.equal((await records('cpu-03')).length, before);
  });

  it('remove-node of a node that is down: nodes-down removes it without reaching it', async () => {
    await nodeFault(dir, 'dgx-05', 'reject');
    try {
      const down = await removeNode('dgx-05', '--nodes-down', 'true');
      assert.equal(down.code, 0, down.out);
      assert.match(down.out, /-e reset_nodes=false -e allow_ungraceful_removal=true/);
      assert.deepEqual(await registered(), ['cpu-03', 'cpu-05', 'dgx-06']);
    } finally {
      await nodeFault(dir, 'dgx-05', 'restore');
    }
  });

  it('a deploy that brings a control-plane node back restarts nginx-proxy on every host after cluster.yml', async () => {
    const r = await cli('kubespray', '--spec', spec, '--out', out);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /▶ play: Restart nginx-proxy so it reloads the API servers[\s\S]*TASK \[crictl on the node\]/);
    assert.match(r.out, /ran `bcmkube-mirror-ca\.yml` then `cluster\.yml` then `bcmkube-restart-nginx-proxy\.yml`/);
    assert.match(r.out, /Control-plane nodes cpu-06 were added: nginx-proxy was restarted on every host/);
    assert.deepEqual(await registered(), ['cpu-03', 'cpu-05', 'cpu-06', 'dgx-05', 'dgx-06']);
  });
});
