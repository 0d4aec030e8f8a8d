// discover-nodes against the lab's BCM simulator over real TLS: both auth modes, BCM 10 and 11 shapes,
// every refusal, the fault switches, and the bundled action.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { main } from '../../actions/lib/cli/main.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { buildBcmFixture, type SimNodeInput } from './bcm-sim/fixture.ts';
import { startBcmSimulator, type BcmSimulator } from './bcm-sim/server.ts';
import { ensureLabCa, issueCert } from './pki.ts';

const SUBNET = 1;
const LAB_NODES: SimNodeInput[] = [
  { hostname: 'cpu-03', index: 3, productionIp: '127.0.1.3', category: 'cpu-nodes' },
  { hostname: 'cpu-05', index: 5, productionIp: '127.0.1.5', category: 'cpu-nodes' },
  { hostname: 'cpu-06', index: 6, productionIp: '127.0.1.6', category: 'cpu-nodes' },
  { hostname: 'dgx-05', index: 105, productionIp: '127.0.1.105', category: 'dgx-h100' },
  { hostname: 'dgx-06', index: 106, productionIp: '127.0.1.106', category: 'dgx-h100' },
];
const PASSWORD = 'lab-Pa55word-canary-7731';

const dir = mkdtempSync(join(tmpdir(), 'discover-'));
const ca = ensureLabCa(join(dir, 'pki'));
const server = issueCert(ca, 'bcm', ['127.0.0.1', 'localhost'], 'server');
const client = issueCert(ca, 'client', ['admin'], 'client');
const otherCa = ensureLabCa(join(dir, 'other-pki'), 'some other CA');
const passwordFile = join(dir, 'bcm-password');
writeFileSync(passwordFile, PASSWORD, { mode: 0o600 });

const sims: BcmSimulator[] = [];
async function simulator(version: 'bcm10' | 'bcm11', nodes = LAB_NODES): Promise<BcmSimulator> {
  const sim = await startBcmSimulator({
    fixture: buildBcmFixture(nodes, { version, subnet: SUBNET }),
    tls: { cert: server.cert, key: server.key, ca: ca.caCert },
    users: { labadmin: PASSWORD },
  });
  sims.push(sim);
  return sim;
}

let specCount = 0;
function writeSpec(sim: BcmSimulator, mutate: (s: Record<string, any>) => void = () => {}): { spec: string; out: string } {
  const s = yaml.load(readFileSync('clusters/lab.yaml', 'utf8')) as Record<string, any>;
  s.bcm = { ...s.bcm, endpoint: sim.url, ca_file: ca.caCert, password_file: passwordFile, timeout_seconds: 5, retries: 3 };
  mutate(s);
  const file = join(dir, `spec-${++specCount}.yaml`);
  writeFileSync(file, yaml.dump(s));
  return { spec: file, out: join(dir, `out-${specCount}`) };
}

async function discover(...argv: string[]): Promise<{ code: number; out: string; reporter: TerminalReporter }> {
  const reporter = new TerminalReporter(() => {});
  const code = await main(['discover', ...argv], reporter);
  return { code, out: reporter.lines.join('\n'), reporter };
}

const readInv = (out: string) => JSON.parse(readFileSync(join(out, 'inventory.json'), 'utf8')) as Inventory;

