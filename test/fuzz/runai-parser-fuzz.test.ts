// Run:ai answers fuzzed: the real REST client (over TLS from a lab CA) and the install-info parser fed malformed
// bodies on every call the runai stage makes — token, cluster list, cluster by id, install info. Each answer must
// end in a result of the right shape or a StageError that names the call; never a TypeError, a crash or a hang.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunaiClient } from '../../actions/lib/runai/client.ts';
import { parseInstallInfo } from '../../actions/lib/runai/install-info.ts';
import { StageError } from '../../actions/lib/util/errors.ts';
import { ensureLabCa, issueCert } from '../lab/pki.ts';

const SEED = Number(process.env.BCMKUBE_FUZZ_SEED ?? 20261124);
const dir = mkdtempSync(join(tmpdir(), 'runai-fuzz-'));
let server: Server;
let url: string;
let ca: string;
let answer: { status: number; body: string; type: string } = { status: 200, body: '{}', type: 'application/json' };

/** Deterministic pseudo-random numbers (mulberry32): the same seed gives the same cases. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GOOD = {
  token: { accessToken: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' },
  cluster: { uuid: '6f1c1a0e-0000-4000-8000-000000000001', name: 'dgx-lab', status: { state: 'Connected' }, version: '2.21.63' },
  info: { installationStr: 'helm upgrade -i runai-cluster runai/runai-cluster --version=2.21.63 --set controlPlane.clientSecret=s3cr3t' },
};

function malformedBodies(random: () => number): string[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  const weird: unknown[] = [null, true, 0, -1, 1e308, '', 'x', [], {}, [null], { a: { b: { c: null } } }, 'ﾠ\u202e', '\u0000'];
  const fixed = [
    '',
    ' ',
    'null',
    '[]',
    '{',
    '{"accessToken":',
    '<!DOCTYPE html><html><body>Keycloak login</body></html>',
    'Internal Server Error',
    '{"message": null}',
    '\u00ff\u00fe\u0000garbage',
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
    JSON.stringify(Array.from({ length: 20000 }, (_, i) => ({ uuid: `u${i}` }))),
  ];
  const generated: string[] = [];
  for (const good of [GOOD.token, GOOD.cluster, GOOD.info, [GOOD.cluster]]) {
    for (let i = 0; i < 40; i++) {
      const doc = structuredClone(good) as Record<string, unknown>;
      const target = Array.isArray(doc) ? (doc[0] as Record<string, unknown>) : doc;
      const keys = Object.keys(target);
      const mutation = Math.floor(random() * 4);
      if (mutation === 0) target[pick(keys)] = pick(weird);
      else if (mutation === 1) delete target[pick(keys)];
      else if (mutation === 2) target[pick(keys)] = { nested: pick(weird) };
      const text = JSON.stringify(doc);
      generated.push(mutation === 3 ? text.slice(0, Math.floor(random() * text.length)) : text);
    }
  }
  return [...fixed, ...generated];
}

function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))]);
}

/** Settles the call; an error must be a StageError naming `what`. */
async function settle(what: RegExp, call: () => Promise<unknown>): Promise<'ok' | 'refused'> {
  try {
    await within(5000, call());
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof StageError, `${String(err)} (${(err as Error)?.constructor?.name}) is not a clear stage error`);
    assert.match(err.message, what);
    return 'refused';
  }
}

describe(`Run:ai answers fuzzed (seed ${SEED})`, () => {
  before(async () => {
    const lab = ensureLabCa(join(dir, 'pki'));
    const cert = issueCert(lab, 'runai-fuzz', ['127.0.0.1'], 'server');
    ca = readFileSync(lab.caCert, 'utf8');
    server = createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(answer.status, { 'content-type': answer.type });
        res.end(answer.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('token, cluster list, cluster by id and install info: a result or a clear error naming the call, for every body', async () => {
    const bodies = malformedBodies(rng(SEED));
    const statuses = [200, 200, 200, 201, 400, 401, 403, 404, 409, 500];
    const random = rng(SEED + 1);
    const tally = { ok: 0, refused: 0 };
    const client = new RunaiClient({ url, ca, caSource: 'the fuzz CA', retryForMs: 0, requestTimeoutMs: 3000, sleep: async () => {} });
    const creds = { kind: 'password' as const, username: 'admin@lab.local', password: 'pw', source: 'runai-admin-password' };
    for (const body of bodies) {
      answer = { status: statuses[Math.floor(random() * statuses.length)]!, body, type: random() < 0.8 ? 'application/json' : 'text/html' };
      tally[await settle(/token|Run:ai|admin/i, () => client.login(creds))]++;
      // the calls below need a token: as if the login had worked
      Object.assign(client, { token: 'fuzz', creds });
      tally[await settle(/clusters|Run:ai/i, () => client.listClusters())]++;
      tally[await settle(/clusters|Run:ai/i, () => client.getCluster(GOOD.cluster.uuid))]++;
      tally[
        await settle(/install|Run:ai|client secret|cluster/i, async () => {
          const r = await client.installInfo(GOOD.cluster.uuid, '2.21');
          if (r.ready) parseInstallInfo(r.body, GOOD.cluster.uuid, 'dgx-lab');
        })
      ]++;
    }
    client.close();
    assert.ok(bodies.length >= 170, `${bodies.length} bodies`);
    assert.ok(tally.refused > bodies.length, `most malformed answers are refused clearly: ${JSON.stringify(tally)}`);
  });

  it('parseInstallInfo on arbitrary values: a result or a clear error, never a crash', () => {
    const random = rng(SEED + 2);
    for (const body of malformedBodies(random)) {
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch {
        value = body;
      }
      try {
        const info = parseInstallInfo(value, GOOD.cluster.uuid, 'dgx-lab');
        assert.ok(info.clientSecret.length > 0, 'an accepted install info always has a client secret');
      } catch (err) {
        assert.ok(err instanceof StageError, `${String(err)} is not a clear stage error`);
      }
    }
  });
});
