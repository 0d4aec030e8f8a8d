// The simulators answer in the shapes the reference documents (bcm-api.md, runai.md), over real TLS.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBcmFixture } from './bcm-sim/fixture.ts';
import { startBcmSimulator, type BcmSimulator } from './bcm-sim/server.ts';
import { ensureLabCa, issueCert } from './pki.ts';
import { startRunaiSimulator, type RunaiSimulator } from './runai-sim/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'sims-'));
const ca = ensureLabCa(join(dir, 'pki'));
const serverCert = issueCert(ca, 'server', ['127.0.0.1'], 'server');
const clientCert = issueCert(ca, 'client', ['admin'], 'client');
const strangerCa = ensureLabCa(join(dir, 'stranger'), 'stranger CA');
const strangerCert = issueCert(strangerCa, 'client', ['intruder'], 'client');

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  cert?: { cert: string; key: string },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      {
        method,
        ca: readFileSync(ca.caCert),
        headers: { 'content-type': 'application/json', ...headers },
        ...(cert ? { cert: readFileSync(cert.cert), key: readFileSync(cert.key) } : {}),
      },
      (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

const nodes = [
  { hostname: 'dgx-05', index: 105, productionIp: '127.0.1.105', category: 'dgx-h100' },
  { hostname: 'cpu-03', index: 3, productionIp: '127.0.1.3', category: 'cpu-nodes' },
];

describe('BCM simulator', () => {
  let bcm11: BcmSimulator;
  let bcm10: BcmSimulator;
  before(async () => {
    const tls = { cert: serverCert.cert, key: serverCert.key, ca: ca.caCert };
    bcm11 = await startBcmSimulator({ fixture: buildBcmFixture(nodes, { version: 'bcm11', subnet: 1 }), tls, users: { admin: 'pw' } });
    bcm10 = await startBcmSimulator({ fixture: buildBcmFixture(nodes, { version: 'bcm10', subnet: 1 }), tls, users: { admin: 'pw' } });
  });
  after(async () => {
    await Promise.all([bcm11.close(), bcm10.close()]);
  });

  const login = async (sim: BcmSimulator) => {
    const r = await call(sim.url, 'POST', '/json', { service: 'login', username: 'admin', password: 'pw' });
    return String(r.headers['set-cookie']).split(';')[0]!;
  };

  it('logs in with a cookie; a bad password gets false and no cookie', async () => {
    const ok = await call(bcm11.url, 'POST', '/json', { service: 'login', username: 'admin', password: 'pw' });
    assert.equal(ok.body, 'true');
    assert.match(String(ok.headers['set-cookie']), /^cm-login-token=[A-Za-z0-9_-]{32}; Path=\/; Secure; HttpOnly$/);
    const bad = await call(bcm11.url, 'POST', '/json', { service: 'login', username: 'admin', password: 'nope' });
    assert.equal(bad.body, 'false');
    assert.equal(bad.headers['set-cookie'], undefined);
  });

  it('requires the cookie (attributes tolerated) or a CA-signed client certificate', async () => {
    assert.equal((await call(bcm11.url, 'POST', '/json', { service: 'cmdevice', call: 'getNodes' })).status, 401);
    const cookie = await login(bcm11);
    const withAttrs = await call(
      bcm11.url,
      'POST',
      '/json',
      { service: 'cmdevice', call: 'getNodes' },
      { cookie: `${cookie}; Path=/; Secure; HttpOnly` },
    );
    assert.equal(withAttrs.status, 200);
    assert.equal((await call(bcm11.url, 'POST', '/json', { service: 'cmmain', call: 'ping' }, {}, clientCert)).body, 'true');
    assert.equal((await call(bcm11.url, 'POST', '/json', { service: 'cmmain', call: 'ping' }, {}, strangerCert)).status, 401);
  });

  it('answers 400 to an unknown call and to invalid JSON; getNode takes arg or args and answers null', async () => {
    const cookie = await login(bcm11);
    assert.equal((await call(bcm11.url, 'POST', '/json', { service: 'cmdevice', call: 'getNodez' }, { cookie })).status, 400);
    assert.equal((await call(bcm11.url, 'POST', '/json', '{nope', { cookie })).status, 400);
    assert.equal(
      JSON.parse((await call(bcm11.url, 'POST', '/json', { service: 'cmdevice', call: 'getNode', arg: 'dgx-05' }, { cookie })).body)
        .hostname,
      'dgx-05',
    );
    assert.equal(
      JSON.parse((await call(bcm11.url, 'POST', '/json', { service: 'cmdevice', call: 'getNode', args: ['master'] }, { cookie })).body)
        .childType,
      'HeadNode',
    );
    assert.equal(
      (await call(bcm11.url, 'POST', '/json', { service: 'cmdevice', call: 'getNode', args: ['nope'] }, { cookie })).body,
      'null',
    );
  });

  it('serves nodes with BOOTIF, ipmi0 and the production interface; statuses aligned with null for unknown', async () => {
    const cookie = await login(bcm11);
    const all = JSON.parse((await call(bcm11.url, 'POST', '/json', { service: 'cmdevice', call: 'getNodes' }, { cookie })).body) as Array<
      Record<string, any>
    >;
    const head = all.find((n) => n.childType === 'HeadNode')!;
    assert.equal('category' in head, false, 'head node has no category key');
    const dgx = all.find((n) => n.hostname === 'dgx-05')!;
    assert.deepEqual(
      dgx.interfaces.map((i: { name: string }) => i.name),
      ['BOOTIF', 'ipmi0', 'ens1f0np0'],
    );
    assert.equal(dgx.provisioningInterface, dgx.interfaces[0].uuid);
    assert.equal(dgx.interfaces[2].ip, '127.0.1.105');
    const st = JSON.parse(
      (
        await call(
          bcm11.url,
          'POST',
          '/json',
          { service: 'cmstatus', call: 'getStatusForDevices', args: [[dgx.uuid, 'unknown']] },
          { cookie },
        )
      ).body,
    );
    assert.equal(st[0].status, 'UP');
    assert.equal(st[1], null);
    const devices = JSON.parse(
      (await call(bcm11.url, 'POST', '/json', { service: 'cmdevice', call: 'getDevices' }, { cookie })).body,
    ) as Array<{ childType: string }>;
    assert.ok(devices.some((d) => d.childType === 'Switch'));
  });

  it('differs between BCM 10 and 11 where the reference says so', async () => {
    const get = async (sim: BcmSimulator) => {
      const cookie = await login(sim);
      const ns = JSON.parse((await call(sim.url, 'POST', '/json', { service: 'cmdevice', call: 'getNodes' }, { cookie })).body) as Array<
        Record<string, any>
      >;
      const version = JSON.parse((await call(sim.url, 'POST', '/json', { service: 'cmmain', call: 'getVersion' }, { cookie })).body);
      return { node: ns.find((n) => n.hostname === 'dgx-05')!, version };
    };
    const v11 = await get(bcm11);
    const v10 = await get(bcm10);
    assert.equal(v11.version.cmVersion, '11.0');
    assert.equal(v10.version.cmVersion, '10.0');
    assert.ok('rackPosition' in v11.node && !('rack' in v11.node));
    assert.ok('rack' in v10.node && !('rackPosition' in v10.node));
    assert.ok('authenticationService' in v11.node && !('authenticationService' in v10.node));
    assert.equal(v11.node.interfaces[0].cardtype, '');
    assert.equal(v10.node.interfaces[0].cardtype, 'Ethernet');
    assert.equal(v11.node.interfaces[1].mac, '00:00:00:00:00:00');
    assert.equal('mac' in v10.node.interfaces[1], false);
    assert.ok('bootable' in v11.node.interfaces[0] && !('bootable' in v10.node.interfaces[0]));
  });
});

describe('BCM simulator control endpoint (for tests that drive the lab daemon)', () => {
  it("needs the control token, then flips a node's status and the faults", async () => {
    const sim = await startBcmSimulator({
      fixture: buildBcmFixture(nodes, { version: 'bcm11', subnet: 1 }),
      tls: { cert: serverCert.cert, key: serverCert.key, ca: ca.caCert },
      users: { admin: 'pw' },
      controlToken: 'tok',
    });
    try {
      assert.equal(
        (await call(sim.url, 'POST', '/_sim/control', { nodeStatus: { hostname: 'dgx-05', status: 'DOWN' } }, { 'x-sim-token': 'nope' }))
          .status,
        403,
      );
      assert.equal(
        (await call(sim.url, 'POST', '/_sim/control', { nodeStatus: { hostname: 'dgx-05', status: 'DOWN' } }, { 'x-sim-token': 'tok' }))
          .status,
        200,
      );
      const dgx = JSON.parse(
        (await call(sim.url, 'POST', '/json', { service: 'cmdevice', call: 'getNode', arg: 'dgx-05' }, {}, clientCert)).body,
      );
      const st = JSON.parse(
        (await call(sim.url, 'POST', '/json', { service: 'cmstatus', call: 'getStatusForDevices', args: [[dgx.uuid]] }, {}, clientCert))
          .body,
      );
      assert.equal(st[0].status, 'DOWN');
      await call(sim.url, 'POST', '/_sim/control', { fault: { kind: 'http-status', status: 502 } }, { 'x-sim-token': 'tok' });
      assert.equal((await call(sim.url, 'POST', '/json', { service: 'cmmain', call: 'ping' }, {}, clientCert)).status, 502);
    } finally {
      await sim.close();
    }
  });
});

describe('Run:ai simulator', () => {
  let runai: RunaiSimulator;
  before(async () => {
    runai = await startRunaiSimulator({
      tls: { cert: serverCert.cert, key: serverCert.key },
      users: { 'admin@lab.local': 'Secret-1' },
      apps: { deployer: 'app-secret' },
      installInfoLagCalls: 2,
      controlToken: 'ctl',
    });
  });
  after(async () => {
    await runai.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const token = async () =>
    JSON.parse(
      (
        await call(runai.url, 'POST', '/api/v1/token', {
          grantType: 'password',
          clientID: 'cli',
          username: 'admin@lab.local',
          password: 'Secret-1',
        })
      ).body,
    ).accessToken as string;

  it('issues tokens for the password and client-credentials grants; refuses wrong ones with 401', async () => {
    assert.ok((await token()).length > 20);
    const app = await call(runai.url, 'POST', '/api/v1/token', {
      grantType: 'client_credentials',
      clientId: 'deployer',
      clientSecret: 'app-secret',
    });
    assert.equal(app.status, 200);
    const wrong = await call(runai.url, 'POST', '/api/v1/token', { grantType: 'password', username: 'admin@lab.local', password: 'x' });
    assert.deepEqual([wrong.status, JSON.parse(wrong.body)], [401, { code: 401, message: 'Invalid credentials' }]);
    assert.equal((await call(runai.url, 'POST', '/api/v1/token', { username: 'a' })).status, 400);
  });

  it('requires a bearer token and has no legacy /v1/k8s routes', async () => {
    assert.deepEqual(JSON.parse((await call(runai.url, 'GET', '/api/v1/clusters')).body), { code: 401, message: 'Unauthorized' });
    assert.equal((await call(runai.url, 'GET', '/v1/k8s/clusters', undefined, { authorization: `Bearer ${await token()}` })).status, 404);
  });

  it('creates a cluster (201), refuses a duplicate (409) and unknown fields (400), lists it', async () => {
    const auth = { authorization: `Bearer ${await token()}` };
    const created = await call(runai.url, 'POST', '/api/v1/clusters', { name: 'dgx-lab', version: '2.21' }, auth);
    assert.equal(created.status, 201);
    const c = JSON.parse(created.body);
    assert.equal(c.status.state, 'WaitingToConnect');
    assert.equal('clientSecret' in c, false);
    assert.equal((await call(runai.url, 'POST', '/api/v1/clusters', { name: 'dgx-lab' }, auth)).status, 409);
    assert.equal((await call(runai.url, 'POST', '/api/v1/clusters', { name: 'x', description: 'no' }, auth)).status, 400);
    assert.deepEqual(
      JSON.parse((await call(runai.url, 'GET', '/api/v1/clusters', undefined, auth)).body).map((x: { name: string }) => x.name),
      ['dgx-lab'],
    );
  });

  it('lags install info (503) before giving the client secret; turns Connected when told', async () => {
    const auth = { authorization: `Bearer ${await token()}` };
    const c = JSON.parse((await call(runai.url, 'GET', '/api/v1/clusters', undefined, auth)).body)[0];
    const path = `/api/v1/clusters/${c.uuid}/cluster-install-info?version=2.21`;
    assert.equal((await call(runai.url, 'GET', `/api/v1/clusters/${c.uuid}/cluster-install-info`, undefined, auth)).status, 400);
    assert.equal((await call(runai.url, 'GET', path, undefined, auth)).status, 503);
    assert.equal((await call(runai.url, 'GET', path, undefined, auth)).status, 503);
    const info = JSON.parse((await call(runai.url, 'GET', path, undefined, auth)).body);
    assert.match(info.clientSecret, /^[A-Za-z0-9_-]{32}$/);
    assert.match(info.installationStr, new RegExp(`--set cluster.uid=${c.uuid}`));
    assert.match(info.installationStr, /--version="2\.21\.63"/);
    assert.equal(
      (await call(runai.url, 'POST', `/__sim/clusters/${c.uuid}/state`, { state: 'Connected' }, { 'x-sim-token': 'wrong' })).status,
      403,
    );
    assert.equal(
      (await call(runai.url, 'POST', `/__sim/clusters/${c.uuid}/state`, { state: 'Connected' }, { 'x-sim-token': 'ctl' })).status,
      200,
    );
    const now = JSON.parse((await call(runai.url, 'GET', `/api/v1/clusters/${c.uuid}`, undefined, auth)).body);
    assert.equal(now.status.state, 'Connected');
    assert.notEqual(now.lastLiveness, null);
    assert.equal((await call(runai.url, 'GET', '/api/v1/clusters/not-a-uuid', undefined, auth)).status, 400);
    assert.equal((await call(runai.url, 'GET', '/api/v1/clusters/9f55255e-11ed-47c7-acef-fc4054768dbc', undefined, auth)).status, 404);
  });

  it('connects by itself after the configured polls', async () => {
    const auto = await startRunaiSimulator({
      tls: { cert: serverCert.cert, key: serverCert.key },
      users: { a: 'b' },
      autoConnectAfterPolls: 2,
    });
    try {
      const t = JSON.parse(
        (await call(auto.url, 'POST', '/api/v1/token', { grantType: 'password', username: 'a', password: 'b' })).body,
      ).accessToken;
      const auth = { authorization: `Bearer ${t}` };
      const c = JSON.parse((await call(auto.url, 'POST', '/api/v1/clusters', { name: 'x' }, auth)).body);
      await call(auto.url, 'GET', `/api/v1/clusters/${c.uuid}/cluster-install-info?version=2.21`, undefined, auth);
      const states = [];
      for (let i = 0; i < 2; i++)
        states.push(JSON.parse((await call(auto.url, 'GET', `/api/v1/clusters/${c.uuid}`, undefined, auth)).body).status.state);
      assert.deepEqual(states, ['WaitingToConnect', 'Connected']);
    } finally {
      await auto.close();
    }
  });
});
