// Conformance of the Run:ai client and simulator with Run:ai's own 2.21 OpenAPI document (upstream/runai/openapi-2.21.json,
// the one NVIDIA's runapy client is generated from): every request the client sends validates against the request
// schema of its operation, and every answer the simulator gives against the response schema of the same operation
// and status. A field the schema does not name fails, so a misspelling on either side is caught.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunaiClient, type RunaiCluster } from '../../actions/lib/runai/client.ts';
import { ensureLabCa, issueCert } from '../lab/pki.ts';
import { startRunaiSimulator, type RunaiExchange, type RunaiSimulator } from '../lab/runai-sim/server.ts';
import { OpenApi } from './openapi.ts';
import { readUpstreamJson } from './upstream.ts';

const SUBNET = 81;
const api = new OpenApi(readUpstreamJson('runai', 'openapi-2.21.json'));
const ADMIN = 'admin@lab.local';
const PASSWORD = 'Lab-Pa55word!';

/**
 * Answers the simulator gives that the spec lists no status for, each with what is known: the body must still be
 * the spec's Error object. Nothing else may answer off the list.
 */
const UNLISTED: Record<string, string> = {
  'grant_token 401': 'wrong credentials: the spec lists only 400/500/503 for POST /api/v1/token; real control planes answer 401',
  'create_cluster 409':
    'a taken name: the spec lists no status (201/401/403/404/500/503); the client handles any refusal by looking the name up again',
};

/** Every way an exchange breaks the spec: its request against the request schema, its answer against the response schema. */
function problemsOf(e: RunaiExchange): string[] {
  const what = `${e.method} ${e.path}`;
  const op = api.operation(e.method, e.path);
  if (!op) return [`${what}: no such operation in openapi-2.21.json`];
  const problems: string[] = [];
  for (const p of api.parameters(op)) {
    if (p.in === 'query' && p.required && !(p.name in e.query)) problems.push(`${what}: required query parameter '${p.name}' is missing`);
    if (p.in === 'query' && p.name in e.query && p.schema)
      problems.push(...api.check(p.schema, e.query[p.name], `${what} ?${p.name}`).filter((x) => !/is string, the schema says/.test(x)));
  }
  for (const name of Object.keys(e.query))
    if (!api.parameters(op).some((p) => p.in === 'query' && p.name === name)) problems.push(`${what}: unknown query parameter '${name}'`);
  const request = api.requestSchema(op);
  if (request) {
    if (!/^application\/json/.test(e.contentType))
      problems.push(`${what}: request content-type ${e.contentType || 'none'}, not application/json`);
    let body: unknown;
    try {
      body = JSON.parse(e.requestBody);
    } catch {
      problems.push(`${what}: request body is not JSON`);
    }
    if (body !== undefined) problems.push(...api.check(request, body, `${what} request`));
  } else if (e.requestBody) problems.push(`${what}: a request body, and the operation takes none`);
  const response = api.responseSchema(op, e.status);
  const key = `${op.operationId} ${e.status}`;
  if (response === undefined) {
    if (!UNLISTED[key])
      problems.push(`${what}: answered ${e.status}, which ${op.operationId} does not list (${api.statuses(op).join(', ')})`);
    problems.push(...api.check({ $ref: '#/components/schemas/Error' }, e.responseBody, `${what} ${e.status}`));
  } else if (response === null) {
    if (e.responseBody !== null && e.responseBody !== undefined) problems.push(`${what}: ${e.status} carries a body, the spec lists none`);
  } else problems.push(...api.check(response, e.responseBody, `${what} ${e.status}`));
  return problems;
}

