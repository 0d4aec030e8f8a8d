// The Run:ai REST client against the Run:ai simulator over real TLS: warm-up retried within a deadline, refused
// credentials named, TLS never switched off, expired tokens renewed, the Keycloak fallback, install info lag.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RunaiClient, RunaiUnavailable, type RunaiCluster, type RunaiCredentials } from '../../actions/lib/runai/client.ts';
import { waitUntil, WaitTimeout, type Poll } from '../../actions/lib/runai/wait.ts';
import { StageError } from '../../actions/lib/util/errors.ts';
import { ensureLabCa, issueCert } from './pki.ts';
import { startRunaiSimulator, type RunaiSimOptions } from './runai-sim/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'runai-client-'));
const ca = ensureLabCa(join(dir, 'pki'));
const cert = issueCert(ca, 'runai', ['localhost', '127.0.0.1'], 'server');
const other = ensureLabCa(join(dir, 'other-pki'), 'some other CA');
const ADMIN = 'admin@lab.local';
const PASSWORD = 'Lab-Admin-1!';
const admin: RunaiCredentials = { kind: 'password', username: ADMIN, password: PASSWORD, source: "input 'runai-admin-password'" };

const start = (extra: Partial<RunaiSimOptions> = {}) =>
  startRunaiSimulator({ tls: cert, users: { [ADMIN]: PASSWORD }, apps: { deployer: 'app-secret' }, ...extra });
const clientFor = (url: string, caPem = readFileSync(ca.caCert, 'utf8'), retryForMs = 10_000) =>
  new RunaiClient({ url, ca: caPem, caSource: 'the lab CA', retryForMs });
const statuses = (sim: { requests(): Array<{ method: string; path: string; status: number }> }, path: string) =>
  sim
    .requests()
    .filter((r) => r.path === path)
    .map((r) => r.status);

after(() => rmSync(dir, { recursive: true, force: true }));

