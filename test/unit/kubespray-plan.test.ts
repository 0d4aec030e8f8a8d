// What plan mode tells the user Kubespray must do, and the Ansible it accepts.
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
