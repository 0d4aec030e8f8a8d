// Fault suite, discover-nodes: the lab's BCM simulator (real TLS) misbehaving in the ways a head node does —
// refusals that persist after logging in again, 503 storms, resets, a call that hangs half way through
// discovery, malformed JSON and HTML login pages on the calls discover.test.ts does not break. Each run must end
// in one error naming the call and the cause, leave the inventory of the last good run byte for byte, and leave
// nothing under RUNNER_TEMP. (Covered in test/lab/discover.test.ts: one expired session, two 503s then success,
// a slow getNodes, malformed getNodes/getNetworks, a wrong password, a foreign CA.)
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { main } from '../../actions/lib/cli/main.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import { buildBcmFixture } from '../lab/bcm-sim/fixture.ts';
import { startBcmSimulator, type BcmFault, type BcmSimulator } from '../lab/bcm-sim/server.ts';
import { defaultLabNodes } from '../lab/nodes.ts';
import { ensureLabCa, issueCert } from '../lab/pki.ts';

const SUBNET = 65;
const PASSWORD = 'lab-bcm-pw-faults-65';
const dir = mkdtempSync(join(tmpdir(), 'discover-faults-'));
const out = join(dir, 'out');
const runnerTemp = join(dir, 'runner-temp');
const inventoryFile = join(out, 'inventory.json');
let sim: BcmSimulator;
let good: Buffer;
const savedTemp = process.env.RUNNER_TEMP;

function writeSpec(name: string, bcm: Record<string, unknown>): string {
  const s = yaml.load(readFileSync('clusters/lab.yaml', 'utf8')) as Record<string, any>;
  s.bcm = { ...s.bcm, endpoint: sim.url, ca_file: join(dir, 'pki/ca.pem'), password_file: join(dir, 'bcm-password'), ...bcm };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml.dump(s));
  return file;
}

async function discover(spec: string): Promise<{ code: number; out: string; ms: number }> {
  const reporter = new TerminalReporter(() => {});
  const started = Date.now();
  const code = await main(['discover', '--spec', spec, '--out', out], reporter);
  return { code, out: reporter.lines.join('\n'), ms: Date.now() - started };
}

/** The run failed as it should: exit 1, the message matches, nothing written, nothing left in RUNNER_TEMP. */
function assertRefused(r: { code: number; out: string }, message: RegExp): void {
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, message);
  assert.doesNotMatch(r.out, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
  assert.ok(readFileSync(inventoryFile).equals(good), 'the last good inventory is untouched');
  assert.deepEqual(
    readdirSync(out).filter((f) => f.startsWith('inventory')),
    ['inventory.json'],
    'no half-written inventory beside it',
  );
  assert.deepEqual(readdirSync(runnerTemp), [], 'RUNNER_TEMP is empty');
  assert.ok(!r.out.includes(PASSWORD), 'the password is never shown');
}

const requests = (call: string) => sim.requests().filter((q) => q.call === call);