describe('Run:ai client', () => {
  it('retries the warm-up 503s until the token is handed out', async () => {
    const sim = await start({ warmupCalls: 3 });
    const c = clientFor(sim.url);
    try {
      const tokens: string[] = [];
      c.onToken = (t) => tokens.push(t);
      await c.login(admin);
      assert.deepEqual(statuses(sim, '/api/v1/token'), [503, 503, 503, 200]);
      assert.equal(tokens.length, 1, 'the token is handed to the caller (to be masked)');
      assert.deepEqual(await c.listClusters(), []);
    } finally {
      c.close();
      await sim.close();
    }
  });

  it('gives up at the deadline with what it last saw', async () => {
    const sim = await start({ warmupCalls: 1000 });
    const c = clientFor(sim.url, undefined, 1200);
    try {
      await assert.rejects(
        c.login(admin),
        (e: Error) =>
          e instanceof RunaiUnavailable &&
          /gave no definite answer to POST \/api\/v1\/token within 1s \(last: 503 Please try again/.test(e.message),
      );
    } finally {
      c.close();
      await sim.close();
    }
  });

  it('names the refused credential: the admin login and where its password comes from, or the application client', async () => {
    const sim = await start();
    const c = clientFor(sim.url);
    try {
      await assert.rejects(
        c.login({ ...admin, password: 'wrong' }),
        /Run:ai refused the admin login of 'admin@lab\.local' \(401 Invalid credentials\): check input 'runai-admin-password'; the admin password is set when the control plane is first installed/,
      );
      await assert.rejects(
        c.login({
          kind: 'client',
          clientId: 'deployer',
          clientSecret: 'nope',
          source: "inputs 'runai-client-id' and 'runai-client-secret'",
        }),
        /Run:ai refused application client 'deployer' \(401 Invalid credentials\): check inputs 'runai-client-id' and 'runai-client-secret'/,
      );
      await c.login({ kind: 'client', clientId: 'deployer', clientSecret: 'app-secret', source: 'x' });
      assert.deepEqual(await c.listClusters(), []);
    } finally {
      c.close();
      await sim.close();
    }
  });

  it('verifies TLS against the given CA and says how to fix a mismatch (never switched off)', async () => {
    const sim = await start();
    const c = new RunaiClient({ url: sim.url, ca: readFileSync(other.caCert, 'utf8'), caSource: 'runai.tls.ca_file (other.pem)' });
    try {
      await assert.rejects(
        c.login(admin),
        (e: Error) =>
          e instanceof StageError &&
          !(e instanceof RunaiUnavailable) &&
          /TLS verification of https:\/\/127\.0\.0\.1:\d+ failed \(\w+\): .*does not chain to runai\.tls\.ca_file \(other\.pem\).*never switched off/.test(
            e.message,
          ),
      );
      assert.deepEqual(statuses(sim, '/api/v1/token'), [], 'no request reached the server');
    } finally {
      c.close();
      await sim.close();
    }
  });

  it('renews an expired token once; a token the API never accepts is explained (issuer with the port)', async () => {
    const sim = await start({ tokenTtlSeconds: 60 });
    const c = clientFor(sim.url);
    try {
      await c.login(admin);
      sim.advanceClock(120);
      assert.deepEqual(await c.listClusters(), []);
      assert.deepEqual(statuses(sim, '/api/v1/clusters'), [401, 200]);
      assert.deepEqual(statuses(sim, '/api/v1/token'), [200, 200]);
    } finally {
      c.close();
      await sim.close();
    }
    const wrongIssuer = await start({ acceptedIssuer: 'https://runai.lab.local/auth/realms/runai' });
    const c2 = clientFor(wrongIssuer.url);
    try {
      await c2.login(admin);
      await assert.rejects(
        c2.listClusters(),
        /refused the token \(401 Issuer is not familiar\.\): .*Keycloak must advertise https:\/\/<domain>:<port>\/auth/,
      );
    } finally {
      c2.close();
      await wrongIssuer.close();
    }
  });

  it("falls back to Keycloak's token endpoint when /api/v1/token does not exist", async () => {
    const sim = await start({ controlToken: 'ctl' });
    sim.setFault({ status: 404, route: '/api/v1/token' });
    const c = clientFor(sim.url);
    try {
      await c.login(admin);
      assert.deepEqual(statuses(sim, '/auth/realms/runai/protocol/openid-connect/token'), [200]);
      sim.setFault(null);
      assert.deepEqual(await c.listClusters(), [], 'the Keycloak token is accepted by the API');
    } finally {
      c.close();
      await sim.close();
    }
  });

  it('clusters: create, a refused create of a taken name (whatever its status) handed back, get; install info not ready while it lags', async () => {
    const sim = await start({ installInfoLagCalls: 2 });
    const c = clientFor(sim.url);
    try {
      await c.login(admin);
      const made = (await c.createCluster({ name: 'dgx', version: '2.21.63', domain: 'localhost' })) as RunaiCluster;
      assert.deepEqual([made.name, made.state], ['dgx', 'WaitingToConnect']);
      assert.deepEqual(await c.createCluster({ name: 'dgx' }), { refused: '409 Resource with this name already exists' });
      for (const duplicateNameStatus of [400, 500]) {
        const other = await start({ duplicateNameStatus });
        const o = clientFor(other.url);
        try {
          await o.login(admin);
          await o.createCluster({ name: 'dgx' });
          assert.deepEqual(await o.createCluster({ name: 'dgx' }), {
            refused: `${duplicateNameStatus} Resource with this name already exists`,
          });
        } finally {
          o.close();
          await other.close();
        }
      }
      assert.deepEqual((await c.getCluster(made.uuid)).uuid, made.uuid);
      const first = await c.installInfo(made.uuid, '2.21.63');
      assert.deepEqual(first.ready, false);
      assert.match((first as { note: string }).note, /503 Please try again/);
      assert.equal((await c.installInfo(made.uuid, '2.21.63')).ready, false);
      const third = await c.installInfo(made.uuid, '2.21.63');
      assert.equal(third.ready, true);
      assert.match(JSON.stringify(third), /--version=\\"2\.21\.63\\"/);
    } finally {
      c.close();
      await sim.close();
    }
  });

  it('a 500 from the control plane is final and names the call; install info that never gets ready ends in a clear timeout', async () => {
    const sim = await start({ installInfoLagCalls: 1_000_000 });
    const c = clientFor(sim.url, undefined, 1000);
    try {
      await c.login(admin);
      const made = (await c.createCluster({ name: 'dgx', version: '2.21.63' })) as RunaiCluster;
      const waited = waitUntil(
        "Run:ai install info for cluster 'dgx'",
        1500,
        async (): Promise<Poll<unknown>> => {
          const r = await c.installInfo(made.uuid, '2.21.63');
          return r.ready ? { done: true, value: r.body } : { done: false, note: r.note };
        },
        { minIntervalMs: 100 },
      );
      await assert.rejects(waited, (err: unknown) => {
        assert.ok(err instanceof WaitTimeout);
        assert.match(err.message, /^Run:ai install info for cluster 'dgx': not done after \d+s \(last: .*503/);
        return true;
      });
      sim.setFault({ status: 500, route: '/api/v1/clusters' });
      await assert.rejects(c.listClusters(), (err: unknown) => {
        assert.ok(err instanceof StageError && !(err instanceof RunaiUnavailable), 'a 500 is not retried as if transient');
        assert.match(err.message, /GET \/api\/v1\/clusters/);
        assert.match(err.message, /500/);
        return true;
      });
      assert.equal(statuses(sim, '/api/v1/clusters').filter((st) => st === 500).length, 1, 'asked once');
    } finally {
      c.close();
      await sim.close();
    }
  });
});
