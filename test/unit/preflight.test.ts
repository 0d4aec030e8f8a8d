import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSpecFile } from '../../actions/lib/config/load.ts';
import type { InventoryNode, NodeFacts } from '../../actions/lib/inventory/types.ts';
import { preflight, type ProbeOutcome } from '../../actions/lib/nodes/preflight.ts';
import { parseProbe, probeScript, splitSections } from '../../actions/lib/nodes/probe.ts';

const spec = loadSpecFile('clusters/lab.yaml').spec;
const node = (hostname: string, roles: InventoryNode['roles']): InventoryNode => ({
  hostname,
  uuid: hostname,
  mac: '',
  status: 'UP',
  roles,
  address: '127.0.1.9',
  network: 'dgxnet',
  addresses: [],
  history: [],
});
const facts = (over: Partial<NodeFacts> = {}): NodeFacts => ({
  os: { id: 'ubuntu', versionId: '22.04', prettyName: 'DGX OS' },
  kernel: '5.15',
  gpus: [{ index: 0, name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-1', busId: '0', memoryMiB: 81559, migMode: 'Disabled', computeCap: '9.0' }],
  driverVersion: '580.159.04',
  freeGb: { '/var': 100 },
  containerd: { present: false, running: false },
  homeOnNfs: false,
  clockOffsetSeconds: 0.1,
  serviceUser: { exists: false },
  ...over,
});
const ok = (f: NodeFacts, sudo: 'root' | 'ok' | 'no' = 'root'): ProbeOutcome => ({ ok: true, result: { facts: f, sudo, problems: [] } });

describe('preflight policy', () => {
  it('puts containerd on the data partition when /var is short, and fails when nothing has room', () => {
    const v = preflight(
      [node('dgx-05', ['worker', 'gpu_worker']), node('dgx-06', ['worker', 'gpu_worker'])],
      new Map([
        ['dgx-05', ok(facts({ freeGb: { '/var': 5.8, '/raid': 900 } }))],
        ['dgx-06', ok(facts({ freeGb: { '/var': 5.8, '/raid': 3 } }))],
      ]),
      spec,
      'root',
    );
    assert.equal(v.decisions[0]!.containerdStorageDir, '/raid/containerd');
    assert.equal(v.blocked, true);
    assert.match(v.failures.join('\n'), /dgx-06: containerd needs 10 GB free: \/var 5\.8 GB free, \/raid 3 GB free/);
  });

  it('requires GPUs on GPU workers unless drivers come later; refuses clock skew and no sudo', () => {
    const nodes = [node('dgx-05', ['worker', 'gpu_worker']), node('cpu-03', ['control_plane', 'etcd'])];
    const outcomes = new Map([
      ['dgx-05', ok(facts({ gpus: [] }))],
      ['cpu-03', ok(facts({ gpus: [], clockOffsetSeconds: -3.5 }), 'no')],
    ]);
    const v = preflight(nodes, outcomes, spec, 'ibm');
    assert.match(v.failures.join('\n'), /dgx-05: GPU worker shows no GPU/);
    assert.match(v.failures.join('\n'), /cpu-03: clock is off by -3\.50 s/);
    assert.match(v.failures.join('\n'), /cpu-03: admin user 'ibm' has no passwordless sudo/);
    const later = preflight(nodes.slice(0, 1), outcomes, { ...spec, access: { ...spec.access, gpu_drivers_later: true } }, 'root');
    assert.equal(later.blocked, false);
  });

  it('lets a failing node be skipped only when the spec names it', () => {
    const nodes = [node('cpu-03', ['control_plane']), node('dgx-06', ['worker'])];
    const outcomes = new Map<string, ProbeOutcome>([
      ['cpu-03', ok(facts())],
      ['dgx-06', { ok: false, error: 'connect ECONNREFUSED' }],
    ]);
    assert.equal(preflight(nodes, outcomes, spec, 'root').blocked, true);
    const v = preflight(nodes, outcomes, { ...spec, nodes: { ...spec.nodes, skippable: ['dgx-06'] } }, 'root');
    assert.deepEqual([v.blocked, v.skipped], [false, ['dgx-06']]);
  });

  it('plans only the missing steps for a partly present user', () => {
    const v = preflight(
      [node('cpu-03', ['control_plane'])],
      new Map([['cpu-03', ok(facts({ serviceUser: { exists: true, uid: 60000, gid: 60000, keyInstalled: false, sudoers: true } }))]]),
      spec,
      'root',
    );
    assert.deepEqual(v.decisions[0]!.steps, ['key']);
  });
});

describe('probe output parsing', () => {
  it('reads every section the probe script prints', () => {
    const out = [
      '@@bcmkube:os',
      'PRETTY_NAME="Ubuntu 24.04.3 LTS"',
      'ID=ubuntu',
      'VERSION_ID="24.04"',
      '@@bcmkube:kernel',
      '6.8.0-60-generic',
      '@@bcmkube:bootid',
      'b0b0',
      '@@bcmkube:clock',
      '1000.5',
      '@@bcmkube:sudo',
      'ok',
      '@@bcmkube:gpu',
      '0, NVIDIA H200, GPU-a, 00000000:00:06.0, 143771, 580.159.04, Disabled, 9.0',
      'exit=0',
      '@@bcmkube:df',
      '/var 6000000 /var',
      '/raid 900000000 /raid',
      '/local 100 /',
      '@@bcmkube:containerd',
      'present=yes',
      'running=yes',
      'root=/raid/containerd',
      '@@bcmkube:homefs',
      'nfs',
      '@@bcmkube:user',
      'passwd=ansiblebcm:x:60000:60000::/home/ansiblebcm:/bin/bash',
      'key=yes',
      'sudoers=no',
      'group=ansiblebcm:x:60000:',
      '@@bcmkube:end',
    ].join('\n');
    const r = parseProbe(out, 1000.8);
    assert.deepEqual(r.problems, []);
    assert.equal(r.sudo, 'ok');
    assert.equal(r.facts.os.prettyName, 'Ubuntu 24.04.3 LTS');
    assert.equal(r.facts.gpus[0]!.memoryMiB, 143771);
    assert.deepEqual(r.facts.freeGb, { '/var': 5.7, '/raid': 858.3 });
    assert.deepEqual(r.facts.containerd, { present: true, running: true, root: '/raid/containerd' });
    assert.equal(r.facts.homeOnNfs, true);
    assert.equal(r.facts.clockOffsetSeconds, -0.3);
    assert.deepEqual(r.facts.serviceUser, { exists: true, uid: 60000, gid: 60000, keyInstalled: true, sudoers: false });
  });

  it('reports a probe cut short and an nvidia-smi failure', () => {
    const r = parseProbe("@@bcmkube:gpu\nNVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\nexit=9\n", 0);
    assert.match(r.problems.join('\n'), /did not finish/);
    assert.match(r.problems.join('\n'), /nvidia-smi failed \(exit 9\): NVIDIA-SMI has failed/);
  });

  it('the script quotes what it is given and refuses what it cannot quote safely', () => {
    const s = probeScript({
      serviceUser: 'ansiblebcm',
      servicePublicKey: "ssh-ed25519 AAAAC3Nz comment'; reboot",
      dataPartitions: ['/raid'],
    });
    assert.ok(s.includes("k='ssh-ed25519 AAAAC3Nz'"), 'only type and key material reach the script');
    assert.throws(() => probeScript({ serviceUser: 'x;reboot', dataPartitions: [] }), /not a valid user name/);
    assert.throws(() => probeScript({ serviceUser: 'ok', dataPartitions: ['/raid;rm'] }), /must be an absolute path/);
    assert.equal(splitSections(s).size, 0);
  });
});
