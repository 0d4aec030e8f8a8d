// Kubespray inventory rendering: snapshots for the five-node lab and a 3+N topology, and the real
// ansible-inventory must read the result with the groups and variables Kubespray expects.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadSpecFile } from '../../actions/lib/config/load.ts';
import type { ClusterSpec } from '../../actions/lib/config/types.ts';
import type { Inventory, InventoryNode } from '../../actions/lib/inventory/types.ts';
import { renderKubespray } from '../../actions/lib/kubespray/render.ts';

const exec = promisify(execFile);

function node(hostname: string, address: string, roles: InventoryNode['roles'], containerdStorageDir?: string): InventoryNode {
  return {
    hostname,
    uuid: `uuid-${hostname}`,
    mac: '',
    status: 'UP',
    roles,
    address,
    network: 'dgxnet',
    addresses: [],
    history: [],
    ...(containerdStorageDir
      ? {
          facts: {
            os: { id: 'ubuntu', versionId: '22.04', prettyName: 'DGX OS' },
            kernel: '5.15',
            gpus: [],
            freeGb: { '/var': 6 },
            containerd: { present: false, running: false },
            homeOnNfs: false,
            clockOffsetSeconds: 0,
            containerdStorageDir,
          },
        }
      : {}),
  };
}

const inventory = (nodes: InventoryNode[]): Inventory => ({
  schemaVersion: 1,
  cluster: 'dgx-lab',
  specHash: 'x',
  bcm: { endpoint: 'https://127.0.1.254:8081' },
  nodes,
  history: [],
});

const lab5 = inventory([
  node('cpu-03', '127.0.1.3', ['control_plane', 'etcd']),
  node('cpu-05', '127.0.1.5', ['control_plane', 'etcd']),
  node('cpu-06', '127.0.1.6', ['control_plane', 'etcd']),
  node('dgx-05', '127.0.1.105', ['worker', 'gpu_worker'], '/raid/containerd'),
  node('dgx-06', '127.0.1.106', ['worker', 'gpu_worker'], '/raid/containerd'),
]);

const threePlusN = inventory([
  ...[1, 2, 3].map((i) => node(`cp-0${i}`, `127.0.2.${i}`, ['control_plane', 'etcd'])),
  ...Array.from({ length: 8 }, (_, i) =>
    node(`dgx-${String(i + 1).padStart(2, '0')}`, `127.0.2.${100 + i}`, ['worker', 'gpu_worker'], '/raid/containerd'),
  ),
  node('cpu-worker-01', '127.0.2.50', ['worker']),
]);

function specWith(mutate: (s: ClusterSpec) => void = () => {}): ClusterSpec {
  const s = structuredClone(loadSpecFile('clusters/lab.yaml').spec);
  mutate(s);
  return s;
}

function snapshot(name: string, file: string, text: string): void {
  const path = join('test/fixtures/kubespray', name, file);
  if (process.env.UPDATE_SNAPSHOTS === '1') {
    mkdirSync(join('test/fixtures/kubespray', name), { recursive: true });
    writeFileSync(path, text);
  }
  assert.ok(existsSync(path), `${path} is missing: run with UPDATE_SNAPSHOTS=1 once and review it`);
  assert.equal(text, readFileSync(path, 'utf8'), `${path} differs (UPDATE_SNAPSHOTS=1 to accept a deliberate change)`);
}

