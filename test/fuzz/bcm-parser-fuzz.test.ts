// Fuzzing BCM's answers: the streaming array splitter against JSON.parse, then discover-nodes against a small
// HTTPS server (loopback, lab CA) that answers one call with a malformed body — truncated, not JSON, HTML, wrong
// types, huge, deep, invalid UTF-8, enormous numbers, duplicate keys, nulls, odd encodings and transports.
// Every answer must end in the inventory as BCM meant it, or in a StageError naming the call (or the nodes it
// left unresolved), in bounded time, with the inventory of the last good run untouched.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { JsonArraySplitter } from '../../actions/lib/bcm/json-stream.ts';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { flagInputs } from '../../actions/lib/report/inputs.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import { discoverStage } from '../../actions/lib/stages/discover.ts';
import { StageError } from '../../actions/lib/util/errors.ts';
import { buildBcmFixture, type SimNodeInput } from '../lab/bcm-sim/fixture.ts';
import { ensureLabCa, issueCert } from '../lab/pki.ts';
import { prng } from './spec-generator.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SEED = Number(process.env.BCMKUBE_FUZZ_SEED ?? 20_260_510);
const NODES: SimNodeInput[] = [
  { hostname: 'cpu-03', index: 3, productionIp: '127.0.65.3', category: 'cpu-nodes' },
  { hostname: 'cpu-05', index: 5, productionIp: '127.0.65.5', category: 'cpu-nodes' },
  { hostname: 'cpu-06', index: 6, productionIp: '127.0.65.6', category: 'cpu-nodes' },
  { hostname: 'dgx-05', index: 105, productionIp: '127.0.65.105', category: 'dgx-h100' },
  { hostname: 'dgx-06', index: 106, productionIp: '127.0.65.106', category: 'dgx-h100' },
];
const fixture = buildBcmFixture(NODES, { version: 'bcm11', subnet: 65 });
const CALLS = ['cmdevice.getNodes', 'cmnet.getNetworks', 'cmdevice.getCategories', 'cmstatus.getStatusForDevices'] as const;
/** A case never takes longer than this; beyond it the client hangs. */
const CASE_LIMIT_MS = 15_000;

interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** The body, from the answer BCM would give (valid JSON text for this request). */
  body: (valid: string) => Buffer;
  /** Written in pieces of this many bytes… */
  chunk?: number;
  /** …with this pause between them. */
  pauseMs?: number;
  /** The connection is dropped after the body, without finishing the answer. */
  cut?: boolean;
  /** No answer at all. */
  silent?: boolean;
}

interface BodyCase {
  id: string;
  target: (typeof CALLS)[number] | 'login' | 'cmmain.getVersion';
  reply: Reply;
  /** ok: the inventory as from a good answer. fail: a StageError naming the call. either: one or the other, or a
   * StageError naming the unresolved nodes. */
  expect: 'ok' | 'fail' | 'either';
}

const bytes = (text: string) => () => Buffer.from(text);
const same = (valid: string) => Buffer.from(valid);
const HTML_LOGIN = '<!DOCTYPE html><html><head><title>Base Command Manager</title></head><body><form action="/login"></form></body></html>';
const NGINX_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';
const nest = (depth: number, open: string, close: string, inner = '1') => open.repeat(depth) + inner + close.repeat(depth);

/** Applies `edit` to every element of the valid answer (a JSON array). */
const eachElement = (edit: (e: Record<string, any>, i: number) => unknown) => (valid: string) =>
  Buffer.from(
    JSON.stringify((JSON.parse(valid) as unknown[]).map((e, i) => (e && typeof e === 'object' ? edit(structuredClone(e), i) : e))),
  );

