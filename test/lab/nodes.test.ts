// The lab's nodes are real: real sshd with its own host key, real useradd/visudo isolated from the host,
// real reboots and network faults, and nothing left behind after stopNodes.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  defaultLabNodes,
  nftTable,
  nodeExec,
  nodeFault,
  nodeInitPid,
  readRunningNodes,
  startNodes,
  stopNodes,
  syntheticNodes,
  type RunningNode,
} from './nodes.ts';

const exec = promisify(execFile);

function labKey(dir: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lab-test', '-f', join(dir, 'admin')]);
  return readFileSync(join(dir, 'admin.pub'), 'utf8').trim();
}

async function ssh(dir: string, address: string, command: string, timeout = 2): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await exec(
      'ssh',
      [
        '-i',
        join(dir, 'admin'),
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
        '-o',
        'BatchMode=yes',
        '-o',
        `ConnectTimeout=${timeout}`,
        `root@${address}`,
        command,
      ],
      { timeout: 20_000 },
    );
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 255, out: e.stderr ?? '' };
  }
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4]?.startsWith(dir));
}

async function nftTables(): Promise<string> {
  return (await exec('nft', ['list', 'tables'])).stdout;
}

/** Every live process below the given ones (node processes are visible in the host's /proc). */
function descendants(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* exited meanwhile */
    }
  }
  const found: number[] = [];
  const queue = [...roots];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

const ADMIN_PASSWORD = 'Ibm-lab-pw-93';

async function sshWithPassword(dir: string, user: string, address: string, command: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await exec(
      'sshpass',
      [
        '-e',
        'ssh',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
        '-o',
        'PubkeyAuthentication=no',
        '-o',
        'ConnectTimeout=5',
        `${user}@${address}`,
        command,
      ],
      { env: { ...process.env, SSHPASS: ADMIN_PASSWORD }, timeout: 20_000 },
    );
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 255, out: e.stderr ?? '' };
  }
}

