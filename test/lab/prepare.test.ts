// prepare-nodes against real lab nodes (real sshd, useradd, visudo, sudo): from zero, converged re-run,
// partial state, UID conflict, unreachable nodes, host-key mismatch, password admin, bad names.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { main } from '../../actions/lib/cli/main.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { startLabCluster, type LabCluster } from './cluster-fixture.ts';
import { defaultLabNodes, nodeExec, nodeFault } from './nodes.ts';

const exec = promisify(execFile);
const SUBNET = 24;
const dir = mkdtempSync(join(tmpdir(), 'prepare-'));
const ADMIN_PW = 'Ibm-prepare-pw-5';
let lab: LabCluster;

async function cli(...argv: string[]) {
  const r = new TerminalReporter(() => {});
  const code = await main(argv, r);
  return { code, out: r.lines.join('\n'), outputs: r.outputs };
}

/** The lab spec with short SSH timeouts, so fault tests end quickly. */
function writeSpec(name: string, mutate: (s: Record<string, any>) => void = () => {}): string {
  return lab.writeSpec(name, (s) => {
    Object.assign(s.access, { connect_timeout_seconds: 3, command_timeout_seconds: 20 });
    mutate(s);
  });
}

const out = join(dir, 'out');
const prepare = (spec: string, ...extra: string[]) => cli('prepare', '--spec', spec, '--out', out, ...extra);
const inventory = () => JSON.parse(readFileSync(join(out, 'inventory.json'), 'utf8')) as Inventory;
const onNode = async (node: string, script: string) => (await nodeExec(dir, node, ['sh', '-c', script])).stdout.trim();
const NODES = ['cpu-03', 'cpu-05', 'cpu-06', 'dgx-05', 'dgx-06'];
const userState = () =>
  Promise.all(
    NODES.map((n) =>
      onNode(
        n,
        'id ansiblebcm 2>/dev/null; stat -c %Y /etc/passwd; test -f /etc/sudoers.d/ansiblebcm && stat -c %a /etc/sudoers.d/ansiblebcm',
      ),
    ),
  );

