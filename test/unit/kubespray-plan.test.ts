// What plan mode tells the user Kubespray must do, the Ansible it accepts, what the stage asks of Kubespray for
// each operation, and what it refuses before anything runs.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Inventory, InventoryNode, InventoryRole } from '../../actions/lib/inventory/types.ts';
import {
  ansibleMismatch,
  kubesprayAnsibleRange,
  parseAnsibleCoreVersion,
  pipEnvironment,
} from '../../actions/lib/kubespray/ansible-env.ts';
import { diffClusterNodes } from '../../actions/lib/kubespray/cluster-diff.ts';
import { kubesprayVars, renderKubespray } from '../../actions/lib/kubespray/render.ts';
import { loadSpecFile } from '../../actions/lib/config/load.ts';
import { apiServerPort } from '../../actions/lib/stages/access.ts';
import { addedControlPlane, planOperation, registrationProblems, runaiNodeLabels } from '../../actions/lib/stages/kubespray.ts';
import { tempDir } from '../temp-dirs.ts';

const node = (hostname: string, roles: InventoryRole[]): InventoryNode => ({
  hostname,
  uuid: hostname,
  mac: '',
  status: 'UP',
  roles,
  address: '127.0.0.1',
  network: 'internalnet',
  addresses: [],
  history: [],
});
const inv = (kubernetesVersion?: string): Inventory => ({
  schemaVersion: 1,
  cluster: 'c',
  specHash: '',
  bcm: { endpoint: '' },
  history: [],
  nodes: [
    node('cp-01', ['control_plane', 'etcd']),
    node('cp-02', ['control_plane', 'etcd']),
    node('dgx-01', ['worker', 'gpu_worker']),
    node('dgx-02', ['worker', 'gpu_worker']),
  ],
  ...(kubernetesVersion ? { kubernetes: { version: kubernetesVersion, apiServer: 'https://x:6443', registeredNodes: [] } } : {}),
});

describe('plan: inventory against the nodes the cluster reports', () => {
  it('no cluster answering means deploy', () => {
    const d = diffClusterNodes(inv(), undefined, 'v1.31.9');
    assert.equal(d.suggestion.operation, 'deploy');
    assert.equal(d.registered, undefined);
  });
  it('new workers mean scale limited to them', () => {
    const d = diffClusterNodes(inv(), ['cp-01', 'cp-02', 'dgx-01'], 'v1.31.9');
    assert.deepEqual([d.suggestion.operation, d.suggestion.nodes], ['scale', ['dgx-02']]);
  });
  it('a new control-plane node means cluster.yml, even with new workers too', () => {
    const d = diffClusterNodes(inv(), ['cp-01', 'dgx-01'], 'v1.31.9');
    assert.deepEqual([d.suggestion.operation, d.suggestion.nodes, d.newWorkers], ['deploy', ['cp-02'], ['dgx-02']]);
  });
  it('registered nodes missing from the inventory are listed, never removed', () => {
    const d = diffClusterNodes(inv(), ['cp-01', 'cp-02', 'dgx-01', 'dgx-02', 'old-07'], 'v1.31.9');
    assert.deepEqual([d.suggestion.operation, d.notInInventory], ['none', ['old-07']]);
  });
  it('a different Kubernetes version in the spec means upgrade; the same means no changes', () => {
    const all = ['cp-01', 'cp-02', 'dgx-01', 'dgx-02'];
    assert.equal(diffClusterNodes(inv('v1.30.4'), all, 'v1.31.9').suggestion.operation, 'upgrade');
    assert.equal(diffClusterNodes(inv('v1.31.9'), all, 'v1.31.9').suggestion.operation, 'none');
  });
});