describe('discover-nodes against the BCM simulator', () => {
  let bcm11: BcmSimulator;
  before(async () => {
    bcm11 = await simulator('bcm11');
  });
  after(async () => {
    await Promise.all(sims.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('login mode, BCM 11 shaped like the capture: the five lab nodes on internalnet (management: true), no allow_management', async () => {
    const { spec, out } = writeSpec(bcm11);
    assert.equal((yaml.load(readFileSync(spec, 'utf8')) as Record<string, any>).network.allow_management, undefined);
    const r = await discover('--spec', spec, '--out-dir', out);
    assert.equal(r.code, 0, r.out);
    const inv = readInv(out);
    assert.deepEqual(
      inv.nodes.map((n) => `${n.hostname}=${n.address}`),
      ['cpu-03=127.0.1.3', 'cpu-05=127.0.1.5', 'cpu-06=127.0.1.6', 'dgx-05=127.0.1.105', 'dgx-06=127.0.1.106'],
    );
    assert.deepEqual(inv.nodes.find((n) => n.hostname === 'dgx-05')!.roles, ['worker', 'gpu_worker']);
    assert.deepEqual(inv.nodes.find((n) => n.hostname === 'cpu-03')!.roles, ['control_plane', 'etcd']);
    assert.ok(inv.nodes.every((n) => n.status === 'UP' && n.network === 'internalnet' && /^[0-9A-F:]{17}$/.test(n.mac)));
    assert.equal(inv.bcm.version, '11.0');
    assert.match(r.out, /\| dgx-06 \| worker, gpu_worker \| 127\.0\.1\.106 \| internalnet \| UP \|/);
    assert.equal(r.reporter.outputs['node-count'], '5');
    assert.equal(r.reporter.outputs['control-plane'], '["cpu-03","cpu-05","cpu-06"]');
    assert.ok(!readFileSync(join(out, 'inventory.json'), 'utf8').includes(PASSWORD));
    assert.ok(!r.out.includes(PASSWORD));
  });

  it("a re-discovery reports, in the stage's report, the nodes added, removed and changed since the last one", async () => {
    const { spec, out } = writeSpec(bcm11, (s) => (s.nodes.workers = ['dgx-*']));
    assert.equal((await discover('--spec', spec, '--out-dir', out)).code, 0);
    const first = JSON.parse(readFileSync(join(out, 'report/discover-nodes.json'), 'utf8'));
    assert.deepEqual([first.changes, first.inventoryChanges], [null, undefined], 'a first discovery has nothing to compare with');
    // BCM now: dgx-06 gone, dgx-07 new, dgx-05 moved to another address
    const moved = await simulator('bcm11', [
      ...LAB_NODES.filter((n) => n.hostname !== 'dgx-06').map((n) => (n.hostname === 'dgx-05' ? { ...n, productionIp: '127.0.1.115' } : n)),
      { hostname: 'dgx-07', index: 107, productionIp: '127.0.1.107', category: 'dgx-h100' },
    ]);
    const again = writeSpec(moved, (s) => (s.nodes.workers = ['dgx-*']));
    const r = await discover('--spec', again.spec, '--out-dir', out);
    assert.equal(r.code, 0, r.out);
    const facts = JSON.parse(readFileSync(join(out, 'report/discover-nodes.json'), 'utf8'));
    assert.equal(facts.changes, true);
    assert.deepEqual(
      facts.inventoryChanges.map((c: { hostname: string; change: string; detail: string }) => `${c.change} ${c.hostname}: ${c.detail}`),
      [
        'changed dgx-05: address 127.0.1.105 → 127.0.1.115',
        'removed dgx-06: was worker, gpu_worker',
        'added dgx-07: worker, gpu_worker at 127.0.1.107',
      ],
    );
    assert.match(readFileSync(join(out, 'report/discover-nodes.md'), 'utf8'), /dgx-07/);
    const historyOf = (name: string) =>
      readInv(out)
        .nodes.find((n) => n.hostname === name)!
        .history.map((h) => h.result);
    assert.deepEqual(historyOf('dgx-05'), ['discovered', 'changed: address 127.0.1.105 → 127.0.1.115']);
    const nodesBefore = JSON.stringify(readInv(out).nodes);
    assert.equal((await discover('--spec', again.spec, '--out-dir', out)).code, 0);
    const quiet = JSON.parse(readFileSync(join(out, 'report/discover-nodes.json'), 'utf8'));
    assert.deepEqual([quiet.changes, quiet.inventoryChanges], [false, []]);
    assert.equal(JSON.stringify(readInv(out).nodes), nodesBefore, 'an unchanged node keeps its record and history as they were');
    assert.equal(readInv(out).history.length, 3, 'the run itself is recorded once');
  });

  it('client-certificate mode, BCM 10 shapes', async () => {
    const sim = await simulator('bcm10');
    const { spec, out } = writeSpec(sim, (s) => {
      s.bcm = { ...s.bcm, auth: 'client-cert', client_cert_file: client.cert, client_key_file: client.key };
      delete s.bcm.password_file;
      delete s.bcm.username;
    });
    const r = await discover('--spec', spec, '--out-dir', out);
    assert.equal(r.code, 0, r.out);
    assert.equal(readInv(out).nodes.length, 5);
    assert.equal(readInv(out).bcm.version, '10.0');
    assert.ok(
      sim.requests().every((q) => q.authenticated === 'cert'),
      'no login call in certificate mode',
    );
  });

  it('refuses, all at once, a missing node, a DOWN node and an INSTALLING node; writes nothing', async () => {
    const sim = await simulator('bcm11');
    sim.setNodeStatus('dgx-06', 'DOWN');
    sim.setNodeStatus('cpu-05', 'INSTALLING');
    const { spec, out } = writeSpec(sim, (s) => (s.nodes.control_plane = ['cpu-03', 'cpu-5', 'cpu-05']));
    const r = await discover('--spec', spec, '--out-dir', out);
    assert.equal(r.code, 1);
    assert.match(r.out, /found 3 problem\(s\); no inventory was written/);
    assert.match(r.out, /nodes\.control_plane\[1\]: node 'cpu-5' is not in BCM \(did you mean cpu-05/);
    assert.match(r.out, /dgx-06: BCM reports it DOWN \(accepted: UP\)/);
    assert.match(r.out, /cpu-05: BCM reports it INSTALLING/);
    assert.equal(existsSync(join(out, 'inventory.json')), false);
  });

  it('a site whose nodes are reached on a separate production network selects them there by name or CIDR', async () => {
    const sim = await startBcmSimulator({
      fixture: buildBcmFixture(LAB_NODES, { version: 'bcm11', subnet: SUBNET, networks: 'production' }),
      tls: { cert: server.cert, key: server.key, ca: ca.caCert },
      users: { labadmin: PASSWORD },
    });
    sims.push(sim);
    for (const node_network of [{ name: 'dgxnet' }, { cidr: '127.0.1.0/24' }]) {
      const { spec, out } = writeSpec(sim, (s) => (s.network.node_network = node_network));
      const r = await discover('--spec', spec, '--out-dir', out);
      assert.equal(r.code, 0, r.out);
      assert.deepEqual(
        readInv(out).nodes.map((n) => `${n.hostname}=${n.address} ${n.network}`),
        LAB_NODES.map((n) => `${n.hostname}=${n.productionIp} dgxnet`),
      );
    }
  });

  it('accepts a listed status when the spec allows it', async () => {
    const sim = await simulator('bcm11');
    sim.setNodeStatus('dgx-06', 'DOWN');
    const { spec, out } = writeSpec(sim, (s) => (s.nodes.allowed_status = ['UP', 'DOWN']));
    const r = await discover('--spec', spec, '--out', out);
    assert.equal(r.code, 0, r.out);
    assert.equal(readInv(out).nodes.find((n) => n.hostname === 'dgx-06')!.status, 'DOWN');
  });

  it('refuses the BMC network by name, and a control plane that matches no node', async () => {
    const { spec, out } = writeSpec(bcm11, (s) => (s.network.node_network = { name: 'ipminet' }));
    const r = await discover('--spec', spec, '--out-dir', out);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /network\.node_network\.name: 'ipminet' is BCM's BMC \(out-of-band\) network: it holds only BMC interfaces \(ipmi0 of /,
    );
    assert.equal(existsSync(join(out, 'inventory.json')), false);
    const empty = writeSpec(bcm11, (s) => (s.nodes.control_plane = ['login-*']));
    const e = await discover('--spec', empty.spec, '--out-dir', empty.out);
    assert.equal(e.code, 1);
    assert.match(e.out, /nodes\.control_plane\[0\]: 'login-\*' matches no BCM node/);
  });

  it('logs in again once when the session expired (401), then succeeds', async () => {
    const sim = await simulator('bcm11');
    const { spec, out } = writeSpec(sim);
    assert.equal((await discover('--spec', spec, '--out-dir', out)).code, 0);
    sim.expireSessions();
    const before = sim.requests().filter((q) => q.service === 'login').length;
    assert.equal((await discover('--spec', spec, '--out-dir', out)).code, 0);
    assert.ok(sim.requests().filter((q) => q.service === 'login').length > before);
  });

  it('retries 503 twice, then succeeds', async () => {
    const sim = await simulator('bcm11');
    sim.setFault({ kind: 'http-status', status: 503, times: 2, call: 'getNodes' });
    const { spec, out } = writeSpec(sim);
    const r = await discover('--spec', spec, '--out-dir', out);
    assert.equal(r.code, 0, r.out);
    assert.equal(sim.requests().filter((q) => q.call === 'getNodes' && q.status === 503).length, 2);
  });

  it('a slow head node gives a clear timeout error', async () => {
    const sim = await simulator('bcm11');
    sim.setFault({ kind: 'slow', delayMs: 3000, call: 'getNodes' });
    const { spec, out } = writeSpec(sim, (s) => Object.assign(s.bcm, { timeout_seconds: 1, retries: 1 }));
    const r = await discover('--spec', spec, '--out-dir', out);
    assert.equal(r.code, 1);
    assert.match(r.out, /cmdevice\.getNodes failed after 2 attempt\(s\): no answer within 1s/);
    assert.match(r.out, /raise bcm\.timeout_seconds/);
  });

  it('malformed JSON gives a clear error naming the call, for whole and streamed answers', async () => {
    for (const [call, service] of [
      ['getNetworks', 'cmnet'],
      ['getNodes', 'cmdevice'],
    ] as const) {
      const sim = await simulator('bcm11');
      sim.setFault({ kind: 'malformed-json', call });
      const { spec, out } = writeSpec(sim);
      const r = await discover('--spec', spec, '--out-dir', out);
      assert.equal(r.code, 1);
      assert.match(r.out, new RegExp(`BCM answered ${service}\\.${call} with a body that is not JSON \\(\\d+ bytes, starting "\\[\\{`));
    }
  });

  it('a wrong password is refused with the user named and the secret never shown', async () => {
    const wrong = join(dir, 'wrong-password');
    writeFileSync(wrong, 'not-the-password-123');
    const { spec, out } = writeSpec(bcm11, (s) => (s.bcm.password_file = wrong));
    const r = await discover('--spec', spec, '--out-dir', out);
    assert.equal(r.code, 1);
    assert.match(r.out, /BCM login as 'labadmin' was refused/);
    assert.ok(!r.out.includes('not-the-password-123'));
  });

  it('verifies TLS: another CA is refused with a hint; insecure works and warns', async () => {
    const { spec, out } = writeSpec(bcm11, (s) => (s.bcm.ca_file = otherCa.caCert));
    const r = await discover('--spec', spec, '--out-dir', out);
    assert.equal(r.code, 1);
    assert.match(r.out, /TLS: BCM's certificate for 127\.0\.0\.1 does not chain to the CA given \(\w+\): point bcm\.ca_file/);
    const insecure = await discover('--spec', spec, '--out-dir', out, '--insecure', 'true');
    assert.equal(insecure.code, 0, insecure.out);
    assert.match(insecure.out, /TLS verification of the BCM head node is OFF/);
  });

  it('a certificate naming the head node but not its IP: the error names the name check and bcm.tls_server_name, which fixes it', async () => {
    const named = issueCert(ca, 'bcm-head-only', ['bcm-head-01'], 'server');
    const sim = await startBcmSimulator({
      fixture: buildBcmFixture(LAB_NODES, { version: 'bcm11', subnet: SUBNET }),
      tls: { cert: named.cert, key: named.key, ca: ca.caCert },
      users: { labadmin: PASSWORD },
    });
    sims.push(sim);
    const byIp = writeSpec(sim);
    const r = await discover('--spec', byIp.spec, '--out-dir', byIp.out);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /TLS: BCM's certificate is from a trusted CA but does not name 127\.0\.0\.1 \(it names DNS:bcm-head-01\): set bcm\.tls_server_name to the head node name it carries/,
    );
    assert.doesNotMatch(r.out, /point bcm\.ca_file/);
    const fixed = writeSpec(sim, (s) => (s.bcm.tls_server_name = 'bcm-head-01'));
    const ok = await discover('--spec', fixed.spec, '--out-dir', fixed.out);
    assert.equal(ok.code, 0, ok.out);
    assert.equal(readInv(fixed.out).nodes.length, 5);
    const wrong = writeSpec(sim, (s) => (s.bcm.tls_server_name = 'bcm-head-02'));
    const w = await discover('--spec', wrong.spec, '--out-dir', wrong.out);
    assert.match(
      w.out,
      /does not name 'bcm-head-02' \(it names DNS:bcm-head-01\): set bcm\.tls_server_name to a name the certificate carries/,
    );
  });

  it('the bundled action writes the inventory, outputs and summary, and masks the password', async () => {
    const { spec, out } = writeSpec(bcm11, (s) => delete s.bcm.password_file);
    const outputFile = join(dir, 'gh-output');
    const summaryFile = join(dir, 'gh-summary');
    writeFileSync(outputFile, '');
    writeFileSync(summaryFile, '');
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INPUT_')));
    // async: the simulator runs in this process and must keep answering while the bundle runs
    const r = await promisify(execFile)(process.execPath, ['dist/discover-nodes/index.js'], {
      encoding: 'utf8',
      env: {
        ...clean,
        GITHUB_OUTPUT: outputFile,
        GITHUB_STEP_SUMMARY: summaryFile,
        INPUT_SPEC: spec,
        'INPUT_OUT-DIR': out,
        'INPUT_BCM-PASSWORD': PASSWORD,
      },
    });
    const outputs = readFileSync(outputFile, 'utf8');
    assert.match(outputs, /node-count<<ghadelimiter_[^\n]+\n5\n/);
    assert.match(outputs, /workers<<ghadelimiter_[^\n]+\n\["dgx-05","dgx-06"\]\n/);
    assert.deepEqual(
      readInv(out).nodes.map((n) => n.address),
      ['127.0.1.3', '127.0.1.5', '127.0.1.6', '127.0.1.105', '127.0.1.106'],
    );
    const summary = readFileSync(summaryFile, 'utf8');
    assert.match(summary, /\| hostname \| roles \| address \| network \| status \| category \| MAC \|/);
    assert.match(r.stdout, new RegExp(`::add-mask::`));
    for (const text of [outputs, summary, r.stdout.replace(/::add-mask::.*\n/g, ''), readFileSync(join(out, 'inventory.json'), 'utf8')])
      assert.ok(!text.includes(PASSWORD));
  });
});
