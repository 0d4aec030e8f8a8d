// The Run:ai control-plane simulator answers as reference/runai.md documents the 2.21 API, over real TLS:
// what a Phase-2 client sees (tokens, clusters, install info, Connected) and the switches tests rely on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureLabCa, issueCert } from './pki.ts';
import { startRunaiSimulator, type RunaiSimOptions, type RunaiSimulator } from './runai-sim/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'runai-sim-'));
const ca = ensureLabCa(join(dir, 'pki'));
const serverCert = issueCert(ca, 'runai', ['runai.lab.local', '127.0.0.1'], 'server');
const caPem = readFileSync(ca.caCert);
const ADMIN = 'admin@lab.local';
const PASSWORD = 'Lab-Secret-1!';

interface Reply {
  status: number;
  type: string | undefined;
  text: string;
  json: any; // replies are checked field by field
}

function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, ca: caPem, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text, json });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

const start = (extra: Partial<RunaiSimOptions> = {}) =>
  startRunaiSimulator({ tls: { cert: serverCert.cert, key: serverCert.key }, users: { [ADMIN]: PASSWORD }, ...extra });

async function passwordToken(base: string, username = ADMIN, password = PASSWORD): Promise<string> {
  const r = await call(base, 'POST', '/api/v1/token', { grantType: 'password', clientID: 'cli', username, password });
  assert.equal(r.status, 200, r.text);
  return r.json.accessToken as string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** `--set k=v` pairs and `--version` of an installationStr, parsed the way a careful client would. */
function parseInstallation(s: string): { sets: Record<string, string>; version: string | undefined } {
  const sets = Object.fromEntries([...s.matchAll(/--set ([\w.]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  return { sets, version: /--version="([^"]+)"/.exec(s)?.[1] };
}

after(() => rmSync(dir, { recursive: true, force: true }));

describe('Run:ai simulator: auth', () => {
  let sim: RunaiSimulator;
  before(async () => {
    sim = await start({ apps: { deployer: 'app-secret' }, readOnlyUsers: ['viewer@lab.local'] });
  });
  after(() => sim.close());

  it('issues JWT access tokens for the password, client_credentials and app_token grants (TokenRequest field names)', async () => {
    const grants = [
      { grantType: 'password', clientID: 'cli', username: ADMIN, password: PASSWORD },
      { grantType: 'password', username: ADMIN, password: PASSWORD },
      { grantType: 'client_credentials', clientID: 'deployer', clientSecret: 'app-secret' },
      { grantType: 'app_token', appID: 'deployer', appSecret: 'app-secret' },
    ];
    for (const body of grants) {
      const r = await call(sim.url, 'POST', '/api/v1/token', body);
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.equal(r.type, 'application/json');
      assert.match(r.json.accessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      assert.equal(typeof r.json.refreshToken, 'string');
      const claims = JSON.parse(Buffer.from(r.json.accessToken.split('.')[1], 'base64url').toString());
      assert.equal(claims.iss, `${sim.url}/auth/realms/runai`);
      assert.ok(claims.exp > Date.now() / 1000);
      assert.equal((await call(sim.url, 'GET', '/api/v1/clusters', undefined, bearer(r.json.accessToken))).status, 200);
    }
  });

  it('answers 401 "Invalid credentials" to a wrong password or secret, 400 to a malformed request', async () => {
    for (const body of [
      { grantType: 'password', clientID: 'cli', username: ADMIN, password: 'wrong' },
      { grantType: 'password', username: 'nobody@lab.local', password: PASSWORD },
      { grantType: 'client_credentials', clientID: 'deployer', clientSecret: 'wrong' },
    ]) {
      const r = await call(sim.url, 'POST', '/api/v1/token', body);
      assert.deepEqual([r.status, r.json], [401, { code: 401, message: 'Invalid credentials' }]);
    }
    for (const body of [
      { username: ADMIN, password: PASSWORD },
      { grantType: 'refresh_token' },
      { grantType: 'password', username: ADMIN },
      { grantType: 'client_credentials', clientId: 'deployer', clientSecret: 'app-secret' },
      'not json',
    ]) {
      const r = await call(sim.url, 'POST', '/api/v1/token', body);
      assert.deepEqual([r.status, r.json], [400, { code: 400, message: 'Required parameter is missing' }]);
    }
  });

  it('refuses /api/v1 calls without a valid bearer token (401) and forged tokens alike', async () => {
    const token = await passwordToken(sim.url);
    const [head, payload] = token.split('.');
    for (const headers of [{}, { authorization: 'Basic abc' }, bearer('garbage'), bearer(`${head}.${payload}.forgedsignature`)]) {
      const r = await call(sim.url, 'GET', '/api/v1/clusters', undefined, headers);
      assert.deepEqual([r.status, r.json], [401, { code: 401, message: 'Unauthorized' }]);
    }
  });

  it('rejects a token once it expires on the simulator clock', async () => {
    const token = await passwordToken(sim.url);
    sim.advanceClock(3601);
    assert.equal((await call(sim.url, 'GET', '/api/v1/clusters', undefined, bearer(token))).status, 401);
    assert.equal((await call(sim.url, 'GET', '/api/v1/clusters', undefined, bearer(await passwordToken(sim.url)))).status, 200);
  });

  it('lets a read-only user list clusters but not create them (403)', async () => {
    const ro = await start({ users: { 'viewer@lab.local': 'View-1!' }, readOnlyUsers: ['viewer@lab.local'] });
    try {
      const token = await passwordToken(ro.url, 'viewer@lab.local', 'View-1!');
      assert.equal((await call(ro.url, 'GET', '/api/v1/clusters', undefined, bearer(token))).status, 200);
      const r = await call(ro.url, 'POST', '/api/v1/clusters', { name: 'x' }, bearer(token));
      assert.deepEqual([r.status, r.json], [403, { code: 403, message: 'You do not have sufficient permissions.' }]);
    } finally {
      await ro.close();
    }
  });

  it('serves the Keycloak password grant (form-encoded) as a fallback, with Keycloak error shapes', async () => {
    const form = (fields: Record<string, string>) =>
      call(sim.url, 'POST', '/auth/realms/runai/protocol/openid-connect/token', new URLSearchParams(fields).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
      });
    const ok = await form({ grant_type: 'password', client_id: 'runai', username: ADMIN, password: PASSWORD, scope: 'openid' });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.token_type, 'Bearer');
    assert.equal((await call(sim.url, 'GET', '/api/v1/clusters', undefined, bearer(ok.json.access_token))).status, 200);
    const wrong = await form({ grant_type: 'password', client_id: 'runai', username: ADMIN, password: 'x' });
    assert.deepEqual([wrong.status, wrong.json.error], [401, 'invalid_grant']);
    const client = await form({ grant_type: 'password', client_id: 'runai-cli', username: ADMIN, password: PASSWORD });
    assert.deepEqual([client.status, client.json.error], [401, 'invalid_client']);
    const missing = await form({ client_id: 'runai', username: ADMIN, password: PASSWORD });
    assert.deepEqual([missing.status, missing.json.error], [400, 'invalid_request']);
  });

  it('has no legacy /v1/k8s routes, with or without a token', async () => {
    const token = await passwordToken(sim.url);
    for (const path of ['/v1/k8s/clusters', '/v1/k8s/clusters/9f55255e-11ed-47c7-acef-fc4054768dbc/installfile?cloud=op']) {
      assert.equal((await call(sim.url, 'GET', path, undefined, bearer(token))).status, 404);
      assert.equal((await call(sim.url, 'POST', path, { name: 'x' })).status, 404);
    }
  });
});

describe('Run:ai simulator: issuer', () => {
  it('advertises the configured issuer and refuses tokens whose issuer the API does not accept', async () => {
    const sim = await start({
      issuer: 'https://runai.lab.local:30443/auth/realms/runai',
      acceptedIssuer: 'https://runai.lab.local/auth/realms/runai',
    });
    try {
      const oidc = await call(sim.url, 'GET', '/auth/realms/runai/.well-known/openid-configuration');
      assert.equal(oidc.status, 200);
      assert.equal(oidc.json.issuer, 'https://runai.lab.local:30443/auth/realms/runai');
      assert.equal(oidc.json.token_endpoint, `${sim.url}/auth/realms/runai/protocol/openid-connect/token`);
      const r = await call(sim.url, 'GET', '/api/v1/clusters', undefined, bearer(await passwordToken(sim.url)));
      assert.deepEqual([r.status, r.json], [401, { code: 401, message: 'Issuer is not familiar.' }]);
    } finally {
      await sim.close();
    }
  });
});

describe('Run:ai simulator: clusters', () => {
  let sim: RunaiSimulator;
  let auth: Record<string, string>;
  let uuid: string;
  before(async () => {
    sim = await start({ installInfoLagCalls: 2, controlToken: 'ctl-token' });
    auth = bearer(await passwordToken(sim.url));
  });
  after(() => sim.close());

  it('lists no clusters on a fresh control plane', async () => {
    const r = await call(sim.url, 'GET', '/api/v1/clusters', undefined, auth);
    assert.deepEqual([r.status, r.json], [200, []]);
  });

  it('creates a cluster (201, WaitingToConnect, no secret), refuses a duplicate name (409) and unknown fields (400)', async () => {
    const created = await call(sim.url, 'POST', '/api/v1/clusters', { name: 'dgx-lab', version: '2.21', domain: 'runai.lab.local' }, auth);
    assert.equal(created.status, 201);
    assert.match(created.json.uuid, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { ...created.json, uuid: 'u', createdAt: 'c' },
      {
        uuid: 'u',
        createdAt: 'c',
        tenantId: 1001,
        name: 'dgx-lab',
        version: '2.21',
        domain: 'runai.lab.local',
        status: { state: 'WaitingToConnect' },
        updatedAt: null,
        lastLiveness: null,
      },
    );
    uuid = created.json.uuid;
    const dup = await call(sim.url, 'POST', '/api/v1/clusters', { name: 'dgx-lab' }, auth);
    assert.deepEqual([dup.status, dup.json], [409, { code: 409, message: 'Resource with this name already exists' }]);
    for (const body of [{ name: 'x', description: 'rejected' }, { name: '' }, {}]) {
      const bad = await call(sim.url, 'POST', '/api/v1/clusters', body, auth);
      assert.deepEqual([bad.status, bad.json], [400, { code: 400, message: 'Bad request - Resource should have a name' }]);
    }
    const list = await call(sim.url, 'GET', '/api/v1/clusters?verbosity=full', undefined, auth);
    assert.deepEqual(
      list.json.map((c: { name: string }) => c.name),
      ['dgx-lab'],
    );
  });

  it('gets a cluster by uuid; 404 for an unknown uuid, 400 for a malformed one', async () => {
    const got = await call(sim.url, 'GET', `/api/v1/clusters/${uuid}`, undefined, auth);
    assert.deepEqual([got.status, got.json.name], [200, 'dgx-lab']);
    const unknown = await call(sim.url, 'GET', '/api/v1/clusters/9f55255e-11ed-47c7-acef-fc4054768dbc', undefined, auth);
    assert.deepEqual([unknown.status, unknown.json], [404, { code: 404, message: 'Resource id not found.' }]);
    assert.equal((await call(sim.url, 'GET', '/api/v1/clusters/not-a-uuid', undefined, auth)).status, 400);
  });

  it('answers install info with 503 while not ready, then the helm command with the client secret', async () => {
    const base = `/api/v1/clusters/${uuid}/cluster-install-info`;
    assert.equal((await call(sim.url, 'GET', base, undefined, auth)).status, 400);
    const statuses = [];
    for (let i = 0; i < 2; i++) statuses.push((await call(sim.url, 'GET', `${base}?version=2.21`, undefined, auth)).status);
    assert.deepEqual(statuses, [503, 503]);
    const info = await call(sim.url, 'GET', `${base}?version=2.21`, undefined, auth);
    assert.equal(info.status, 200);
    assert.equal(info.json.repositoryName, 'runai');
    assert.equal(info.json.chartRepoURL, 'https://runai.jfrog.io/artifactory/api/helm/run-ai-charts');
    assert.match(info.json.clientSecret, /^[A-Za-z0-9_-]{32}$/);
    assert.match(info.json.installationStr, /^helm repo add runai https:\/\/runai\.jfrog\.io\/artifactory\/api\/helm\/run-ai-charts/);
    assert.deepEqual(parseInstallation(info.json.installationStr), {
      sets: {
        'controlPlane.url': new URL(sim.url).hostname,
        'controlPlane.clientSecret': info.json.clientSecret,
        'cluster.uid': uuid,
        'cluster.url': 'runai.lab.local',
      },
      version: '2.21.63',
    });
    const exact = await call(sim.url, 'GET', `${base}?version=2.21.30&remoteClusterUrl=https://gpu.lab.local:8443`, undefined, auth);
    assert.deepEqual(
      [parseInstallation(exact.json.installationStr).version, parseInstallation(exact.json.installationStr).sets['cluster.url']],
      ['2.21.30', 'gpu.lab.local'],
    );
    assert.equal(exact.json.clientSecret, info.json.clientSecret);
  });

  it('turns Connected through the token-protected control route, with liveness and conditions', async () => {
    const path = `/__sim/clusters/${uuid}/state`;
    assert.equal((await call(sim.url, 'POST', path, { state: 'Connected' })).status, 403);
    assert.equal((await call(sim.url, 'POST', path, { state: 'Connected' }, { 'x-sim-token': 'wrong' })).status, 403);
    assert.equal((await call(sim.url, 'POST', path, { state: 'Bogus' }, { 'x-sim-token': 'ctl-token' })).status, 400);
    assert.equal((await call(sim.url, 'POST', path, { state: 'Connected' }, { 'x-sim-token': 'ctl-token' })).status, 200);
    const c = (await call(sim.url, 'GET', `/api/v1/clusters/${uuid}`, undefined, auth)).json;
    assert.equal(c.status.state, 'Connected');
    assert.notEqual(c.lastLiveness, null);
    assert.equal(c.version, '2.21.30');
    assert.deepEqual(
      c.status.conditions.map((x: { type: string; status: string }) => [x.type, x.status]),
      [['Available', 'True']],
    );
    sim.setClusterState(uuid, 'Disconnected');
    assert.equal((await call(sim.url, 'GET', `/api/v1/clusters/${uuid}`, undefined, auth)).json.status.state, 'Disconnected');
  });

  it('fails requests on demand (setFault), for a route and a number of times', async () => {
    sim.setFault({ status: 500, times: 2, route: '/api/v1/clusters' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(sim.url, 'GET', '/api/v1/clusters', undefined, auth)).status);
    assert.deepEqual(statuses, [500, 500, 200]);
    const viaHttp = await call(sim.url, 'POST', '/__sim/fault', { status: 503, times: 1 }, { 'x-sim-token': 'ctl-token' });
    assert.equal(viaHttp.status, 200);
    const r = await call(sim.url, 'POST', '/api/v1/token', { grantType: 'password', username: ADMIN, password: PASSWORD });
    assert.deepEqual([r.status, r.json], [503, { code: 503, message: 'Please try again in few minutes.' }]);
  });

  it('hides clusters from the next N lists (a create by someone else in between), and blanks install secrets on demand', async () => {
    sim.hideClustersFromList(1);
    assert.deepEqual((await call(sim.url, 'GET', '/api/v1/clusters', undefined, auth)).json, []);
    assert.equal((await call(sim.url, 'POST', '/api/v1/clusters', { name: 'dgx-lab' }, auth)).status, 409);
    assert.equal((await call(sim.url, 'GET', '/api/v1/clusters', undefined, auth)).json.length, 1);
    sim.blankInstallSecrets(true);
    const blank = await call(sim.url, 'GET', `/api/v1/clusters/${uuid}/cluster-install-info?version=2.21`, undefined, auth);
    assert.equal(blank.json.clientSecret, '');
    assert.equal(parseInstallation(blank.json.installationStr).sets['controlPlane.clientSecret'], undefined);
    assert.match(blank.json.installationStr, /--set controlPlane\.clientSecret= \\/);
    sim.blankInstallSecrets(false);
    const back = await call(sim.url, 'GET', `/api/v1/clusters/${uuid}/cluster-install-info?version=2.21`, undefined, auth);
    assert.match(back.json.clientSecret, /^[A-Za-z0-9_-]{32}$/);
  });

  it('deletes: 202 graceful, 204 forced, 404 unknown', async () => {
    const a = (await call(sim.url, 'POST', '/api/v1/clusters', { name: 'to-delete' }, auth)).json.uuid;
    const del = await call(sim.url, 'DELETE', `/api/v1/clusters/${a}`, undefined, auth);
    assert.deepEqual([del.status, del.json], [202, { code: 202, message: 'Request has been accepted.' }]);
    assert.equal((await call(sim.url, 'GET', `/api/v1/clusters/${a}`, undefined, auth)).status, 404);
    const b = (await call(sim.url, 'POST', '/api/v1/clusters', { name: 'to-force' }, auth)).json.uuid;
    assert.equal((await call(sim.url, 'DELETE', `/api/v1/clusters/${b}?force=true`, undefined, auth)).status, 204);
    assert.equal((await call(sim.url, 'DELETE', `/api/v1/clusters/${b}`, undefined, auth)).status, 404);
    assert.deepEqual(
      sim.clusters().map((c) => c.name),
      ['dgx-lab'],
    );
  });

  it('logs requests without passwords, tokens or client secrets', async () => {
    const log = sim.requests();
    assert.ok(log.some((e) => e.path === '/api/v1/token' && e.status === 200));
    assert.ok(log.some((e) => e.path.endsWith('/cluster-install-info') && e.query.version === '2.21' && e.status === 503));
    const text = JSON.stringify(log);
    assert.ok(!text.includes(PASSWORD));
    assert.ok(!text.includes(auth.authorization!.slice(7)));
    const secret = (await call(sim.url, 'GET', `/api/v1/clusters/${uuid}/cluster-install-info?version=2.21`, undefined, auth)).json
      .clientSecret;
    assert.ok(!JSON.stringify(sim.requests()).includes(secret));
  });
});

describe('Run:ai simulator: timing switches', () => {
  it('connects a cluster by itself on the configured poll after its install info was read', async () => {
    const sim = await start({ autoConnectAfterPolls: 2 });
    try {
      const auth = bearer(await passwordToken(sim.url));
      const { uuid } = (await call(sim.url, 'POST', '/api/v1/clusters', { name: 'auto' }, auth)).json;
      const poll = async () => (await call(sim.url, 'GET', `/api/v1/clusters/${uuid}`, undefined, auth)).json.status.state;
      const before = [await poll(), await poll()];
      await call(sim.url, 'GET', `/api/v1/clusters/${uuid}/cluster-install-info?version=2.21`, undefined, auth);
      assert.deepEqual([...before, await poll(), await poll()], ['WaitingToConnect', 'WaitingToConnect', 'WaitingToConnect', 'Connected']);
    } finally {
      await sim.close();
    }
  });

  it('answers 503 to every route while warming up, then serves', async () => {
    const sim = await start({ warmupCalls: 2 });
    try {
      const oidc = await call(sim.url, 'GET', '/auth/realms/runai/.well-known/openid-configuration');
      assert.deepEqual([oidc.status, oidc.json], [503, { code: 503, message: 'Please try again in few minutes.' }]);
      const body = { grantType: 'password', username: ADMIN, password: PASSWORD };
      assert.equal((await call(sim.url, 'POST', '/api/v1/token', body)).status, 503);
      assert.equal((await call(sim.url, 'POST', '/api/v1/token', body)).status, 200);
    } finally {
      await sim.close();
    }
    const byTime = await start({ warmupSeconds: 600 });
    try {
      assert.equal((await call(byTime.url, 'GET', '/auth/realms/runai/.well-known/openid-configuration')).status, 503);
      byTime.advanceClock(600);
      assert.equal((await call(byTime.url, 'GET', '/auth/realms/runai/.well-known/openid-configuration')).status, 200);
    } finally {
      await byTime.close();
    }
  });
});

describe('Run:ai simulator daemon', () => {
  it('prints its url, serves with secrets read from files, and stops on SIGTERM', async () => {
    writeFileSync(join(dir, 'admin-password'), `${PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'control-token'), 'daemon-ctl\n', { mode: 0o600 });
    const config = {
      tls: { cert: 'pki/runai.pem', key: 'pki/runai.key' },
      passwordFiles: { [ADMIN]: 'admin-password' },
      controlTokenFile: 'control-token',
      installInfoLagCalls: 1,
    };
    writeFileSync(join(dir, 'runai-sim.json'), JSON.stringify(config));
    const child = spawn('bash', ['scripts/node24.sh', 'test/lab/runai-sim/main.ts', '--config', join(dir, 'runai-sim.json')], {
      cwd: join(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout.on('data', (c) => {
          out += c;
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.stderr.on('data', (c) => (err += c));
        child.on('exit', (code) => reject(new Error(`daemon exited ${code}: ${err}`)));
      });
      const { url } = JSON.parse(firstLine) as { url: string };
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const auth = bearer(await passwordToken(url));
      const { uuid } = (await call(url, 'POST', '/api/v1/clusters', { name: 'daemon' }, auth)).json;
      assert.equal((await call(url, 'GET', `/api/v1/clusters/${uuid}/cluster-install-info?version=2.21`, undefined, auth)).status, 503);
      assert.equal(
        (await call(url, 'POST', `/__sim/clusters/${uuid}/state`, { state: 'Connected' }, { 'x-sim-token': 'daemon-ctl' })).status,
        200,
      );
      assert.equal((await call(url, 'GET', `/api/v1/clusters/${uuid}`, undefined, auth)).json.status.state, 'Connected');
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
