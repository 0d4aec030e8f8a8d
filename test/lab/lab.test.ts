// The whole lab through the CLI, as a user runs it: up, status, discover with the lab's spec, a fault,
// and down leaving nothing behind. Runs on its own subnet and folder so it never meets the user's lab.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { main } from '../../actions/lib/cli/main.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import { readLabState, type LabState } from './lab.ts';
import { nftTable } from './nodes.ts';

const exec = promisify(execFile);
const SUBNET = 31;
const dir = mkdtempSync(join(tmpdir(), 'lab-e2e-'));

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  const r = new TerminalReporter(() => {});
  const code = await main(argv, r);
  return { code, out: r.lines.join('\n') };
}

function listeners(): string[] {
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[3] === '0A')
    .map((f) => {
      const [hex, port] = f[1]!.split(':');
      const ip = [3, 2, 1, 0].map((i) => parseInt(hex!.slice(i * 2, i * 2 + 2), 16)).join('.');
      return `${ip}:${parseInt(port!, 16)}`;
    });
}

describe('the lab, end to end through the CLI', () => {
  let state: LabState;
  before(async () => {
    const up = await cli('lab', 'up', '--dir', dir, '--subnet', String(SUBNET));
    assert.equal(up.code, 0, up.out);
    state = readLabState(dir)!;
  });
  after(async () => {
    await cli('lab', 'down', '--dir', dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings up the five nodes, BCM, Run:ai and the repository, and says where everything is', async () => {
    assert.deepEqual(
      state.nodes.map((n) => n.name),
      ['cpu-03', 'cpu-05', 'cpu-06', 'dgx-05', 'dgx-06'],
    );
    assert.equal(state.services.bcm.url, `https://127.0.${SUBNET}.254:8081`);
    const status = await cli('lab', 'status', '--dir', dir);
    assert.equal(status.code, 0);
    for (const text of [state.services.runai.url, state.services.repo.url, state.files.knownHosts, 'dgx-06'])
      assert.ok(status.out.includes(text), text);
  });

  it('is idempotent: a second up keeps every process', async () => {
    const before = state.nodes.map((n) => n.supervisorPid);
    assert.equal((await cli('lab', 'up', '--dir', dir, '--subnet', String(SUBNET))).code, 0);
    assert.deepEqual(
      readLabState(dir)!.nodes.map((n) => n.supervisorPid),
      before,
    );
  });

  it("discover-nodes with the lab's spec finds the five nodes at their real addresses", async () => {
    const spec = yaml.load(readFileSync('clusters/lab.yaml', 'utf8')) as Record<string, any>;
    const rel = (p: string) => p.replace('.bcmkube/lab', dir);
    spec.bcm = {
      ...spec.bcm,
      endpoint: state.services.bcm.url,
      password_file: rel(spec.bcm.password_file),
      ca_file: rel(spec.bcm.ca_file),
    };
    const specFile = join(dir, 'lab-spec.yaml');
    writeFileSync(specFile, yaml.dump(spec));
    const r = await cli('discover', '--spec', specFile, '--out-dir', join(dir, 'out'));
    assert.equal(r.code, 0, r.out);
    const inv = JSON.parse(readFileSync(join(dir, 'out/inventory.json'), 'utf8'));
    assert.deepEqual(
      inv.nodes.map((n: { address: string }) => n.address),
      state.nodes.map((n) => n.address),
    );
    for (const n of state.nodes) {
      const { stdout } = await exec('ssh', [
        '-i',
        state.files.adminKey,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${state.files.knownHosts}`,
        '-o',
        'BatchMode=yes',
        `root@${n.address}`,
        'hostname',
      ]);
      assert.equal(stdout.trim(), n.name);
    }
  });

  it('lab fault breaks and restores a node', async () => {
    assert.equal((await cli('lab', 'fault', 'cpu-05', 'reject', '--dir', dir)).code, 0);
    await assert.rejects(
      exec('ssh', [
        '-i',
        state.files.adminKey,
        '-o',
        `UserKnownHostsFile=${state.files.knownHosts}`,
        '-o',
        'BatchMode=yes',
        '-o',
        'ConnectTimeout=3',
        'root@127.0.31.5',
        'true',
      ]),
      /refused/,
    );
    assert.equal((await cli('lab', 'fault', 'cpu-05', 'restore', '--dir', dir)).code, 0);
    assert.equal((await cli('lab', 'fault', 'cpu-99', 'drop', '--dir', dir)).code, 1);
  });

  it('listens only on loopback', () => {
    const ours = listeners().filter((l) => l.startsWith(`127.0.${SUBNET}.`));
    assert.ok(ours.length >= 8, ours.join(' '));
    assert.deepEqual(
      listeners().filter((l) => l.includes(`.${SUBNET}.`) && !l.startsWith('127.')),
      [],
    );
  });

  it('down leaves no process, mount, namespace or firewall table', async () => {
    const pids = [state.services.pid, ...state.nodes.map((n) => n.supervisorPid)];
    assert.equal((await cli('lab', 'down', '--dir', dir)).code, 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.deepEqual(
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(dir)),
      [],
    );
    assert.doesNotMatch((await exec('nft', ['list', 'tables'])).stdout, new RegExp(nftTable(SUBNET)));
    assert.deepEqual(
      listeners().filter((l) => l.startsWith(`127.0.${SUBNET}.`)),
      [],
    );
    const namespaces = (await exec('lsns', ['-n', '-o', 'NS,PID,COMMAND'])).stdout
      .split('\n')
      .filter((l) => pids.some((p) => new RegExp(`\\s${p}\\s`).test(l)));
    assert.deepEqual(namespaces, []);
  });
});