describe('prepare-nodes on the lab', () => {
  let spec: string;
  before(async () => {
    lab = await startLabCluster({ dir, subnet: SUBNET, nodes: defaultLabNodes(), passwordAdmin: { user: 'ibm', password: ADMIN_PW } });
    spec = writeSpec('spec');
    const d = await cli('discover', '--spec', spec, '--out', out);
    assert.equal(d.code, 0, d.out);
  });
  after(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plan mode probes every node and says what would change, changing nothing', async () => {
    const before = await userState();
    const r = await prepare(spec, '--plan');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\| dgx-05 \| .* \| 8 \| 580\.159\.04 \| 6 \| \/raid\/containerd \| .* \| group, user, key, sudoers \|/);
    assert.match(r.out, /nothing was changed/);
    assert.deepEqual(await userState(), before);
    const inv = inventory();
    assert.equal(inv.nodes.find((n) => n.hostname === 'dgx-05')!.facts!.gpus.length, 8);
    assert.equal(inv.nodes.find((n) => n.hostname === 'dgx-05')!.facts!.containerdStorageDir, '/raid/containerd');
    assert.equal(inv.nodes.find((n) => n.hostname === 'cpu-03')!.facts!.containerdStorageDir, undefined);
  });

  it("without the service user's private key (needed for the login proof) it refuses before changing any node", async () => {
    const before = await userState();
    const noKey = writeSpec('no-service-key', (s) => delete s.access.service_user.private_key_file);
    const r = await prepare(noKey);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /pass the service user's private key as .*service-ssh-key.* to prove the login/);
    assert.deepEqual(await userState(), before, 'no node changed');
  });

  it('from zero: creates the user everywhere, and the user logs in with its key and sudoes', async () => {
    const r = await prepare(spec);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(JSON.parse(r.outputs['changed-nodes']!), NODES);
    for (const n of NODES) {
      assert.equal(
        await onNode(n, 'id -u ansiblebcm; id -g ansiblebcm; getent passwd ansiblebcm | cut -d: -f7; stat -c %a /etc/sudoers.d/ansiblebcm'),
        '60000\n60000\n/bin/bash\n440',
      );
    }
    const { stdout } = await exec('ssh', [
      '-i',
      join(dir, 'keys/service'),
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o',
      'BatchMode=yes',
      `ansiblebcm@127.0.${SUBNET}.105`,
      'sudo -n id -u',
    ]);
    assert.equal(stdout.trim(), '0');
    assert.equal(
      inventory().nodes.every((n) => n.history.at(-1)!.result === 'converged'),
      true,
    );
  });

  it("a second run changes nothing, by its own report and by the nodes' files", async () => {
    const before = await userState();
    const r = await prepare(spec);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(JSON.parse(r.outputs['changed-nodes']!), []);
    assert.deepEqual(await userState(), before);
    assert.ok(inventory().nodes.every((n) => n.history.at(-1)!.result === 'unchanged'));
  });

  it('partial state converges: only the node that lost the user is changed (and a re-image is noticed across discovery)', async () => {
    await onNode('dgx-06', 'userdel -r ansiblebcm; groupdel ansiblebcm 2>/dev/null; rm -f /etc/sudoers.d/ansiblebcm');
    assert.equal((await cli('discover', '--spec', spec, '--out', out)).code, 0);
    assert.equal(inventory().nodes.find((n) => n.hostname === 'dgx-06')!.facts!.serviceUser!.exists, true, 'discovery kept the facts');
    const r = await prepare(spec);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(JSON.parse(r.outputs['changed-nodes']!), ['dgx-06']);
    assert.match(r.out, /dgx-06 .*was here on the last run and is gone: the node was probably re-imaged/);
  });

  it('a UID conflict fails naming the node, and no node is changed', async () => {
    await onNode('dgx-05', 'userdel -r ansiblebcm; rm -f /etc/sudoers.d/ansiblebcm');
    await onNode(
      'cpu-05',
      'userdel -r ansiblebcm; getent group ansiblebcm || groupadd -g 60000 ansiblebcm; useradd -m -u 1234 -g 60000 ansiblebcm',
    );
    const before = await userState();
    const r = await prepare(spec);
    assert.equal(r.code, 1);
    assert.match(r.out, /cpu-05: user 'ansiblebcm' exists with uid 1234 gid 60000, but the spec says uid 60000 gid 60000/);
    assert.match(r.out, /nothing was changed on any node/);
    assert.deepEqual(await userState(), before, 'dgx-05 still lacks the user');
    await onNode('cpu-05', 'userdel -r ansiblebcm');
    assert.equal((await prepare(spec)).code, 0);
  });

  for (const fault of ['drop', 'reject', 'hang'] as const) {
    it(`a node that is unreachable (${fault}) fails the stage, listed, with no node changed`, async () => {
      await onNode('dgx-05', 'userdel -r ansiblebcm; rm -f /etc/sudoers.d/ansiblebcm');
      const before = await userState();
      await nodeFault(dir, 'cpu-06', fault);
      try {
        const r = await prepare(spec);
        assert.equal(r.code, 1);
        assert.match(
          r.out,
          new RegExp(`cpu-06: unreachable at 127\\.0\\.${SUBNET}\\.6: .*(${fault === 'reject' ? 'ECONNREFUSED' : 'Timed out'})`),
        );
        assert.deepEqual(await userState(), before);
      } finally {
        await nodeFault(dir, 'cpu-06', 'restore');
      }
    });
  }

  it('refuses a changed host key, showing both fingerprints', async () => {
    const good = readFileSync(join(dir, 'known_hosts'), 'utf8');
    const other =
      (await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'impostor')])) &&
      readFileSync(join(dir, 'impostor.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(join(dir, 'known_hosts'), good.replace(/^(cpu-03,\S+) .*$/m, `$1 ${other}`));
    try {
      const r = await prepare(spec);
      assert.equal(r.code, 1);
      assert.match(
        r.out,
        /cpu-03: unreachable at .*HOST KEY CHANGED: known_hosts has ssh-ed25519 SHA256:\S+, the node presented SHA256:\S+/,
      );
    } finally {
      writeFileSync(join(dir, 'known_hosts'), good);
    }
  });

  it('host-key policy accept-new records first-contact keys (then strict trusts them); strict without known_hosts is refused', async () => {
    const fresh = join(dir, 'first-contact.known_hosts');
    writeFileSync(fresh, '');
    const firstContact = writeSpec('first', (s) => {
      s.access.known_hosts_file = fresh;
      s.access.host_key_policy = 'accept-new';
    });
    const r = await prepare(firstContact, '--plan');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Recorded 5 new host key\(s\) \(policy accept-new\)/);
    assert.equal(readFileSync(fresh, 'utf8').trim().split('\n').length, 5);
    const strict = writeSpec('strict', (s) => (s.access.known_hosts_file = fresh));
    assert.equal((await prepare(strict, '--plan')).code, 0);
    writeFileSync(fresh, '');
    const refused = await prepare(strict, '--plan');
    assert.equal(refused.code, 2);
    assert.match(refused.out, /no known_hosts was given/);
  });

  it('works with a password-only admin that has passwordless sudo (BCM images)', async () => {
    writeFileSync(join(dir, 'admin-password'), ADMIN_PW);
    const pwSpec = writeSpec('pw', (s) => (s.access.admin = { user: 'ibm', auth: 'password', password_file: join(dir, 'admin-password') }));
    await onNode('dgx-05', 'userdel -r ansiblebcm 2>/dev/null; rm -f /etc/sudoers.d/ansiblebcm; true');
    const lacking = (await Promise.all(NODES.map(async (n) => ((await onNode(n, 'id -u ansiblebcm 2>/dev/null')) ? '' : n)))).filter(
      Boolean,
    );
    const r = await prepare(pwSpec);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(JSON.parse(r.outputs['changed-nodes']!), lacking);
    assert.ok(lacking.includes('dgx-05'));
    assert.ok(!r.out.includes(ADMIN_PW));
  });

  it('rejects a hostname with shell metacharacters before any SSH', async () => {
    const inv = inventory();
    inv.nodes[0]!.hostname = 'cpu-03;reboot';
    writeFileSync(join(dir, 'evil.json'), JSON.stringify(inv));
    const r = await prepare(spec, '--inventory', join(dir, 'evil.json'));
    assert.equal(r.code, 2);
    assert.match(r.out, /'cpu-03;reboot' is not a valid hostname/);
  });
});
