// What the kubespray stage asks of Kubespray for each operation, and what it refuses before anything runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSpecFile } from '../../actions/lib/config/load.ts';
import type { Inventory, InventoryNode, InventoryRole } from '../../actions/lib/inventory/types.ts';
import { diffClusterNodes } from '../../actions/lib/kubespray/cluster-diff.ts';
import { kubesprayVars, renderKubespray } from '../../actions/lib/kubespray/render.ts';
import { apiServerPort } from '../../actions/lib/stages/access.ts';
import { addedControlPlane, planOperation, registrationProblems, runaiNodeLabels } from '../../actions/lib/stages/kubespray.ts';

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
    const dedicatedEtcd = inventory([
      node('cp-01', ['control_plane']),
      node('etcd-01', ['etcd']),
      node('etcd-02', ['etcd']),
      node('etcd-03', ['etcd']),
      node('w-01', ['worker']),
    ]);
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
  const inv = inventory([
    node('cp-01', ['control_plane']),
    node('etcd-01', ['etcd']),
    node('etcd-02', ['etcd']),
    node('etcd-03', ['etcd']),
    node('w-01', ['worker']),
  ]);
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