describe('discover-nodes faults (BCM simulator)', () => {
  let spec: string;
  before(async () => {
    const ca = ensureLabCa(join(dir, 'pki'));
    const cert = issueCert(ca, 'bcm', ['127.0.0.1'], 'server');
    writeFileSync(join(dir, 'bcm-password'), PASSWORD, { mode: 0o600 });
    const nodes = defaultLabNodes().map((n) => ({
      hostname: n.name,
      index: n.index,
      productionIp: `127.0.${SUBNET}.${n.index}`,
      category: n.gpus ? 'dgx-h100' : 'cpu-nodes',
    }));
    sim = await startBcmSimulator({
      fixture: buildBcmFixture(nodes, { version: 'bcm11', subnet: SUBNET }),
      tls: { cert: cert.cert, key: cert.key, ca: ca.caCert },
      users: { labadmin: PASSWORD },
    });
    mkdirSync(runnerTemp, { recursive: true });
    process.env.RUNNER_TEMP = runnerTemp;
    spec = writeSpec('spec', { timeout_seconds: 2, retries: 2 });
    const first = await discover(spec);
    assert.equal(first.code, 0, first.out);
    good = readFileSync(inventoryFile);
  });
  beforeEach(() => sim.setFault(null));
  after(async () => {
    process.env.RUNNER_TEMP = savedTemp;
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('BCM 401 on every call, also after logging in again: refused naming the call, with one fresh login and no retry storm', async () => {
    sim.setFault({ kind: 'http-status', status: 401, call: 'getNodes' });
    const logins = sim.requests().filter((q) => q.service === 'login').length;
    const r = await discover(spec);
    assertRefused(r, /BCM refused cmdevice\.getNodes even after logging in again \(HTTP 401\): the user's profile may not allow it/);
    assert.equal(sim.requests().filter((q) => q.service === 'login').length - logins, 2, 'the first login and one more');
  });

  it('a 503 storm: bounded retries with backoff, then an error naming the call and the attempts', async () => {
    sim.setFault({ kind: 'http-status', status: 503 } as BcmFault);
    const before = requests('getVersion').length + requests('getNodes').length;
    const r = await discover(spec);
    assertRefused(r, /cmdevice\.getNodes failed after 3 attempt\(s\): HTTP 503\. Check that the head node is up/);
    assert.equal(requests('getNodes').filter((q) => q.status === 503).length >= 3, true);
    assert.ok(requests('getVersion').length + requests('getNodes').length - before <= 8, 'retries stop at bcm.retries');
    assert.ok(r.ms >= 1400, `backoff between attempts (${r.ms} ms)`);
  });

  it('connection resets on every call: an error naming the call after the retries', async () => {
    sim.setFault({ kind: 'reset', call: 'getNetworks' });
    const r = await discover(spec);
    assertRefused(r, /cmnet\.getNetworks failed after 3 attempt\(s\): .*(socket hang up|ECONNRESET)/);
  });

  it('a call that times out after the node list arrived: the status call is named, nothing half-written', async () => {
    sim.setFault({ kind: 'slow', delayMs: 5000, call: 'getStatusForDevices' });
    const fast = writeSpec('fast', { timeout_seconds: 1, retries: 1 });
    const r = await discover(fast);
    assertRefused(r, /cmstatus\.getStatusForDevices failed after 2 attempt\(s\): no answer within 1s/);
    assert.ok(requests('getNodes').at(-1)!.status === 200, 'the node list had arrived');
  });

  for (const call of ['cmdevice.getCategories', 'cmstatus.getStatusForDevices']) {
    it(`malformed JSON from ${call}: named, after one fresh login`, async () => {
      sim.setFault({ kind: 'malformed-json', call });
      const r = await discover(spec);
      assertRefused(
        r,
        new RegExp(
          `BCM answered ${call.replace('.', '\\.')} with a body that is not JSON \\(\\d+ bytes, starting "\\[\\{.*, also after logging in again`,
        ),
      );
    });
  }

  it('an HTML login page instead of JSON (a proxy or an expired session): named, after one fresh login', async () => {
    sim.setFault({ kind: 'html-login-page', call: 'getNodes' });
    const r = await discover(spec);
    assertRefused(r, /BCM refused cmdevice\.getNodes even after logging in again \(an HTML page instead of JSON/);
  });

  it('a profile that does not allow the call: named with what BCM said', async () => {
    sim.setFault({ kind: 'errormessage', message: 'Profile readonly does not allow access to cmnet.getNetworks', call: 'getNetworks' });
    const r = await discover(spec);
    assertRefused(
      r,
      /BCM refused cmnet\.getNetworks even after logging in again \(Profile readonly does not allow access to cmnet\.getNetworks\)/,
    );
  });

  for (const mode of ['401', 'errormessage'] as const) {
    it(`the login itself refused (${mode}): the user is named, the password never shown`, async () => {
      sim.setFault({ kind: 'login-rejects', mode });
      const r = await discover(spec);
      assertRefused(
        r,
        mode === '401'
          ? /BCM login as 'labadmin' was refused \(HTTP 401\)/
          : /BCM login as 'labadmin' was refused: Invalid username or password/,
      );
    });
  }

  it('after the faults clear, discovery works again and finds the same nodes', async () => {
    const r = await discover(spec);
    assert.equal(r.code, 0, r.out);
    const nodes = (text: Buffer | string) => (JSON.parse(text.toString()) as { nodes: Array<{ hostname: string; address: string }> }).nodes;
    assert.deepEqual(
      nodes(readFileSync(inventoryFile)).map((n) => `${n.hostname}=${n.address}`),
      nodes(good).map((n) => `${n.hostname}=${n.address}`),
    );
  });
});
