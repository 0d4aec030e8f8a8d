// The BCM simulator behaves as shared/reference/bcm-api.md says a BCM head node does (Simulator spec, §1–§7),
// over real TLS with the lab's CA: what a client written against the reference will meet.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildBcmFixture, syntheticSimNodes, type SimNodeInput } from './bcm-sim/fixture.ts';
import { startBcmSimulator, type BcmSimulator } from './bcm-sim/server.ts';
import { ensureLabCa, issueCert } from './pki.ts';

const dir = mkdtempSync(join(tmpdir(), 'bcm-sim-'));
const ca = ensureLabCa(join(dir, 'pki'));
const serverCert = issueCert(ca, 'server', ['127.0.0.1'], 'server');
const clientCert = issueCert(ca, 'client', ['admin'], 'client');
const strangerCa = ensureLabCa(join(dir, 'stranger'), 'stranger CA');
const strangerCert = issueCert(strangerCa, 'client', ['intruder'], 'client');
const tls = { cert: serverCert.cert, key: serverCert.key, ca: ca.caCert };
const users = { labadmin: 'correct-horse' };
const caPem = readFileSync(ca.caCert);

after(() => rmSync(dir, { recursive: true, force: true }));

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface CallOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  cert?: { cert: string; key: string };
  timeoutMs?: number;
  raw?: Buffer | string;
}

function send(url: string, body: unknown, o: CallOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(o.path ?? '/json', url),
      {
        method: o.method ?? 'POST',
        ca: caPem,
        agent: false,
        headers: { 'content-type': 'application/json', ...o.headers },
        ...(o.cert ? { cert: readFileSync(o.cert.cert), key: readFileSync(o.cert.key) } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (o.timeoutMs) req.setTimeout(o.timeoutMs, () => req.destroy(new Error('client timeout')));
    req.end(o.raw ?? (body === undefined ? undefined : JSON.stringify(body)));
  });
}

const asAdmin = (url: string, body: unknown, o: CallOptions = {}) => send(url, body, { ...o, cert: clientCert });
const rpc = (service: string, call: string, args?: unknown[]) => ({ service, call, ...(args ? { args } : {}) });

async function login(url: string, username = 'labadmin', password = 'correct-horse'): Promise<Reply> {
  return send(url, { service: 'login', username, password });
}

const labNodes: SimNodeInput[] = [
  { hostname: 'dgx-01', index: 11, productionIp: '127.0.1.11', category: 'dgx-h100' },
  { hostname: 'dgx-02', index: 12, productionIp: '127.0.1.12', category: 'dgx-h100', status: 'DOWN' },
  { hostname: 'dgx-03', index: 13, productionIp: '127.0.1.13', category: 'dgx-h100', closed: true },
  { hostname: 'cpu-01', index: 21, productionIp: '127.0.1.21', category: 'cpu-nodes', status: 'INSTALLING' },
];

type Obj = Record<string, any>;

