// Fault suite, prepare-nodes on the lab's real nodes: nodes that drop, refuse, hang or reboot in the middle of
// the stage (after the probe, before or during the change), an admin without passwordless sudo, a disk too
// small for containerd, a GPU worker without a working GPU. Each run must end in one error naming the node and
// the cause; a preflight failure changes no node at all; a failure after the probe changes only the nodes the
// message lists, and a re-run converges the rest. The inventory of the last good run stays byte for byte, and
// nothing is left under RUNNER_TEMP. (Covered in test/lab/prepare.test.ts: drop / reject / hung sshd before
// the stage, a changed host key, a UID conflict, a password admin, a hostname with metacharacters.)
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../actions/lib/cli/main.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import { startLabCluster, type LabCluster } from '../lab/cluster-fixture.ts';
import { defaultLabNodes, nodeExec, nodeFault, nodeInitPid, type NodeFault } from '../lab/nodes.ts';

const SUBNET = 66;
const ADMIN_PW = 'Ibm-faults-pw-66';
const NODES = ['cpu-03', 'cpu-05', 'cpu-06', 'dgx-05', 'dgx-06'];
const dir = mkdtempSync(join(tmpdir(), 'prepare-faults-'));
const out = join(dir, 'out');
const runnerTemp = join(dir, 'runner-temp');
const inventoryFile = join(out, 'inventory.json');
const savedTemp = process.env.RUNNER_TEMP;
let lab: LabCluster;
let spec: string;

async function cli(...argv: string[]) {
  const r = new TerminalReporter(() => {});
  const code = await main(argv, r);
  return { code, out: r.lines.join('\n'), outputs: r.outputs };
}
const prepare = (s = spec) => cli('prepare', '--spec', s, '--out', out);
const onNode = async (node: string, script: string) => (await nodeExec(dir, node, ['sh', '-c', script])).stdout.trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a node's files say about the service user (and when /etc/passwd last changed). */
const userState = () =>
  Promise.all(
    NODES.map((n) =>
      onNode(
        n,
        'id ansiblebcm 2>/dev/null; stat -c %Y /etc/passwd /etc/group; ls /etc/sudoers.d; cat /home/ansiblebcm/.ssh/authorized_keys 2>/dev/null',
      ),
    ),
  );
const withUser = async () =>
  (await Promise.all(NODES.map(async (n) => ((await onNode(n, 'id -u ansiblebcm 2>/dev/null')) ? n : '')))).filter(Boolean);
const removeUser = (nodes = NODES) =>
  Promise.all(
    nodes.map((n) =>
      onNode(n, 'userdel -r ansiblebcm 2>/dev/null; groupdel ansiblebcm 2>/dev/null; rm -f /etc/sudoers.d/ansiblebcm; true'),
    ),
  );