describe('lab nodes: five default nodes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-nodes-'));
  const subnet = 21;
  let nodes: RunningNode[] = [];
  before(async () => {
    nodes = await startNodes({
      dir,
      subnet,
      nodes: defaultLabNodes(),
      adminPublicKey: labKey(dir),
      passwordAdmin: { user: 'ibm', password: ADMIN_PASSWORD },
    });
  });
  after(async () => {
    await stopNodes(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('every node answers real ssh with strict host-key checking, under its own hostname', async () => {
    assert.deepEqual(
      nodes.map((n) => `${n.name}@${n.address}`),
      ['cpu-03@127.0.21.3', 'cpu-05@127.0.21.5', 'cpu-06@127.0.21.6', 'dgx-05@127.0.21.105', 'dgx-06@127.0.21.106'],
    );
    for (const n of nodes) assert.equal((await ssh(dir, n.address, 'hostname')).out.trim(), n.name);
    assert.equal(new Set(nodes.map((n) => n.hostKeyFingerprint)).size, 5, 'each node has its own host key');
  });

  it('GPU nodes carry the nvidia-smi stand-in with real H100 values; CPU nodes have none', async () => {
    const gpu = await ssh(
      dir,
      '127.0.21.105',
      'nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader,nounits',
    );
    const lines = gpu.out.trim().split('\n');
    assert.equal(lines.length, 8);
    assert.equal(lines[7], '7, NVIDIA H100 80GB HBM3, 81559, 580.159.04');
    assert.notEqual((await ssh(dir, '127.0.21.3', 'command -v nvidia-smi')).code, 0);
  });

  it('the nvidia-smi stand-in answers -L, -q -x and the summary for all 8 GPUs, and refuses what it does not know', async () => {
    const smi = (...args: string[]) => nodeExec(dir, 'dgx-06', ['nvidia-smi', ...args]);
    const list = (await smi('-L')).stdout.trim().split('\n');
    assert.equal(list.length, 8);
    assert.equal(new Set(list.map((l) => /UUID: (GPU-[0-9a-f-]+)/.exec(l)?.[1])).size, 8, 'distinct UUIDs');
    assert.match(list[0]!, /^GPU 0: NVIDIA H100 80GB HBM3 \(UUID: GPU-/);
    const xml = (await smi('-q', '-x')).stdout;
    assert.match(xml, /<attached_gpus>8<\/attached_gpus>/);
    assert.equal(new Set(xml.match(/<pci_bus_id>[^<]+<\/pci_bus_id>/g)).size, 8, 'distinct bus ids');
    const table = (await smi()).stdout;
    assert.match(table, /Driver Version: 580\.159\.04/);
    assert.equal(table.match(/NVIDIA H100 80GB HBM3/g)?.length, 8);
    const header = (await smi('--query-gpu=index,memory.total,power.draw', '--format=csv,nounits')).stdout.split('\n')[0];
    assert.equal(header, 'index, memory.total [MiB], power.draw [W]');
    const badField = await smi('--query-gpu=bogus_field', '--format=csv');
    assert.equal(badField.code, 2);
    assert.equal(badField.stdout.trim(), 'Field "bogus_field" is not a valid field to query.');
    const badOption = await smi('--frobnicate');
    assert.equal(badOption.code, 2);
    assert.match(badOption.stdout, /Invalid combination of input arguments/);
  });

  it('known_hosts holds every node by hostname as well as by address', async () => {
    const byName = await exec('ssh', [
      '-i',
      join(dir, 'admin'),
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o',
      'BatchMode=yes',
      '-o',
      'HostKeyAlias=dgx-05',
      'root@127.0.21.105',
      'hostname',
    ]);
    assert.equal(byName.stdout.trim(), 'dgx-05');
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-F', 'dgx-05', '-f', join(dir, 'known_hosts')]).toString();
    assert.match(fingerprint, new RegExp(nodes.find((n) => n.name === 'dgx-05')!.hostKeyFingerprint.replace(/[+/]/g, '\\$&')));
  });

  it('a BCM-style password admin logs in with its password and has passwordless sudo; root never by password', async () => {
    const r = await sshWithPassword(dir, 'ibm', '127.0.21.3', 'id -un; sudo -n id -u');
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.out.trim().split('\n'), ['ibm', '0']);
    assert.notEqual((await sshWithPassword(dir, 'root', '127.0.21.3', 'true')).code, 0);
  });

  it('DGX nodes have a small /var and a large /raid, as DGX OS does', async () => {
    const df = (await ssh(dir, '127.0.21.106', 'df -P -k /var /raid')).out
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/));
    assert.equal(df[0]![1], String(6 * 1024 * 1024));
    assert.equal(df[1]![1], String(1000 * 1024 * 1024));
  });

  it('useradd and sudoers inside a node do not touch the host, and survive an in-node reboot', async () => {
    const hostFiles = ['/etc/passwd', '/etc/group', '/etc/shadow'].map((f) => readFileSync(f, 'utf8'));
    const hostSudoers = readdirSync('/etc/sudoers.d');
    const script =
      'groupadd -g 60000 ansiblebcm && useradd -m -u 60000 -g 60000 -s /bin/bash ansiblebcm && echo "ansiblebcm ALL=(ALL) NOPASSWD:ALL" > /tmp/s && visudo -cf /tmp/s && install -m 440 /tmp/s /etc/sudoers.d/ansiblebcm && id -u ansiblebcm';
    const r = await ssh(dir, '127.0.21.5', script);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /60000/);
    assert.deepEqual(
      ['/etc/passwd', '/etc/group', '/etc/shadow'].map((f) => readFileSync(f, 'utf8')),
      hostFiles,
    );
    assert.deepEqual(readdirSync('/etc/sudoers.d'), hostSudoers);
    const bootBefore = (await nodeExec(dir, 'cpu-05', ['cat', '/proc/sys/kernel/random/boot_id'])).stdout;
    const keyBefore = nodes.find((n) => n.name === 'cpu-05')!.hostKeyFingerprint;
    await nodeFault(dir, 'cpu-05', 'reboot');
    const after = await ssh(
      dir,
      '127.0.21.5',
      'id -u ansiblebcm; cat /proc/sys/kernel/random/boot_id; test -f /etc/sudoers.d/ansiblebcm && echo sudoers',
    );
    const [uid, bootAfter, sudoers] = after.out.trim().split('\n');
    assert.equal(uid, '60000');
    assert.equal(sudoers, 'sudoers');
    assert.notEqual(bootAfter, bootBefore.trim(), 'a new boot_id');
    assert.equal((await ssh(dir, '127.0.21.5', 'true')).code, 0, `same host key ${keyBefore} (strict checking passed)`);
  });

  it('starting the same lab again keeps the running nodes and their host keys', async () => {
    const again = await startNodes({ dir, subnet, nodes: defaultLabNodes(), adminPublicKey: readFileSync(join(dir, 'admin.pub'), 'utf8') });
    assert.deepEqual(again, nodes);
    assert.deepEqual(readRunningNodes(dir), nodes);
  });

  it('faults: drop times out, reject refuses, hang stalls the banner; restore brings each back', async () => {
    await nodeFault(dir, 'cpu-06', 'drop');
    assert.match((await ssh(dir, '127.0.21.6', 'true')).out, /timed out/i);
    await nodeFault(dir, 'cpu-06', 'reject');
    assert.match((await ssh(dir, '127.0.21.6', 'true')).out, /refused/i);
    await nodeFault(dir, 'cpu-06', 'restore');
    assert.equal((await ssh(dir, '127.0.21.6', 'true')).code, 0);
    await nodeFault(dir, 'cpu-06', 'hang');
    assert.match((await ssh(dir, '127.0.21.6', 'true')).out, /timed out|banner/i);
    await nodeFault(dir, 'cpu-06', 'restore');
    assert.equal((await ssh(dir, '127.0.21.6', 'true')).code, 0);
    await nodeFault(dir, 'cpu-06', 'poweroff');
    assert.match((await ssh(dir, '127.0.21.6', 'true')).out, /refused/i);
    await nodeFault(dir, 'cpu-06', 'restore');
    assert.equal((await ssh(dir, '127.0.21.6', 'hostname')).out.trim(), 'cpu-06');
  });

  it('real ansible-playbook runs a play against the nodes with host keys checked', async () => {
    const work = join(dir, 'ansible');
    mkdirSync(work);
    writeFileSync(
      join(work, 'ansible.cfg'),
      `[defaults]\nhost_key_checking = True\ninterpreter_python = /usr/bin/python3\nretry_files_enabled = False\n[ssh_connection]\npipelining = True\nssh_args = -o UserKnownHostsFile=${join(dir, 'known_hosts')} -o IdentitiesOnly=yes\n`,
    );
    writeFileSync(
      join(work, 'hosts.ini'),
      `[lab]\n${nodes.map((n) => `${n.name} ansible_host=${n.address}`).join('\n')}\n[lab:vars]\nansible_user=root\nansible_ssh_private_key_file=${join(dir, 'admin')}\n`,
    );
    writeFileSync(
      join(work, 'play.yml'),
      '- hosts: lab\n  gather_facts: false\n  tasks:\n    - command: hostname\n      register: h\n      changed_when: false\n    - assert:\n        that: h.stdout == inventory_hostname\n',
    );
    const { stdout } = await exec('/usr/bin/ansible-playbook', ['-i', 'hosts.ini', 'play.yml'], {
      cwd: work,
      env: { ...process.env, ANSIBLE_CONFIG: join(work, 'ansible.cfg') },
      timeout: 120_000,
    });
    for (const n of nodes) assert.match(stdout, new RegExp(`${n.name}\\s+: ok=2\\s+changed=0\\s+unreachable=0\\s+failed=0`));
  });

  it('stopNodes leaves no process, mount or firewall table', async () => {
    const supervisors = JSON.parse(readFileSync(join(dir, 'nodes.json'), 'utf8')).nodes.map(
      (n: { supervisorPid: number }) => n.supervisorPid,
    ) as number[];
    const inits = nodes.map((n) => nodeInitPid(dir, n.name)).filter((p): p is number => Boolean(p));
    assert.equal(inits.length, 5);
    await nodeFault(dir, 'cpu-03', 'drop');
    await nodeFault(dir, 'cpu-05', 'hang');
    assert.match(await nftTables(), new RegExp(nftTable(subnet)));
    const processes = [...supervisors, ...descendants(supervisors)];
    assert.ok(processes.length >= 3 * 5, 'supervisor, unshare and sshd per node');
    await stopNodes(dir);
    for (const pid of processes) assert.throws(() => process.kill(pid, 0), /ESRCH/, `pid ${pid} is gone`);
    assert.deepEqual(mountsUnder(dir), []);
    assert.doesNotMatch(await nftTables(), new RegExp(nftTable(subnet)));
    await stopNodes(dir);
  });
});

describe('lab nodes: 50 at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-nodes50-'));
  after(async () => {
    await stopNodes(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('50 nodes come up and every one is reachable over ssh', async () => {
    const nodes = await startNodes({ dir, subnet: 22, nodes: syntheticNodes(50, 10), adminPublicKey: labKey(dir) });
    assert.equal(nodes.length, 50);
    const names: string[] = [];
    for (let i = 0; i < nodes.length; i += 10) {
      const batch = await Promise.all(nodes.slice(i, i + 10).map((n) => ssh(dir, n.address, 'hostname', 10)));
      names.push(...batch.map((b) => b.out.trim()));
    }
    assert.deepEqual(
      names,
      nodes.map((n) => n.name),
    );
    assert.equal(nodes.filter((n) => n.gpus === 8).length, 5);
  });
});