describe('BCM simulator: authentication', () => {
  let sim: BcmSimulator;
  before(async () => {
    sim = await startBcmSimulator({ fixture: buildBcmFixture(labNodes, { version: 'bcm11', subnet: 1 }), tls, users });
  });
  after(() => sim.close());

  it('login with good credentials answers true and sets a 32-character cm-login-token cookie', async () => {
    const r = await login(sim.url);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'true');
    assert.match(String(r.headers['set-cookie']), /^cm-login-token=[A-Za-z0-9_-]{32}; Path=\/; Secure; HttpOnly$/);
  });

  it('login with a bad password or unknown user answers 200 false and no cookie', async () => {
    for (const [u, p] of [
      ['labadmin', 'wrong'],
      ['nobody', 'correct-horse'],
    ] as const) {
      const r = await login(sim.url, u, p);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'false');
      assert.equal(r.headers['set-cookie'], undefined);
    }
  });

  it('refuses a call without cookie or certificate with 401', async () => {
    const r = await send(sim.url, rpc('cmdevice', 'getNodes'));
    assert.equal(r.status, 401);
    assert.equal(sim.requests().at(-1)?.authenticated, 'none');
  });

  it('accepts the cookie, also when the whole Set-Cookie value (with attributes) is sent back', async () => {
    const setCookie = String((await login(sim.url)).headers['set-cookie']);
    const bare = setCookie.split(';')[0]!;
    for (const cookie of [bare, setCookie, `theme=dark; ${bare}`]) {
      const r = await send(sim.url, rpc('cmmain', 'ping'), { headers: { cookie } });
      assert.equal(r.status, 200, cookie);
      assert.equal(r.body, 'true');
    }
    assert.equal(sim.requests().at(-1)?.authenticated, 'cookie');
    const forged = await send(sim.url, rpc('cmmain', 'ping'), { headers: { cookie: 'cm-login-token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    assert.equal(forged.status, 401);
  });

  it('accepts a client certificate signed by the CA, and not one from another CA', async () => {
    const ok = await send(sim.url, rpc('cmmain', 'ping'), { cert: clientCert });
    assert.equal(ok.status, 200);
    assert.equal(sim.requests().at(-1)?.authenticated, 'cert');
    const stranger = await send(sim.url, rpc('cmmain', 'ping'), { cert: strangerCert });
    assert.equal(stranger.status, 401);
    assert.equal(sim.requests().at(-1)?.authenticated, 'none');
  });

  it('after expireSessions a cookie gets 401 until the client logs in again', async () => {
    const cookie = String((await login(sim.url)).headers['set-cookie']).split(';')[0]!;
    assert.equal((await send(sim.url, rpc('cmmain', 'ping'), { headers: { cookie } })).status, 200);
    sim.expireSessions();
    assert.equal((await send(sim.url, rpc('cmmain', 'ping'), { headers: { cookie } })).status, 401);
    const fresh = String((await login(sim.url)).headers['set-cookie']).split(';')[0]!;
    assert.notEqual(fresh, cookie);
    assert.equal((await send(sim.url, rpc('cmmain', 'ping'), { headers: { cookie: fresh } })).status, 200);
  });

  it('GET /rest/v1/version needs a certificate or HTTP Basic and returns the version fields', async () => {
    const version = { path: '/rest/v1/version', method: 'GET' };
    assert.equal((await send(sim.url, undefined, version)).status, 401);
    const basic = (pw: string) => ({ authorization: `Basic ${Buffer.from(`labadmin:${pw}`).toString('base64')}` });
    assert.equal((await send(sim.url, undefined, { ...version, headers: basic('wrong') })).status, 401);
    for (const r of [
      await send(sim.url, undefined, { ...version, headers: basic('correct-horse') }),
      await asAdmin(sim.url, undefined, version),
    ]) {
      assert.equal(r.status, 200);
      const v = JSON.parse(r.body);
      assert.deepEqual(Object.keys(v).sort(), ['build_hash', 'build_index', 'cm_version', 'cmd_version', 'database_version']);
      assert.match(v.cm_version, /^11\./);
    }
  });
});

describe('BCM simulator: calls', () => {
  let sim: BcmSimulator;
  before(async () => {
    sim = await startBcmSimulator({ fixture: buildBcmFixture(labNodes, { version: 'bcm11', subnet: 1 }), tls, users });
  });
  after(() => sim.close());
  const get = async (body: unknown) => {
    const r = await asAdmin(sim.url, body);
    assert.equal(r.status, 200, r.body);
    assert.match(String(r.headers['content-type']), /application\/json/);
    return JSON.parse(r.body);
  };

  it('answers 400 with a text body to an unknown call or service and to a body that is not JSON', async () => {
    for (const body of [rpc('cmdevice', 'getEverything'), rpc('cmnope', 'getNodes'), '{"service":']) {
      const r = await asAdmin(sim.url, undefined, { raw: typeof body === 'string' ? body : JSON.stringify(body) });
      assert.equal(r.status, 400);
      assert.match(String(r.headers['content-type']), /text\/plain/);
      assert.throws(() => JSON.parse(r.body));
    }
  });

  it('takes arguments as `args` or as a scalar `arg`; service names in any case; ignores minify', async () => {
    const viaArgs = await get(rpc('cmdevice', 'getNode', ['dgx-01']));
    const viaArg = await get({ service: 'cmdevice', call: 'getNode', arg: 'dgx-01', minify: true });
    const upper = await get({ service: 'CMDevice', call: 'getNode', args: ['dgx-01'] });
    assert.equal(viaArgs.hostname, 'dgx-01');
    assert.deepEqual(viaArg, viaArgs);
    assert.deepEqual(upper, viaArgs);
  });

  it('getNode/getDevice find by hostname, UUID or master, and answer null for an unknown one', async () => {
    const byName = await get(rpc('cmdevice', 'getNode', ['dgx-02']));
    assert.deepEqual(await get(rpc('cmdevice', 'getNode', [byName.uuid])), byName);
    assert.deepEqual(await get(rpc('cmdevice', 'getDevice', ['dgx-02'])), byName);
    const master = await get({ service: 'cmdevice', call: 'getNode', arg: 'master' });
    assert.equal(master.hostname, 'bcm-head-01');
    assert.equal(master.childType, 'HeadNode');
    assert.equal(await get(rpc('cmdevice', 'getNode', ['dgx-99'])), null);
    assert.equal(await get(rpc('cmdevice', 'getDevice', ['dgx-99'])), null);
    // A switch is a device but not a node.
    assert.equal((await get(rpc('cmdevice', 'getDevice', ['leaf-01']))).childType, 'Switch');
    assert.equal(await get(rpc('cmdevice', 'getNode', ['leaf-01'])), null);
  });

  it('lists nodes, devices, compute nodes and head nodes', async () => {
    const nodes: Obj[] = await get(rpc('cmdevice', 'getNodes'));
    assert.deepEqual(
      nodes.map((n) => n.hostname),
      ['bcm-head-01', 'dgx-01', 'dgx-02', 'dgx-03', 'cpu-01'],
    );
    const devices: Obj[] = await get(rpc('cmdevice', 'getDevices'));
    assert.deepEqual(
      devices.filter((d) => d.childType === 'Switch').map((d) => d.hostname),
      ['leaf-01'],
    );
    assert.equal(devices.length, nodes.length + 1);
    const compute: Obj[] = await get(rpc('cmdevice', 'getComputeNodes'));
    assert.deepEqual(
      compute.map((n) => n.hostname),
      ['dgx-01', 'dgx-02', 'dgx-03', 'cpu-01'],
    );
    const heads: Obj[] = await get(rpc('cmdevice', 'getHeadNodes'));
    assert.deepEqual(
      heads.map((n) => n.hostname),
      ['bcm-head-01'],
    );
    const some: Obj[] = await get(rpc('cmdevice', 'getDevicesByUuids', [[nodes[2]!.uuid, 'nope', devices.at(-1)!.uuid]]));
    assert.deepEqual(
      some.map((d) => d.hostname),
      ['dgx-02', 'leaf-01'],
    );
  });

  it('a compute node, as in the BCM 11 capture, has BOOTIF on internalnet (where it is reached), ipmi0 on ipminet, and a category', async () => {
    const node: Obj = await get(rpc('cmdevice', 'getNode', ['dgx-01']));
    const networks: Obj[] = await get(rpc('cmnet', 'getNetworks'));
    const categories: Obj[] = await get(rpc('cmdevice', 'getCategories'));
    const netName = (uuid: string) => networks.find((n) => n.uuid === uuid)?.name;
    assert.ok(Object.keys(node).length >= 40, `only ${Object.keys(node).length} keys`);
    assert.equal(node.baseType, 'Device');
    assert.equal(node.childType, 'PhysicalNode');
    assert.match(node.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(node.mac, /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/);
    assert.deepEqual(node.roles, []);
    assert.equal('status' in node, false);
    assert.equal(categories.find((c) => c.uuid === node.category)?.name, 'dgx-h100');
    const ifs = Object.fromEntries((node.interfaces as Obj[]).map((i) => [i.name, i]));
    assert.deepEqual(Object.keys(ifs), ['BOOTIF', 'ipmi0']);
    assert.equal(node.provisioningInterface, ifs.BOOTIF!.uuid);
    assert.equal(ifs.BOOTIF!.mac, node.mac);
    assert.deepEqual(
      [ifs.BOOTIF!, ifs.ipmi0!].map((i) => [i.childType, i.ip, netName(i.network)]),
      [
        ['NetworkPhysicalInterface', '127.0.1.11', 'internalnet'],
        ['NetworkBmcInterface', '127.2.1.11', 'ipminet'],
      ],
    );
    const head: Obj = await get(rpc('cmdevice', 'getNode', ['master']));
    assert.equal('category' in head, false);
    assert.equal(head.provisioningInterface, '00000000-0000-0000-0000-000000000000');
    assert.deepEqual(
      head.roles.map((r: Obj) => r.name),
      ['headnode', 'boot', 'provisioning'],
    );
    assert.match(head.cmdaemonUrl, /^https:\/\/127\./);
  });

  it('serves networks (type upper-case) as the capture has them: internalnet and managementnet both management: true', async () => {
    const networks: Obj[] = await get(rpc('cmnet', 'getNetworks'));
    const summary = Object.fromEntries(networks.map((n) => [n.name, `${n.type} ${n.baseAddress}/${n.netmaskBits} mgmt=${n.management}`]));
    assert.deepEqual(summary, {
      internalnet: 'INTERNAL 127.0.1.0/24 mgmt=true',
      ipminet: 'INTERNAL 127.2.1.0/24 mgmt=false',
      managementnet: 'INTERNAL 127.1.1.0/24 mgmt=true',
    });
    const head: Obj = await get(rpc('cmdevice', 'getNode', ['master']));
    assert.deepEqual(
      head.interfaces.map((i: Obj) => `${i.ip} ${networks.find((n) => n.uuid === i.network)?.name}`),
      ['127.1.1.254 managementnet', '127.0.1.254 internalnet'],
    );
    assert.deepEqual(
      await get(rpc('cmnet', 'getNetwork', ['internalnet'])),
      networks.find((n) => n.name === 'internalnet'),
    );
    assert.equal((await get(rpc('cmnet', 'getNetwork', [networks[0]!.uuid]))).name, networks[0]!.name);
    assert.equal(await get(rpc('cmnet', 'getNetwork', ['nosuchnet'])), null);
    const categories: Obj[] = await get(rpc('cmdevice', 'getCategories'));
    assert.deepEqual(categories.map((c) => c.name).sort(), ['cpu-nodes', 'dgx-h100']);
    for (const c of categories) {
      assert.equal(c.baseType, 'Category');
      assert.equal(typeof c.softwareImageProxy.parentSoftwareImage, 'string');
      assert.ok(Array.isArray(c.roles));
    }
  });

  it('statuses come aligned with the UUIDs asked for, null for unknown ones, and follow setNodeStatus', async () => {
    const nodes: Obj[] = await get(rpc('cmdevice', 'getNodes'));
    const uuid = (h: string) => nodes.find((n) => n.hostname === h)!.uuid as string;
    const ask = ['dgx-01', 'dgx-02', 'dgx-03', 'cpu-01'].map(uuid);
    const asked = [ask[0], 'unknown-uuid', ...ask.slice(1)];
    const statuses: Array<Obj | null> = await get(rpc('cmstatus', 'getStatusForDevices', [asked]));
    assert.deepEqual(
      statuses.map((s, i) => s && [s.ref_device_uuid === asked[i], s.status, s.closed]),
      [[true, 'UP', false], null, [true, 'DOWN', false], [true, 'UP', true], [true, 'INSTALLING', false]],
    );
    assert.equal(statuses[0]!.baseType, 'DeviceStatus');
    sim.setNodeStatus('dgx-02', 'UP');
    sim.setNodeStatus('dgx-01', 'UP', true);
    const after: Obj[] = await get(rpc('cmstatus', 'getStatusForDevices', [ask.slice(0, 2)]));
    assert.deepEqual(
      after.map((s) => [s.status, s.closed]),
      [
        ['UP', true],
        ['UP', false],
      ],
    );
    assert.throws(() => sim.setNodeStatus('dgx-99', 'UP'), /no node 'dgx-99'/);
  });

  it('answers the cmmain calls', async () => {
    const head: Obj = await get(rpc('cmdevice', 'getNode', ['master']));
    assert.equal(await get(rpc('cmmain', 'ping')), true);
    assert.equal(await get(rpc('cmmain', 'need_uuid')), true);
    assert.equal((await get(rpc('cmmain', 'getVersion'))).cmVersion, '11.0');
    const zero = '00000000-0000-0000-0000-000000000000';
    assert.deepEqual(await get(rpc('cmmain', 'getActivePassiveUuids')), [head.uuid, zero, zero]);
  });

  it('accepts a gzip-compressed request body', async () => {
    const r = await asAdmin(sim.url, undefined, {
      raw: gzipSync(JSON.stringify(rpc('cmmain', 'ping'))),
      headers: { 'content-encoding': 'gzip' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'true');
  });
});

describe('BCM simulator: BCM 10 and 11 shapes', () => {
  const v10 = buildBcmFixture(labNodes, { version: 'bcm10', subnet: 1 });
  const v11 = buildBcmFixture(labNodes, { version: 'bcm11', subnet: 1 });
  const node = (f: typeof v10) => f.nodes[1] as Obj;

  it('renames rack to rackPosition and moves the version-only fields as §7.3 says', () => {
    const n10 = node(v10);
    const n11 = node(v11);
    for (const k of ['rack', 'tag', 'cpuspeedGovernor']) assert.ok(k in n10 && !(k in n11), k);
    for (const k of ['rackPosition', 'authenticationService']) assert.ok(k in n11 && !(k in n10), k);
    const [boot10, ipmi10] = n10.interfaces as Obj[];
    const [boot11, ipmi11] = n11.interfaces as Obj[];
    assert.equal(boot10!.cardtype, 'Ethernet');
    assert.equal(boot11!.cardtype, '');
    for (const k of ['bootable', 'excludeFromDhcpd']) assert.ok(k in boot11! && !(k in boot10!), k);
    assert.equal('mac' in ipmi10!, false);
    assert.equal(ipmi11!.mac, '00:00:00:00:00:00');
  });

  it('the production layout reaches nodes on a separate dgxnet, with BOOTIF on an internalnet nothing listens on', () => {
    const f = buildBcmFixture(labNodes, { version: 'bcm11', subnet: 1, networks: 'production' });
    const name = (uuid: string) => f.networks.find((n) => n.uuid === uuid)?.name;
    assert.deepEqual(
      (node(f).interfaces as Obj[]).map((i) => `${i.name} ${i.ip} ${name(i.network)}`),
      ['BOOTIF 127.3.1.11 internalnet', 'ipmi0 127.2.1.11 ipminet', 'ens1f0np0 127.0.1.11 dgxnet'],
    );
    assert.deepEqual(f.networks.map((n) => n.name).sort(), ['dgxnet', 'externalnet', 'internalnet', 'ipminet', 'managementnet']);
  });

  it('reports cmVersion 10.0 for a BCM 10 fixture', async () => {
    const sim = await startBcmSimulator({ fixture: v10, tls, users });
    try {
      assert.equal(JSON.parse((await asAdmin(sim.url, rpc('cmmain', 'getVersion'))).body).cmVersion, '10.0');
    } finally {
      await sim.close();
    }
  });

  it('is deterministic: the same inputs give the same UUIDs; another seed gives others', () => {
    const again = buildBcmFixture(labNodes, { version: 'bcm11', subnet: 1 });
    assert.equal(JSON.stringify(again.nodes), JSON.stringify(v11.nodes));
    const other = buildBcmFixture(labNodes, { version: 'bcm11', subnet: 1, seed: 'other' });
    assert.notEqual((other.nodes[1] as Obj).uuid, node(v11).uuid);
  });
});

describe('BCM simulator: faults', () => {
  let sim: BcmSimulator;
  let cookie: string;
  before(async () => {
    sim = await startBcmSimulator({ fixture: buildBcmFixture(labNodes, { version: 'bcm11', subnet: 1 }), tls, users });
    cookie = String((await login(sim.url)).headers['set-cookie']).split(';')[0]!;
  });
  after(() => sim.close());
  const getNodes = (o: CallOptions = {}) => send(sim.url, rpc('cmdevice', 'getNodes'), { headers: { cookie }, ...o });
  const ping = () => send(sim.url, rpc('cmmain', 'ping'), { headers: { cookie } });

  it('http-status 503 twice, then normal answers; other calls are untouched', async () => {
    sim.setFault({ kind: 'http-status', status: 503, times: 2, call: 'getNodes' });
    assert.equal((await ping()).status, 200);
    assert.deepEqual([(await getNodes()).status, (await getNodes()).status, (await getNodes()).status], [503, 503, 200]);
    assert.deepEqual(
      sim
        .requests()
        .filter((q) => q.call === 'getNodes')
        .map((q) => q.status),
      [503, 503, 200],
    );
    sim.setFault(null);
  });

  it('slow: the answer does not come within a client timeout shorter than the delay', async () => {
    sim.setFault({ kind: 'slow', delayMs: 2000, call: 'getNodes' });
    await assert.rejects(getNodes({ timeoutMs: 200 }), /client timeout/);
    assert.equal((await ping()).status, 200);
    sim.setFault(null);
    assert.equal((await getNodes({ timeoutMs: 5000 })).status, 200);
  });

  it('malformed-json: 200 with a body that does not parse', async () => {
    sim.setFault({ kind: 'malformed-json', call: 'cmdevice.getNodes' });
    const r = await getNodes();
    assert.equal(r.status, 200);
    assert.throws(() => JSON.parse(r.body));
    sim.setFault(null);
  });

  it('html-login-page: 200 with an HTML page', async () => {
    sim.setFault({ kind: 'html-login-page' });
    const r = await getNodes();
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /text\/html/);
    assert.match(r.body, /^<!DOCTYPE html>/);
    sim.setFault(null);
  });

  it('errormessage: 200 with {"errormessage": ...}', async () => {
    sim.setFault({ kind: 'errormessage', message: 'Profile readonly does not allow access to cmdevice.getNodes' });
    const r = await getNodes();
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { errormessage: 'Profile readonly does not allow access to cmdevice.getNodes' });
    sim.setFault(null);
  });

  it('reset: the connection is dropped without an answer', async () => {
    sim.setFault({ kind: 'reset', call: 'getNodes' });
    await assert.rejects(
      getNodes(),
      (err: NodeJS.ErrnoException) => ['ECONNRESET', 'EPIPE'].includes(err.code ?? '') || /socket hang up/.test(err.message),
    );
    sim.setFault(null);
    assert.equal((await getNodes()).status, 200);
  });

  it('login-rejects: good credentials refused as false, errormessage or 401, never with a cookie', async () => {
    const expected = {
      false: [200, 'false'],
      errormessage: [200, '{"errormessage":"Invalid username or password"}'],
      '401': [401, 'Unauthorized'],
    };
    for (const mode of ['false', 'errormessage', '401'] as const) {
      sim.setFault({ kind: 'login-rejects', mode });
      const r = await login(sim.url);
      assert.deepEqual([r.status, r.body], expected[mode], mode);
      assert.equal(r.headers['set-cookie'], undefined);
    }
    sim.setFault(null);
    assert.equal((await login(sim.url)).body, 'true');
  });
});

describe('BCM simulator: control endpoint', () => {
  it('needs the right x-sim-token, then sets faults, node statuses and expires sessions', async () => {
    const sim = await startBcmSimulator({
      fixture: buildBcmFixture(labNodes, { version: 'bcm11', subnet: 1 }),
      tls,
      users,
      controlToken: 'tok-123',
    });
    try {
      const control = (body: unknown, token?: string) =>
        send(sim.url, body, { path: '/_sim/control', headers: token ? { 'x-sim-token': token } : {} });
      assert.equal((await control({ expireSessions: true })).status, 403);
      assert.equal((await control({ expireSessions: true }, 'wrong')).status, 403);

      const ok = await control({ nodeStatus: { hostname: 'dgx-01', status: 'DOWN', closed: true } }, 'tok-123');
      assert.deepEqual([ok.status, JSON.parse(ok.body)], [200, { ok: true }]);
      const uuid = JSON.parse((await asAdmin(sim.url, rpc('cmdevice', 'getNode', ['dgx-01']))).body).uuid;
      const [st] = JSON.parse((await asAdmin(sim.url, rpc('cmstatus', 'getStatusForDevices', [[uuid]]))).body);
      assert.deepEqual([st.status, st.closed], ['DOWN', true]);

      await control({ fault: { kind: 'http-status', status: 502 } }, 'tok-123');
      assert.equal((await asAdmin(sim.url, rpc('cmmain', 'ping'))).status, 502);
      await control({ fault: null }, 'tok-123');
      assert.equal((await asAdmin(sim.url, rpc('cmmain', 'ping'))).status, 200);

      const cookie = String((await login(sim.url)).headers['set-cookie']).split(';')[0]!;
      await control({ expireSessions: true }, 'tok-123');
      assert.equal((await send(sim.url, rpc('cmmain', 'ping'), { headers: { cookie } })).status, 401);
      assert.equal((await control({ nodeStatus: { hostname: 'dgx-99', status: 'UP' } }, 'tok-123')).status, 400);
    } finally {
      await sim.close();
    }
  });

  it('is closed (403) when the simulator has no control token', async () => {
    const sim = await startBcmSimulator({ fixture: buildBcmFixture(labNodes, { version: 'bcm11', subnet: 1 }), tls, users });
    try {
      assert.equal((await send(sim.url, { fault: null }, { path: '/_sim/control', headers: { 'x-sim-token': '' } })).status, 403);
    } finally {
      await sim.close();
    }
  });

  it('refuses to listen on an address outside 127.0.0.0/8', async () => {
    await assert.rejects(
      startBcmSimulator({ fixture: buildBcmFixture(labNodes, { version: 'bcm11', subnet: 1 }), tls, users, host: '0.0.0.0' }),
      /not a 127\.0\.0\.0\/8 address/,
    );
  });
});

describe('BCM simulator: daemon (main.ts)', () => {
  it('prints its URL as one JSON line, serves, and exits 0 on SIGTERM', async () => {
    const passwordFile = join(dir, 'bcm-password');
    writeFileSync(passwordFile, 'from-a-file\n', { mode: 0o600 });
    const config = join(dir, 'daemon.json');
    writeFileSync(
      config,
      JSON.stringify({
        version: 'bcm10',
        subnet: 2,
        networks: 'production',
        nodes: labNodes,
        tls,
        passwordFiles: { labadmin: passwordFile },
        controlToken: 'daemon-tok',
      }),
    );
    const root = join(import.meta.dirname, '../..');
    const child = spawn('bash', [join(root, 'scripts/node24.sh'), join(root, 'test/lab/bcm-sim/main.ts'), '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        void exited.then((code) => reject(new Error(`daemon exited ${code}: ${err}`)));
      });
      const { url } = JSON.parse(firstLine);
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const r = await login(url, 'labadmin', 'from-a-file');
      assert.equal(r.body, 'true');
      const cookie = String(r.headers['set-cookie']).split(';')[0]!;
      const nodes = JSON.parse((await send(url, rpc('cmdevice', 'getNodes'), { headers: { cookie } })).body);
      assert.equal(nodes.length, labNodes.length + 1);
      assert.equal(nodes[1].interfaces[0].ip, '127.3.2.11');
      const control = await send(
        url,
        { fault: { kind: 'http-status', status: 503 } },
        { path: '/_sim/control', headers: { 'x-sim-token': 'daemon-tok' } },
      );
      assert.equal(control.status, 200);
      assert.equal((await send(url, rpc('cmmain', 'ping'), { headers: { cookie } })).status, 503);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

describe('BCM simulator: 10,000 nodes', () => {
  it('serves all 10,000 synthetic nodes plus the head node, and their statuses', async () => {
    const inputs = syntheticSimNodes(10_000);
    assert.equal(new Set(inputs.map((n) => n.hostname)).size, 10_000);
    const sim = await startBcmSimulator({ fixture: buildBcmFixture(inputs, { version: 'bcm11', subnet: 1 }), tls, users });
    try {
      const nodes: Obj[] = JSON.parse((await asAdmin(sim.url, rpc('cmdevice', 'getNodes'))).body);
      assert.equal(nodes.length, 10_001);
      assert.equal(nodes.filter((n) => n.childType === 'HeadNode').length, 1);
      assert.equal(nodes.at(-1)!.hostname, 'dgx-10000');
      const statuses: Obj[] = JSON.parse((await asAdmin(sim.url, rpc('cmstatus', 'getStatusForDevices', [nodes.map((n) => n.uuid)]))).body);
      assert.equal(statuses.length, 10_001);
      assert.ok(statuses.every((s, i) => s.ref_device_uuid === nodes[i]!.uuid && s.status === 'UP'));
    } finally {
      await sim.close();
    }
  });
});