/** The stage failed as it should: exit 1, the message, no stack trace, inventory and RUNNER_TEMP as before. */
function assertFailed(r: { code: number; out: string }, inventoryBefore: Buffer, ...messages: RegExp[]): void {
  assert.equal(r.code, 1, r.out);
  for (const m of messages) assert.match(r.out, m);
  assert.doesNotMatch(r.out, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
  assert.ok(readFileSync(inventoryFile).equals(inventoryBefore), 'the inventory of the last good run is untouched');
  assert.deepEqual(readdirSync(runnerTemp), [], 'RUNNER_TEMP is empty');
  assert.ok(!r.out.includes(ADMIN_PW));
}

/** dgx-05's nvidia-smi sleeps (after leaving a mark) so the probe phase lasts long enough to break another node. */
async function slowProbe(node: string, seconds: number): Promise<() => boolean> {
  await onNode(
    node,
    `[ -e /usr/bin/nvidia-smi.real ] || mv /usr/bin/nvidia-smi /usr/bin/nvidia-smi.real; rm -f /tmp/probe-waiting
     printf '#!/bin/sh\\ntouch /tmp/probe-waiting\\nsleep ${seconds}\\nexec /usr/bin/nvidia-smi.real "$@"\\n' >/usr/bin/nvidia-smi; chmod 755 /usr/bin/nvidia-smi`,
  );
  return () => existsSync(`/proc/${nodeInitPid(dir, node)}/root/tmp/probe-waiting`);
}
const fastProbe = (node: string) =>
  onNode(node, 'if [ -e /usr/bin/nvidia-smi.real ]; then mv /usr/bin/nvidia-smi.real /usr/bin/nvidia-smi; fi');

/** Runs prepare and, once every node but dgx-05 has been probed, breaks `node`. */
async function prepareBreakingMidway(node: string, fault: NodeFault) {
  const waiting = await slowProbe('dgx-05', 6);
  try {
    const run = prepare();
    const deadline = Date.now() + 30_000;
    while (!waiting() && Date.now() < deadline) await sleep(50);
    assert.ok(waiting(), 'the probe reached dgx-05');
    await sleep(1000); // the other four probes answered by now
    await nodeFault(dir, node, fault);
    return await run;
  } finally {
    await fastProbe('dgx-05');
  }
}

describe('prepare-nodes faults on the lab', () => {
  let good: Buffer;
  before(async () => {
    lab = await startLabCluster({ dir, subnet: SUBNET, nodes: defaultLabNodes(), passwordAdmin: { user: 'ibm', password: ADMIN_PW } });
    mkdirSync(runnerTemp, { recursive: true });
    process.env.RUNNER_TEMP = runnerTemp;
    spec = lab.writeSpec('spec', (s) => Object.assign(s.access, { connect_timeout_seconds: 3, command_timeout_seconds: 10 }));
    const d = await cli('discover', '--spec', spec, '--out', out);
    assert.equal(d.code, 0, d.out);
    good = readFileSync(inventoryFile);
  });
  after(async () => {
    process.env.RUNNER_TEMP = savedTemp;
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an admin without passwordless sudo on one node: the preflight names it and no node is changed', async () => {
    writeFileSync(join(dir, 'admin-password'), ADMIN_PW);
    const pwSpec = lab.writeSpec('pw', (s) => {
      Object.assign(s.access, { connect_timeout_seconds: 3, command_timeout_seconds: 10 });
      s.access.admin = { user: 'ibm', auth: 'password', password_file: join(dir, 'admin-password') };
    });
    await onNode('cpu-05', "echo 'ibm ALL=(ALL) ALL' >/etc/sudoers.d/lab-admin");
    try {
      const before = await userState();
      const r = await prepare(pwSpec);
      assertFailed(
        r,
        good,
        /preflight failed on 1 node\(s\); nothing was changed on any node/,
        /cpu-05: admin user 'ibm' has no passwordless sudo; grant it \(NOPASSWD\) or use root/,
      );
      assert.deepEqual(await userState(), before, 'no node changed');
      assert.deepEqual(await withUser(), []);
    } finally {
      await onNode('cpu-05', "echo 'ibm ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/lab-admin");
    }
  });

  it('a disk too small for containerd (DGX /var of 6 GB, no data partition there): both DGX named, no node changed', async () => {
    const noRaid = lab.writeSpec('no-raid', (s) => Object.assign(s.access, { connect_timeout_seconds: 3, data_partitions: ['/scratch'] }));
    const before = await userState();
    const r = await prepare(noRaid);
    assertFailed(
      r,
      good,
      /preflight failed on 2 node\(s\)/,
      /dgx-05: containerd needs 10 GB free: \/var [0-9.]+ GB free\. Free space on \/var or a data partition \(\/scratch\), or lower access\.min_containerd_gb/,
      /dgx-06: containerd needs 10 GB free/,
    );
    assert.doesNotMatch(r.out, /cpu-0\d: containerd/);
    assert.deepEqual(await userState(), before);
  });

  it('a GPU worker whose nvidia-smi is gone, and one whose driver does not answer: both named, no node changed', async () => {
    await onNode('dgx-05', 'mv /usr/bin/nvidia-smi /usr/bin/nvidia-smi.off');
    await onNode(
      'dgx-06',
      `mv /usr/bin/nvidia-smi /usr/bin/nvidia-smi.off; printf '#!/bin/sh\\necho "NVIDIA-SMI has failed because it couldn'"'"'t communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."\\nexit 9\\n' >/usr/bin/nvidia-smi; chmod 755 /usr/bin/nvidia-smi`,
    );
    try {
      const before = await userState();
      const r = await prepare();
      assertFailed(
        r,
        good,
        /preflight failed on 2 node\(s\)/,
        /dgx-05: GPU worker shows no GPU \(nvidia-smi absent or empty\); install the driver, or set access\.gpu_drivers_later: true/,
        /dgx-06: nvidia-smi failed \(exit 9\): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/,
      );
      assert.deepEqual(await userState(), before);
    } finally {
      await onNode('dgx-05', 'mv /usr/bin/nvidia-smi.off /usr/bin/nvidia-smi');
      await onNode('dgx-06', 'mv /usr/bin/nvidia-smi.off /usr/bin/nvidia-smi');
    }
  });

  for (const [fault, cause] of [
    ['drop', /cpu-06: 'sh' did not finish within 10s/],
    ['reject', /cpu-06: the SSH connection to 127\.0\.66\.6 was lost \(.+\); did the node reboot or drop off the network\?/],
    ['reboot', /cpu-06: the SSH connection to 127\.0\.66\.6 was lost \(.+\); did the node reboot or drop off the network\?/],
  ] as const) {
    it(`a node that ${fault === 'reboot' ? 'reboots' : `becomes unreachable (${fault})`} after the probe: it is named, only the listed nodes changed, a re-run finishes`, async () => {
      await removeUser();
      try {
        const r = await prepareBreakingMidway('cpu-06', fault);
        assertFailed(
          r,
          good,
          /converging the service user failed on 1 node\(s\) \(changed so far: cpu-03, cpu-05, dgx-05, dgx-06\)/,
          cause,
        );
        assert.deepEqual(await withUser(), ['cpu-03', 'cpu-05', 'dgx-05', 'dgx-06'], 'exactly the nodes the message lists');
      } finally {
        await nodeFault(dir, 'cpu-06', 'restore');
      }
      const again = await prepare();
      assert.equal(again.code, 0, again.out);
      assert.deepEqual(JSON.parse(again.outputs['changed-nodes']!), ['cpu-06']);
      assert.deepEqual(await withUser(), NODES);
      good = readFileSync(inventoryFile);
    });
  }

  it('a node whose sshd hangs after the probe: the change lands on the open session, the login proof names the node', async () => {
    await removeUser();
    try {
      const r = await prepareBreakingMidway('cpu-06', 'hang');
      assertFailed(
        r,
        good,
        /the service user cannot log in and sudo on 1 node\(s\) \(changed this run: cpu-03, cpu-05, cpu-06, dgx-05, dgx-06\)/,
        /cpu-06: cannot connect to 127\.0\.66\.6:22: Timed out while waiting for handshake/,
      );
      assert.deepEqual(await withUser(), NODES, 'exactly the nodes the message lists');
    } finally {
      await nodeFault(dir, 'cpu-06', 'restore');
    }
    const again = await prepare();
    assert.equal(again.code, 0, again.out);
    assert.deepEqual(JSON.parse(again.outputs['changed-nodes']!), [], 'nothing left to do');
  });
});