describe('Run:ai 2.21 API: the client and the simulator against openapi-2.21.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runai-openapi-'));
  const exchanges: RunaiExchange[] = [];
  let sim: RunaiSimulator;
  let ca: string;
  before(async () => {
    const pki = ensureLabCa(join(dir, 'pki'));
    const cert = issueCert(pki, 'runai', ['runai.lab.local', `127.0.${SUBNET}.1`], 'server');
    ca = pki.caCert;
    sim = await startRunaiSimulator({
      host: `127.0.${SUBNET}.1`,
      tls: cert,
      users: { [ADMIN]: PASSWORD, 'viewer@lab.local': PASSWORD },
      apps: { deployer: 'app-secret' },
      readOnlyUsers: ['viewer@lab.local'],
      domain: 'runai.lab.local',
      installInfoLagCalls: 1,
      onExchange: (e) => exchanges.push(e),
    });
  });
  after(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = () =>
    new RunaiClient({ url: sim.url, ca: readFileSync(ca, 'utf8'), caSource: 'the lab CA', retryForMs: 0, sleep: async () => {} });

  it('every request the client sends and every answer the simulator gives conform, through a whole cluster phase', async () => {
    const c = client();
    const viewer = client();
    try {
      await c.login({ kind: 'password', username: ADMIN, password: PASSWORD, source: 'x' });
      await c.login({ kind: 'client', clientId: 'deployer', clientSecret: 'app-secret', source: 'x' });
      await assert.rejects(c.login({ kind: 'password', username: ADMIN, password: 'wrong', source: 'x' }));
      assert.deepEqual(await c.listClusters(), []);
      const made = (await c.createCluster({ name: 'dgx-lab', version: '2.21.63', domain: 'runai.lab.local' })) as RunaiCluster;
      assert.equal(made.state, 'WaitingToConnect');
      assert.ok('refused' in (await c.createCluster({ name: 'dgx-lab' })));
      assert.equal((await c.installInfo(made.uuid, '2.21.63')).ready, false, 'first answer: 503 while not ready');
      assert.equal((await c.installInfo(made.uuid, '2.21.63')).ready, true);
      sim.setClusterState(made.uuid, 'Connected');
      assert.equal((await c.getCluster(made.uuid)).state, 'Connected');
      await assert.rejects(c.getCluster('00000000-0000-4000-8000-000000000000'), /answered 404/);
      await viewer.login({ kind: 'password', username: 'viewer@lab.local', password: PASSWORD, source: 'x' });
      await assert.rejects(viewer.createCluster({ name: 'other' }), /lacks the permission \(403/);
      assert.equal((await c.listClusters()).length, 1);
    } finally {
      c.close();
      viewer.close();
    }
    const apiCalls = exchanges.filter((e) => e.path.startsWith('/api/'));
    const seen = [...new Set(apiCalls.map((e) => `${api.operation(e.method, e.path)?.operationId} ${e.status}`))].sort();
    assert.deepEqual(seen, [
      'create_cluster 201',
      'create_cluster 403',
      'create_cluster 409',
      'get_cluster_by_uuid 200',
      'get_cluster_by_uuid 404',
      'get_cluster_install_info_by_uuid 200',
      'get_cluster_install_info_by_uuid 503',
      'get_clusters 200',
      'grant_token 200',
      'grant_token 401',
    ]);
    assert.deepEqual(apiCalls.flatMap(problemsOf), [], 'requests and answers that break openapi-2.21.json');
    // only Keycloak's own routes (not part of Run:ai's API) are outside the document
    assert.deepEqual(
      exchanges.filter((e) => !e.path.startsWith('/api/')).map((e) => e.path),
      [],
    );
  });

  it('the simulator answers bad tokens (401) and malformed token requests (400) as the spec lists them', async () => {
    const from = exchanges.length;
    const send = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
      new Promise<void>((resolve, reject) => {
        const req = request(new URL(path, sim.url), { method, ca: readFileSync(ca), headers }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(body);
      });
    await send('GET', '/api/v1/clusters', undefined, { authorization: 'Bearer a.b.c' });
    await send('POST', '/api/v1/token', '{"grantType":"password"}', { 'content-type': 'application/json' });
    const answers = exchanges.slice(from);
    assert.deepEqual(
      answers.map((e) => e.status),
      [401, 400],
    );
    assert.deepEqual(answers.flatMap(problemsOf), []);
  });

  it('fails a request body with a misspelled field, and answers with an unknown field, a missing or mistyped one', () => {
    const token: RunaiExchange = {
      method: 'POST',
      path: '/api/v1/token',
      query: {},
      contentType: 'application/json',
      requestBody: JSON.stringify({ grantType: 'client_credentials', clientId: 'deployer', clientSecret: 's' }),
      status: 200,
      responseBody: { accessToken: 'a.b.c' },
    };
    assert.deepEqual(problemsOf(token), [
      "POST /api/v1/token request: unknown field 'clientId' (the schema has grantType, appID, appSecret, code, redirectUri, refreshToken, username, password, clientID, clientSecret)",
    ]);
    const create = { ...token, path: '/api/v1/clusters', requestBody: JSON.stringify({ name: 'dgx', domian: 'x' }), status: 201 };
    const cluster = { uuid: '9f55255e-11ed-47c7-acef-fc4054768dbc', tenantId: 1001, name: 'dgx', createdAt: '2026-01-01T00:00:00Z' };
    assert.match(problemsOf({ ...create, responseBody: cluster }).join('\n'), /unknown field 'domian'/);
    const answer = (responseBody: unknown) => problemsOf({ ...create, requestBody: '{"name":"dgx"}', responseBody });
    assert.deepEqual(answer(cluster), []);
    assert.match(answer({ ...cluster, clientSecret: 'x' }).join('\n'), /POST \/api\/v1\/clusters 201: unknown field 'clientSecret'/);
    const { uuid: _uuid, ...noUuid } = cluster;
    assert.match(answer(noUuid).join('\n'), /required field 'uuid' is missing/);
    assert.match(answer({ ...cluster, tenantId: '1001' }).join('\n'), /201\.tenantId: "1001" is string, the schema says integer/);
    assert.match(answer({ ...cluster, status: { state: 'Running' } }).join('\n'), /201\.status\.state: "Running" is not one of/);
    assert.match(
      problemsOf({ ...create, requestBody: '{"name":"dgx"}', status: 418, responseBody: { code: 418, message: 'x' } }).join('\n'),
      /answered 418, which create_cluster does not list/,
    );
  });
});
