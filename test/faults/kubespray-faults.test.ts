// Fault suite, the kubespray stage on the lab (the real ansible-playbook over real SSH, the named Kubespray
// stand-in): a task failing on one host, a host that lost the service user's sudo, a host unreachable, a host
// whose key changed. Each run must fail naming the host and the cause, run nothing against the cluster (no
// label, no kubectl: the recorded commands do not change), leave the inventory of the last good run byte for
// byte and RUNNER_TEMP empty (key, known_hosts, ansible.cfg removed). The other hosts finish their plays, as
// Kubespray's do; the recap in the summary says so host by host. (Covered in test/lab/kubespray.test.ts: a
// checksum mismatch, a missing confirm, an ansible-core out of range, a node missing after an upgrade.)
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeExec, nodeFault } from '../lab/nodes.ts';
import { startStageLab, type CliRun, type StageLab } from '../lab/stage-fixture.ts';

const SUBNET = 67;
const dir = mkdtempSync(join(tmpdir(), 'kubespray-faults-'));
let stage: StageLab;
let inventoryFile: string;

const onNode = async (node: string, script: string) => (await nodeExec(dir, node, ['sh', '-c', script])).stdout.trim();
const deploy = () => stage.cli('kubespray', '--spec', stage.spec, '--out', stage.out);
const records = async (node: string) =>
  (await onNode(node, 'cat /var/lib/bcmkube-lab/kubespray.jsonl 2>/dev/null')).split('\n').filter(Boolean).length;

/** Failed as it should: exit 1, the messages, no cluster command, inventory and RUNNER_TEMP as before. */
function assertFailed(r: CliRun, before: { inventory: Buffer; commands: number }, ...messages: RegExp[]): void {
  assert.equal(r.code, 1, r.out);
  for (const m of messages) assert.match(r.out, m);
  assert.doesNotMatch(r.out, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
  assert.equal(stage.standinLog().length, before.commands, 'no kubectl or helm command ran against the cluster');
  assert.ok(readFileSync(inventoryFile).equals(before.inventory), 'the inventory of the last good run is untouched');
  assert.deepEqual(readdirSync(join(dir, 'runner-temp')), [], 'RUNNER_TEMP is empty: key, known_hosts, ansible.cfg removed');
  assert.doesNotMatch(r.out, /BEGIN OPENSSH PRIVATE KEY/);
}

const snapshot = () => ({ inventory: readFileSync(inventoryFile), commands: stage.standinLog().length });

describe('kubespray faults on the lab', () => {
  before(async () => {
    stage = await startStageLab({ dir, subnet: SUBNET, through: 'prepare' });
    inventoryFile = join(stage.out, 'inventory.json');
  });
  after(async () => {
    await stage?.close();
  });

  it('a task fails on one host: cluster.yml fails naming the host and the task, the other hosts finish', async () => {
    await onNode('dgx-06', 'mkdir -p /var/lib && rm -rf /var/lib/bcmkube-lab && echo not-a-directory >/var/lib/bcmkube-lab');
    try {
      const before = snapshot();
      const r = await deploy();
      assertFailed(
        r,
        before,
        /error: cluster\.yml failed on dgx-06: Record directory: FAILED!/,
        /cluster\.yml failed on 1 host\(s\)\n {2}- dgx-06: failed=1 unreachable=0 \(Record directory\)/,
        /\| dgx-06 \| \d+ \| \d+ \| 0 \| 1 \| Record directory: FAILED! /,
      );
      assert.deepEqual(
        JSON.parse(r.outputs.recap!)
          .filter((h: { failed: number }) => h.failed)
          .map((h: { host: string }) => h.host),
        ['dgx-06'],
      );
      assert.equal(await records('dgx-05'), 1, 'the other hosts ran their plays');
    } finally {
      await onNode('dgx-06', 'rm -f /var/lib/bcmkube-lab');
    }
  });

  it('a host that lost the service user’s sudo (sudoers gone): named, with sudo’s own words', async () => {
    await onNode('dgx-05', 'mv /etc/sudoers.d/ansiblebcm /root/ansiblebcm.sudoers');
    try {
      const before = snapshot();
      const r = await deploy();
      assertFailed(
        r,
        before,
        /\S+\.yml failed on 1 host\(s\)\n {2}- dgx-05: failed=1 unreachable=0/,
        /dgx-05.*(Missing sudo password|a password is required)/,
      );
    } finally {
      await onNode('dgx-05', 'mv /root/ansiblebcm.sudoers /etc/sudoers.d/ansiblebcm');
    }
  });

  it('a host unreachable (packets dropped): named as unreachable, the others finish', async () => {
    const before = snapshot();
    await nodeFault(dir, 'cpu-05', 'drop');
    try {
      const started = Date.now();
      const r = await deploy();
      assert.ok(Date.now() - started < 120_000, `bounded: ${Math.round((Date.now() - started) / 1000)} s`);
      assertFailed(r, before, /\S+\.yml failed on 1 host\(s\)\n {2}- cpu-05: failed=0 unreachable=1/, /cpu-05.*UNREACHABLE!/);
    } finally {
      await nodeFault(dir, 'cpu-05', 'restore');
    }
  });

  it('a host whose SSH host key changed (re-provisioned): refused by strict checking, named', async () => {
    const key = '/etc/ssh/ssh_host_ed25519_key';
    await onNode(
      'cpu-06',
      `cp ${key} /root/hostkey && cp ${key}.pub /root/hostkey.pub && rm -f ${key} ${key}.pub && ssh-keygen -q -t ed25519 -N '' -f ${key}`,
    );
    await nodeFault(dir, 'cpu-06', 'reboot'); // a re-provisioned node comes back rebooted: no old session survives
    try {
      const before = snapshot();
      const r = await deploy();
      assertFailed(
        r,
        before,
        /\S+\.yml failed on 1 host\(s\)\n {2}- cpu-06: failed=0 unreachable=1/,
        /cpu-06.*UNREACHABLE!.*(REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed)/,
      );
    } finally {
      await onNode('cpu-06', `cp /root/hostkey ${key} && cp /root/hostkey.pub ${key}.pub`);
      await nodeFault(dir, 'cpu-06', 'reboot');
    }
  });

  it("once the faults are gone, the same deploy succeeds and sets Run:ai's node roles on the GPU nodes", async () => {
    const earlier = stage.standinLog().length;
    const r = await deploy();
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(
      stage
        .standinLog()
        .slice(earlier)
        .filter((l: any) => l.tool === 'kubectl' && l.argv.includes('label'))
        .map((l: any) => l.argv[l.argv.indexOf('node') + 1]),
      ['dgx-05', 'dgx-06'],
    );
    assert.deepEqual(readdirSync(join(dir, 'runner-temp')), []);
  });
});