describe("Kubespray's ansible-core range", () => {
  it('reads minimal/maximal_ansible_version from playbooks/ansible_version.yml', () => {
    const root = tempDir('ks-');
    mkdirSync(join(root, 'playbooks'));
    writeFileSync(
      join(root, 'playbooks/ansible_version.yml'),
      '- hosts: all\n  vars:\n    minimal_ansible_version: 2.16.4\n    maximal_ansible_version: 2.17.0\n',
    );
    assert.deepEqual(kubesprayAnsibleRange(root), { min: '2.16.4', max: '2.17.0' });
    assert.equal(kubesprayAnsibleRange(tempDir('ks-')), undefined);
  });
  it('parses ansible-playbook --version of ansible-core and of old Ansible', () => {
    assert.equal(parseAnsibleCoreVersion('ansible-playbook [core 2.16.14]\n  config file = None\n'), '2.16.14');
    assert.equal(parseAnsibleCoreVersion('ansible-playbook 2.9.27\n'), '2.9.27');
    assert.equal(parseAnsibleCoreVersion('command not found'), undefined);
  });
  it('accepts [min, max) only', () => {
    const range = { min: '2.16.4', max: '2.17.0' };
    assert.equal(ansibleMismatch('2.16.4', range), undefined);
    assert.match(ansibleMismatch('2.16.3', range)!, /older than 2\.16\.4/);
    assert.match(ansibleMismatch('2.17.0', range)!, /not below 2\.17\.0/);
  });
  it("isolates pip from the runner's configuration only when a mirror is given", () => {
    process.env.PIP_INDEX_URL = 'https://corp.example/simple';
    process.env.CURL_CA_BUNDLE = '/etc/corp.pem';
    try {
      assert.equal(pipEnvironment({}).PIP_INDEX_URL, 'https://corp.example/simple');
      const isolated = pipEnvironment({ indexUrl: 'https://mirror/simple', caFile: '/ca.pem' });
      assert.equal(isolated.PIP_INDEX_URL, undefined);
      assert.equal(isolated.CURL_CA_BUNDLE, undefined, 'would override --cert inside pip');
      assert.equal(isolated.PIP_CONFIG_FILE, '/dev/null');
    } finally {
      delete process.env.PIP_INDEX_URL;
      delete process.env.CURL_CA_BUNDLE;
    }
  });
});

const inventory = (nodes: InventoryNode[], registeredNodes?: string[]): Inventory => ({
  schemaVersion: 1,
  cluster: 'c',
  specHash: '',
  bcm: { endpoint: '' },
  history: [],
  nodes,
  ...(registeredNodes ? { kubernetes: { version: 'v1.31.9', apiServer: 'https://x:6443', registeredNodes } } : {}),
});
const lab = inventory([
  node('cpu-03', ['control_plane', 'etcd']),
  node('cpu-05', ['control_plane', 'etcd']),
  node('cpu-06', ['control_plane', 'etcd']),
  node('dgx-05', ['worker', 'gpu_worker']),
  node('dgx-06', ['worker', 'gpu_worker']),
]);
const dedicatedEtcd = inventory([
  node('cp-01', ['control_plane']),
  node('etcd-01', ['etcd']),
  node('etcd-02', ['etcd']),
  node('etcd-03', ['etcd']),
  node('w-01', ['worker']),
]);
const plan = (op: Parameters<typeof planOperation>[0], opts: Partial<Parameters<typeof planOperation>[3]> = {}, inv = lab) =>
  planOperation(op, inv, 'c', { confirm: '', nodes: '', ...opts });

describe('kubespray operations', () => {
  it('scale runs playbooks/facts.yml on every host first, then scale.yml limited to the new nodes', () => {
    assert.deepEqual(plan('scale', { nodes: 'dgx-06' }), [
      { playbook: 'playbooks/facts.yml', args: [] },
      { playbook: 'scale.yml', args: ['--limit', 'dgx-06'] },
    ]);
  });
  it('remove-node skips the confirmation prompt (no terminal in CI) and passes the nodes', () => {
    assert.deepEqual(plan('remove-node', { nodes: 'dgx-06', confirm: 'c' }), [
      { playbook: 'remove-node.yml', args: ['-e', 'node=dgx-06', '-e', 'skip_confirmation=true'] },
    ]);
  });
  it('remove-node of nodes that are down: reset_nodes=false allow_ungraceful_removal=true; only for remove-node', () => {
    assert.deepEqual(plan('remove-node', { nodes: 'dgx-06', confirm: 'c', nodesDown: true })[0]!.args.slice(4), [
      '-e',
      'reset_nodes=false',
      '-e',
      'allow_ungraceful_removal=true',
    ]);
    assert.throws(() => plan('deploy', { nodesDown: true }), /nodes-down applies to operation remove-node only/);
  });
  it('refuses to remove the first control-plane or the first etcd node, saying what to do', () => {
    assert.throws(
      () => plan('remove-node', { nodes: 'cpu-05,cpu-03', confirm: 'c' }),
      /cpu-03 is the first control-plane node, which Kubespray's remove-node\.yml cannot remove: move another node to the front/,
    );
    assert.throws(() => plan('remove-node', { nodes: 'etcd-01', confirm: 'c' }, dedicatedEtcd), /etcd-01 is the first etcd node/);
    assert.equal(plan('remove-node', { nodes: 'etcd-02', confirm: 'c' }, dedicatedEtcd).length, 1);
  });
  it('refuses an inventory Kubespray would refuse: an even etcd count (as discovered) or an upper-case hostname', () => {
    const four = inventory([...lab.nodes, node('cpu-07', ['control_plane', 'etcd'])]);
    assert.throws(() => plan('deploy', {}, four), /inventory: 4 etcd members: Kubespray refuses an even count/);
    const upper = inventory([...lab.nodes, node('DGX-07', ['worker'])]);
    assert.throws(() => plan('deploy', {}, upper), /DGX-07: 'DGX-07' is not a hostname Kubespray accepts/);
  });
  it('deploy, upgrade and reset run their playbook; reset confirms for Kubespray', () => {
    assert.deepEqual(plan('deploy'), [{ playbook: 'cluster.yml', args: [] }]);
    assert.deepEqual(plan('upgrade'), [{ playbook: 'upgrade-cluster.yml', args: [] }]);
    assert.deepEqual(plan('reset', { confirm: 'c' }), [{ playbook: 'reset.yml', args: ['-e', 'reset_confirmation=yes'] }]);
  });
});