async function ansibleInventory(
  hostsYaml: string,
  varsYaml: string,
): Promise<{ groups: Record<string, { hosts?: string[]; children?: string[] }>; hostvars: Record<string, Record<string, unknown>> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-inv-'));
  try {
    mkdirSync(join(dir, 'group_vars/all'), { recursive: true });
    writeFileSync(join(dir, 'hosts.yaml'), hostsYaml);
    writeFileSync(join(dir, 'group_vars/all/bcmkube.yml'), varsYaml);
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\ninterpreter_python = /usr/bin/python3\n[inventory]\nunparsed_is_failed = True\n');
    const { stdout } = await exec('/usr/bin/ansible-inventory', ['-i', join(dir, 'hosts.yaml'), '--list'], {
      cwd: dir,
      env: { ...process.env, ANSIBLE_CONFIG: join(dir, 'ansible.cfg') },
      maxBuffer: 16 << 20,
    });
    const data = JSON.parse(stdout) as Record<string, any>;
    const { _meta, ...groups } = data;
    return { groups, hostvars: _meta.hostvars };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('Kubespray inventory rendering', () => {
  it('five-node lab: matches the snapshot and parses with the real ansible-inventory', async () => {
    const r = renderKubespray(lab5, specWith());
    snapshot('lab5', 'hosts.yaml', r.hostsYaml);
    snapshot('lab5', 'bcmkube.yml', r.allVarsYaml);
    const { groups, hostvars } = await ansibleInventory(r.hostsYaml, r.allVarsYaml);
    assert.deepEqual(groups.kube_control_plane!.hosts, ['cpu-03', 'cpu-05', 'cpu-06']);
    assert.deepEqual(groups.kube_node!.hosts, ['dgx-05', 'dgx-06']);
    assert.deepEqual(groups.etcd!.hosts, ['cpu-03', 'cpu-05', 'cpu-06']);
    assert.deepEqual(groups.k8s_cluster!.children!.sort(), ['kube_control_plane', 'kube_node']);
    assert.ok(groups.all!.children!.includes('calico_rr'), 'calico_rr exists (empty)');
    assert.equal(hostvars['dgx-05']!.containerd_storage_dir, '/raid/containerd', '/var is short on DGX: containerd on /raid');
    assert.equal(hostvars['cpu-03']!.containerd_storage_dir, undefined);
    assert.equal(hostvars['dgx-06']!.access_ip, '127.0.1.106');
    assert.equal(hostvars['cpu-05']!.loadbalancer_apiserver_healthcheck_port, 8082, 'not 8081: BCM CMDaemon holds it');
    assert.equal(hostvars['cpu-05']!.dns_domain, 'cluster.local', 'the cluster name does not leak into the DNS domain');
    assert.equal(hostvars['cpu-05']!.ansible_user, 'ansiblebcm');
    assert.equal(hostvars['cpu-05']!.dns_etchosts, undefined, "the lab's Run:ai domain is localhost: never remapped in the cluster");
  });

  it('3 + N topology with registry mirrors and extra vars: matches the snapshot and parses', async () => {
    const spec = specWith((s) => {
      s.name = 'dgx-prod';
      s.runai.domain = 'runai.prod.example';
      s.mirrors.images = { 'docker.io': ['https://mirror.example.com'] };
      s.kubernetes.extra_vars = { kube_proxy_mode: 'iptables', dns_domain: 'prod.local' };
    });
    const r = renderKubespray(threePlusN, spec);
    snapshot('3plusN', 'hosts.yaml', r.hostsYaml);
    snapshot('3plusN', 'bcmkube.yml', r.allVarsYaml);
    const { groups, hostvars } = await ansibleInventory(r.hostsYaml, r.allVarsYaml);
    assert.equal(groups.kube_node!.hosts!.length, 9);
    assert.equal(hostvars['cp-01']!.kube_proxy_mode, 'iptables', 'extra vars apply last');
    assert.equal(hostvars['cp-01']!.dns_domain, 'prod.local', 'a domain set on purpose is kept');
    assert.equal(
      hostvars['dgx-03']!.dns_etchosts,
      '127.0.2.1 runai.prod.example\n',
      'pods resolve the Run:ai domain to the first control-plane node',
    );
    assert.deepEqual(hostvars['dgx-08']!.containerd_registries_mirrors, [
      { prefix: 'docker.io', mirrors: [{ host: 'https://mirror.example.com', capabilities: ['pull', 'resolve'], skip_verify: false }] },
    ]);
  });
});