function bodyCases(seed: number): BodyCase[] {
  const rnd = prng(seed);
  const out: BodyCase[] = [];
  const add = (target: BodyCase['target'], expect: BodyCase['expect'], reply: Reply, what: string) =>
    out.push({ id: `${target}:${what}`, target, reply, expect });

  for (const call of CALLS) {
    const streamed = call === 'cmdevice.getNodes' || call === 'cmstatus.getStatusForDevices';
    // cut short anywhere
    for (let i = 0; i < 8; i++) {
      const fraction = rnd();
      add(
        call,
        'fail',
        { body: (v) => Buffer.from(v.slice(0, Math.floor(v.length * fraction))) },
        `truncated at ${(fraction * 100).toFixed(1)}%`,
      );
    }
    // not JSON at all, or almost
    const notJson: Array<[string, string]> = [
      ['html login page', HTML_LOGIN],
      ['nginx 502 page', NGINX_502],
      ['xml', '<?xml version="1.0"?><nodes><node/></nodes>'],
      ['plain text', 'OK'],
      ['empty', ''],
      ['whitespace', ' \n\t '],
      ['NaN', 'NaN'],
      ['Infinity', '[Infinity]'],
      ['single quotes', "[{'hostname':'cpu-03'}]"],
      ['trailing comma', '[1,]'],
      ['empty element', '[,1]'],
      ['missing comma', '[1 2]'],
      ['bad escape', '["a\\x41"]'],
      ['raw control char', '["a\u0001b"]'],
      ['comment', '/* nodes */ []'],
      ['trailing garbage', '[]x'],
      ['two arrays', '[][]'],
      ['extra bracket', '[1]]'],
      ['leading zero', '[01]'],
      ['bare dot', '[.5]'],
      ['plus sign', '[+1]'],
      ['hex', '[0x10]'],
      ['bad exponent', '[1e]'],
      ['unterminated string', '["cpu-03'],
      ['unterminated object', '[{"a":1}'],
      ['object unclosed', '{"a":1'],
      ['BOM', '\ufeff[]'],
      ['NUL first', '\u0000[]'],
      ['true misspelled', 'tru'],
    ];
    for (const [what, text] of notJson) add(call, 'fail', { body: bytes(text) }, what);
    add(call, 'fail', { body: () => Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x2c, 0x7b]) }, 'invalid UTF-8, cut');
    // valid JSON of the wrong shape
    const wrongTop: Array<[string, string]> = [
      ['null', 'null'],
      ['true', 'true'],
      ['false', 'false'],
      ['zero', '0'],
      ['huge number', '1e400'],
      ['string', '"nodes"'],
      ['empty object', '{}'],
      ['object', '{"nodes": []}'],
      ['errormessage', '{"errormessage": "Invalid session"}'],
      ['errormessage not text', '{"errormessage": {"a": [1]}}'],
      ['success false', '{"success": false, "validation": [{"msg": "bad"}]}'],
      ['success false, deep validation', `{"success": false, "validation": ${nest(20_000, '{"a":', '}')}}`],
      ['deep object', nest(20_000, '{"a":', '}')],
    ];
    for (const [what, text] of wrongTop) add(call, 'fail', { body: bytes(text) }, what);
    // right shape, wrong content: BCM would never send these; nothing may crash on them
    const junk: Array<[string, Reply['body']]> = [
      ['empty list', bytes('[]')],
      ['numbers', bytes('[1,2,3]')],
      ['strings', bytes('["cpu-03","dgx-05"]')],
      ['nulls', bytes('[null,null]')],
      ['lists', bytes('[[],[[]]]')],
      ['booleans', bytes('[true,false]')],
      ['empty objects', bytes('[{},{}]')],
      ['nested deep element', bytes(`[${nest(50_000, '[', ']')}]`)],
      ['deep element', bytes(`[${nest(50_000, '{"a":', '}')}]`)],
      ['every field null', eachElement((e) => Object.fromEntries(Object.keys(e).map((k) => [k, null])))],
      ['every field a number', eachElement((e) => Object.fromEntries(Object.keys(e).map((k) => [k, 1e308])))],
      ['every field a list', eachElement((e) => Object.fromEntries(Object.keys(e).map((k) => [k, [k]])))],
      ['every field an object', eachElement((e) => Object.fromEntries(Object.keys(e).map((k) => [k, { k }])))],
      [
        'strings become numbers',
        eachElement((e) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, typeof v === 'string' ? 123 : v]))),
      ],
      ['interfaces garbage', eachElement((e) => ({ ...e, interfaces: [null, 5, 'eth0', [], { ip: 7, network: [] }] }))],
      ['interfaces a string', eachElement((e) => ({ ...e, interfaces: 'eth0' }))],
      ['enormous numbers', (v) => Buffer.from(v.replace(/:(-?\d+(\.\d+)?)([,}])/g, ':1e999999$3'))],
      ['numbers as 40 digits', (v) => Buffer.from(v.replace(/:(-?\d+)([,}])/g, ':1234567890123456789012345678901234567890$2'))],
      ['uuids duplicated', eachElement((e) => ({ ...e, uuid: 'dup', ref_device_uuid: 'dup' }))],
      ['hostnames duplicated', eachElement((e) => ({ ...e, hostname: 'cpu-03' }))],
      [
        'duplicate keys, last wins with junk',
        (v) => Buffer.from(v.replace(/\{"/g, '{"hostname":"x","uuid":"y","status":"DOWN","name":"n","')),
      ],
      ['a megabyte hostname', eachElement((e) => ({ ...e, hostname: 'h'.repeat(1 << 20) }))],
      ['metacharacter hostnames', eachElement((e) => ({ ...e, hostname: `${e.hostname ?? 'x'};touch /tmp/bcmkube-fuzz-canary-bcm` }))],
      ['50,000 junk elements', (v) => Buffer.from(`[${Array(50_000).fill('{"junk":true}').join(',')},${v.slice(1)}`)],
      ['2,000 copies', (v) => Buffer.from(JSON.stringify(Array(2_000).fill(JSON.parse(v)[1] ?? null)))],
      ['lone surrogate escapes', (v) => Buffer.from(v.replace(/"(cpu|dgx)-/g, '"\\ud800$1-'))],
      [
        'invalid UTF-8 in strings',
        (v) =>
          Buffer.concat(
            v.split('"cpu-').flatMap((p, i) => (i ? [Buffer.from([0x22, 0xc3, 0x28]), Buffer.from(`cpu-${p}`)] : [Buffer.from(p)])),
          ),
      ],
    ];
    for (const [what, body] of junk) add(call, 'either', { body }, what);
    // the valid answer, encoded or transported oddly: must work
    const fine: Array<[string, Reply]> = [
      ['1-byte chunks', { body: same, chunk: 1 }],
      ['3-byte chunks', { body: same, chunk: 3 }],
      ['64-byte chunks, paused', { body: same, chunk: 64, pauseMs: 1 }],
      ['text/html', { body: same, headers: { 'content-type': 'text/html' } }],
      ['text/plain', { body: same, headers: { 'content-type': 'text/plain; charset=latin1' } }],
      ['octet-stream', { body: same, headers: { 'content-type': 'application/octet-stream' } }],
      ['no content-type', { body: same, headers: {} }],
      ['gzip', { body: (v) => gzipSync(v), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }],
      ['gzip, 5-byte chunks', { body: (v) => gzipSync(v), chunk: 5, headers: { 'content-encoding': 'gzip' } }],
      ['pretty-printed', { body: (v) => Buffer.from(`\n\n  ${JSON.stringify(JSON.parse(v), null, 4)}\n\n`) }],
      ['escaped ASCII', { body: (v) => Buffer.from(v.replace(/"cpu-/g, '"\\u0063\\u0070\\u0075-')) }],
      [
        'brackets and quotes in extra fields',
        { body: eachElement((e) => (e && typeof e === 'object' ? { note: '],[{"\\", \\u005d', ...e, tail: '\\\\' } : e)), chunk: 16 },
      ],
      ['unknown fields', { body: eachElement((e) => (e && typeof e === 'object' ? { ...e, x_future: { a: [1, { b: null }] } } : e)) }],
      [
        'duplicate keys, last wins with the truth',
        { body: (v) => Buffer.from(v.replace(/"hostname":/g, '"hostname":"junk","hostname":')) },
      ],
    ];
    for (const [what, reply] of fine) add(call, 'ok', reply, what);
    // HTTP and transport failures
    const broken: Array<[string, Reply]> = [
      ['gzip header, plain body', { body: same, headers: { 'content-encoding': 'gzip' } }],
      ['gzip cut short', { body: (v) => gzipSync(v).subarray(0, 20), headers: { 'content-encoding': 'gzip' } }],
      ['connection dropped midway', { body: (v) => Buffer.from(v.slice(0, v.length >> 1)), cut: true }],
      ['connection dropped at once', { body: () => Buffer.alloc(0), cut: true }],
      ['HTTP 400', { status: 400, body: bytes('Unknown call') }],
      ['HTTP 401', { status: 401, body: bytes('Unauthorized') }],
      ['HTTP 403', { status: 403, body: bytes(HTML_LOGIN) }],
      ['HTTP 404', { status: 404, body: bytes('Not found') }],
      ['HTTP 302', { status: 302, headers: { location: 'https://127.0.0.1/login' }, body: bytes('') }],
      ['HTTP 204', { status: 204, body: bytes('') }],
      ['HTTP 500', { status: 500, body: bytes('{"errormessage":"internal"}') }],
      ['HTTP 502', { status: 502, body: bytes(NGINX_502) }],
      ['HTTP 503', { status: 503, body: bytes('') }],
      ['HTTP 635', { status: 635, body: bytes('') }],
      ['HTTP 418', { status: 418, body: same }],
    ];
    for (const [what, reply] of broken) add(call, 'fail', reply, what);
    if (streamed) add(call, 'fail', { body: (v) => Buffer.from(`${v.slice(0, -1)},`), chunk: 64 }, 'array never closed, chunked');
  }
  for (const [what, reply] of [
    ['false', { body: bytes('false') }],
    ['true without a cookie', { body: bytes('true'), headers: { 'content-type': 'application/json' } }],
    ['html', { body: bytes(HTML_LOGIN) }],
    ['errormessage', { body: bytes('{"errormessage":"Invalid username or password"}') }],
    ['HTTP 401', { status: 401, body: bytes('Unauthorized') }],
    ['HTTP 500', { status: 500, body: bytes('') }],
    ['garbage', { body: () => Buffer.from([0xff, 0x00, 0x7b]) }],
  ] as Array<[string, Reply]>)
    add('login', 'fail', reply, what);
  // the version is optional: any answer to it leaves discovery working
  for (const [what, text] of [
    ['html', HTML_LOGIN],
    ['null', 'null'],
    ['deep', nest(20_000, '{"a":', '}')],
    ['truncated', '{"cmVersion":"11'],
  ] as Array<[string, string]>)
    add('cmmain.getVersion', 'ok', { body: bytes(text) }, what);
  add('cmdevice.getNodes', 'fail', { body: same, silent: true }, 'no answer');
  add('cmnet.getNetworks', 'fail', { body: (v) => Buffer.from(v), chunk: 1, pauseMs: 300 }, 'a byte every 300 ms');
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The server: good answers from the fixture; the case's reply for its target call

let current: BodyCase | undefined;
const sockets = new Set<Socket>();

function validAnswer(name: string, args: unknown[]): string {
  switch (name) {
    case 'cmdevice.getNodes':
      return JSON.stringify(fixture.nodes);
    case 'cmnet.getNetworks':
      return JSON.stringify(fixture.networks);
    case 'cmdevice.getCategories':
      return JSON.stringify(fixture.categories);
    case 'cmstatus.getStatusForDevices':
      return JSON.stringify(((args[0] as string[]) ?? []).map((u) => fixture.statuses.get(u) ?? null));
    case 'cmmain.getVersion':
      return JSON.stringify({ cmVersion: '11.0' });
    case 'login':
      return 'true';
    default:
      return '';
  }
}

async function answer(res: import('node:http').ServerResponse, reply: Reply, valid: string): Promise<void> {
  if (reply.silent) return;
  const body = reply.body(valid);
  const headers = reply.headers ?? { 'content-type': 'application/json' };
  if (reply.cut) {
    res.writeHead(reply.status ?? 200, { ...headers, 'content-length': String(body.length + 1000) });
    res.write(body);
    setTimeout(() => res.socket?.destroy(), 20);
    return;
  }
  res.writeHead(reply.status ?? 200, headers);
  if (!reply.chunk) return void res.end(body);
  for (let i = 0; i < body.length; i += reply.chunk) {
    if (res.destroyed) return;
    res.write(body.subarray(i, i + reply.chunk));
    await new Promise((r) => (reply.pauseMs ? setTimeout(r, reply.pauseMs) : setImmediate(r)));
  }
  res.end();
}

function startServer(cert: { cert: string; key: string }): Promise<Server> {
  const server = createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rpc = JSON.parse(Buffer.concat(chunks).toString()) as { service: string; call?: string; args?: unknown[] };
      const name = rpc.service === 'login' ? 'login' : `${rpc.service}.${rpc.call}`;
      const valid = validAnswer(name, rpc.args ?? []);
      if (current?.target === name) return void answer(res, current.reply, valid);
      const cookie = name === 'login' ? { 'set-cookie': 'cm-login-token=fuzz0123456789abcdef0123456789ab; Path=/; Secure' } : {};
      res.writeHead(valid ? 200 : 400, { 'content-type': 'application/json', ...cookie });
      res.end(valid || 'Unknown call');
    });
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

// ---------------------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'bcm-fuzz-'));
const out = join(dir, 'out');
const inventoryFile = join(out, 'inventory.json');
let server: Server;
let spec: string;
let baseline: Buffer;

const nodesOf = (inv: Inventory) =>
  inv.nodes.map((n) => `${n.hostname} ${n.uuid} ${n.address} ${n.roles.join(',')} ${n.category} ${n.status}`);

async function discover(): Promise<{ error?: unknown; ms: number }> {
  const started = Date.now();
  const run: Promise<{ error?: unknown }> = discoverStage(flagInputs({ spec, 'out-dir': out }), new TerminalReporter(() => {})).then(
    () => ({}),
    (error: unknown) => ({ error }),
  );
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<{ error?: unknown }>((done) => {
    timer = setTimeout(() => done({ error: new Error(`HUNG: no result within ${CASE_LIMIT_MS / 1000}s`) }), CASE_LIMIT_MS);
  });
  const result = await Promise.race([run, limit]);
  clearTimeout(timer);
  for (const s of sockets) s.destroy();
  if ((result.error as Error | undefined)?.message.startsWith('HUNG')) await run; // let it end before the next case
  return { ...result, ms: Date.now() - started };
}

describe(`BCM answer fuzzing (seed ${SEED})`, () => {
  const cases = bodyCases(SEED);

  before(async () => {
    const ca = ensureLabCa(join(dir, 'pki'));
    server = await startServer(issueCert(ca, 'bcm-fuzz', ['127.0.0.1'], 'server'));
    writeFileSync(join(dir, 'bcm-password'), 'fuzz-bcm-password');
    const s = yaml.load(readFileSync(join(ROOT, 'clusters/lab.yaml'), 'utf8')) as Record<string, any>;
    const { port } = server.address() as { port: number };
    s.bcm = {
      ...s.bcm,
      endpoint: `https://127.0.0.1:${port}`,
      ca_file: ca.caCert,
      password_file: join(dir, 'bcm-password'),
      timeout_seconds: 5, // the odd-transport answers must fit even on a loaded 2-core machine
      retries: 0,
    };
    spec = join(dir, 'spec.yaml');
    writeFileSync(spec, yaml.dump(s));
    const first = await discover();
    assert.equal(first.error, undefined, String(first.error));
    baseline = readFileSync(inventoryFile);
  });
  after(async () => {
    await new Promise((r) => server?.close(r));
    for (const s of sockets) s.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates over 200 malformed answers, the same for the same seed', () => {
    console.log(
      `BCM answer cases: ${cases.length} (${cases.filter((c) => c.expect === 'fail').length} must fail, ${cases.filter((c) => c.expect === 'ok').length} must work)`,
    );
    assert.ok(cases.length >= 200);
    assert.deepEqual(
      bodyCases(SEED).map((c) => c.id),
      cases.map((c) => c.id),
    );
  });

  it('the streaming splitter agrees with JSON.parse on every body, however it is chunked', () => {
    const rnd = prng(SEED);
    const wrong: string[] = [];
    let compared = 0;
    for (const c of cases.filter((x) => x.target === 'cmdevice.getNodes' && !x.reply.headers?.['content-encoding'])) {
      const body = c.reply.body(JSON.stringify(fixture.nodes));
      let whole: unknown;
      let wholeOk = true;
      try {
        whole = JSON.parse(body.toString('utf8'));
      } catch {
        wholeOk = false;
      }
      // (1-byte pieces only for small bodies: a megabyte of them takes minutes and says nothing more)
      for (const size of [body.length < 65_536 ? 1 : 509, 2 + Math.floor(rnd() * 13), 4096, body.length || 1]) {
        const got: unknown[] = [];
        let ok = true;
        try {
          const splitter = new JsonArraySplitter((e) => got.push(e));
          for (let i = 0; i < body.length; i += size) splitter.push(body.subarray(i, i + size));
          splitter.end();
        } catch {
          ok = false;
        }
        compared++;
        const expected = wholeOk && Array.isArray(whole);
        if (ok !== expected)
          wrong.push(
            `${c.id} (chunks of ${size}): splitter ${ok ? 'accepted' : 'refused'}, JSON.parse ${expected ? 'gives a list' : 'does not'}`,
          );
        // (node's deep equality recurses: nesting 50,000 deep is compared by count)
        else if (ok && /deep|nested/.test(c.id)) assert.equal(got.length, (whole as unknown[]).length, c.id);
        else if (ok) assert.deepEqual(got, whole, `${c.id} (chunks of ${size})`);
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(compared >= 300, `${compared} comparisons`);
  });

  it('discover-nodes: the right inventory or a StageError naming the call, bounded, the last inventory untouched', async () => {
    const wrong: string[] = [];
    const tally = { ok: 0, named: 0, nodes: 0 };
    const good = nodesOf(JSON.parse(baseline.toString()) as Inventory);
    for (const c of cases) {
      current = c;
      const r = await discover();
      current = undefined;
      const err = r.error as Error | undefined;
      if (r.ms > CASE_LIMIT_MS - 1000) wrong.push(`${c.id}: took ${r.ms} ms`);
      if (!err) {
        tally.ok++;
        if (c.expect === 'fail') wrong.push(`${c.id}: discovery succeeded`);
        const inv = JSON.parse(readFileSync(inventoryFile, 'utf8')) as Inventory;
        if (c.expect === 'ok' && JSON.stringify(nodesOf(inv)) !== JSON.stringify(good))
          wrong.push(`${c.id}: inventory differs: ${nodesOf(inv).join('; ').slice(0, 300)}`);
        writeFileSync(inventoryFile, baseline); // the next case starts from the same last good run
        continue;
      }
      const call = c.target === 'login' ? 'login' : c.target;
      const message = err.message;
      if (!(err instanceof StageError)) wrong.push(`${c.id}: ${err.name}, not a StageError: ${message.slice(0, 200)}`);
      else if (c.expect === 'ok') wrong.push(`${c.id}: failed: ${message.slice(0, 300)}`);
      else if (message.includes(call)) tally.named++;
      else if (
        c.expect === 'either' &&
        /found \d+ problem\(s\); no inventory was written/.test(message) &&
        NODES.some((n) => message.includes(n.hostname))
      )
        tally.nodes++;
      else wrong.push(`${c.id}: the message names neither ${call} nor a node: ${message.slice(0, 300)}`);
      if (message.length > 5000)
        wrong.push(`${c.id}: a ${message.length}-character message: ${message.slice(0, 200)}…${message.slice(-100)}`);
      if (!readFileSync(inventoryFile).equals(baseline)) {
        wrong.push(`${c.id}: the inventory changed`);
        writeFileSync(inventoryFile, baseline);
      }
      const left = readdirSync(out).filter((f) => f !== 'inventory.json');
      if (left.length) wrong.push(`${c.id}: left ${left.join(', ')}`);
    }
    console.log(
      `BCM answers: ${tally.ok} worked, ${tally.named} failed naming the call, ${tally.nodes} failed naming the unresolved nodes`,
    );
    assert.deepEqual(wrong, []);
    assert.ok(!existsSync('/tmp/bcmkube-fuzz-canary-bcm'));
  });
});