describe('dedicated etcd nodes', () => {
  const inv = dedicatedEtcd;
  it('are not expected to register as Kubernetes nodes after a deploy', () => {
    assert.deepEqual(registrationProblems('deploy', inv, [], ['cp-01', 'w-01']), []);
    assert.match(registrationProblems('deploy', inv, [], ['cp-01'])[0]!, /^w-01: not registered/);
  });
  it('do not make plan say deploy forever', () => {
    assert.equal(diffClusterNodes(inv, ['cp-01', 'w-01'], 'v1.31.9').suggestion.operation, 'none');
  });
});

describe("Run:ai's node roles and nginx-proxy", () => {
  it('GPU workers get runai-gpu-worker; CPU workers runai-cpu-worker and runai-system; the control plane nothing', () => {
    const inv = inventory([...lab.nodes, node('cpu-10', ['worker'])]);
    assert.deepEqual(runaiNodeLabels(inv, ['cpu-03', 'dgx-05', 'cpu-10']), [
      { node: 'dgx-05', labels: ['node-role.kubernetes.io/runai-gpu-worker=true'] },
      { node: 'cpu-10', labels: ['node-role.kubernetes.io/runai-cpu-worker=true', 'node-role.kubernetes.io/runai-system=true'] },
    ]);
  });
  it('names the control-plane nodes a deploy adds to a running cluster (nginx-proxy must then restart)', () => {
    const inv = inventory([...lab.nodes], ['cpu-03', 'dgx-05', 'dgx-06']);
    assert.deepEqual(addedControlPlane(inv), ['cpu-05', 'cpu-06']);
    assert.deepEqual(addedControlPlane(inventory(lab.nodes)), [], 'a first deploy adds nothing to restart');
    assert.deepEqual(
      plan('deploy', { mirrorCa: true, restartNginxProxy: true }).map((r) => [r.playbook, r.ours ?? false]),
      [
        ['bcmkube-mirror-ca.yml', true],
        ['cluster.yml', false],
        ['bcmkube-restart-nginx-proxy.yml', true],
      ],
    );
  });
});

describe('rendered for Kubespray', () => {
  const spec = loadSpecFile('clusters/lab.yaml').spec;
  it('leaves become to --become: no ansible_become in the inventory', () => {
    assert.doesNotMatch(renderKubespray(lab, spec).hostsYaml, /ansible_become/);
  });
  it('air-gap: files_repo and the four base URLs from mirrors.files, image repositories from mirrors.images', () => {
    const s = structuredClone(spec);
    s.mirrors.files = 'https://files.example:8443/kubespray/';
    s.mirrors.images = { 'registry.k8s.io': ['https://registry.example:5000'], 'quay.io': ['https://quay-mirror.example/quay'] };
    const vars = kubesprayVars(lab, s);
    assert.deepEqual(
      [vars.files_repo, vars.github_url, vars.dl_k8s_io_url, vars.storage_googleapis_url, vars.get_helm_url],
      [
        'https://files.example:8443/kubespray',
        'https://files.example:8443/kubespray/github.com',
        'https://files.example:8443/kubespray/dl.k8s.io',
        'https://files.example:8443/kubespray/storage.googleapis.com',
        'https://files.example:8443/kubespray/get.helm.sh',
      ],
    );
    assert.deepEqual(
      [vars.kube_image_repo, vars.quay_image_repo, vars.docker_image_repo],
      ['registry.example:5000', 'quay-mirror.example/quay', undefined],
    );
    assert.equal(kubesprayVars(lab, spec).files_repo, undefined, 'nothing without mirrors');
  });
  it("the kubeconfig's API server port is Kubespray's kube_apiserver_port when the spec sets it", () => {
    const s = structuredClone(spec);
    assert.equal(apiServerPort(s), 6443);
    s.kubernetes.extra_vars = { kube_apiserver_port: 7443 };
    assert.equal(apiServerPort(s), 7443);
  });
});
