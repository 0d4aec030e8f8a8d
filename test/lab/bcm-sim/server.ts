// HTTPS simulator of BCM's CMDaemon `/json` API per shared/reference/bcm-api.md "Simulator spec":
// login cookie or client certificate, the node/network/status calls, 400 for unknown calls, and fault switches.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { BcmFixture } from './fixture.ts';
import { deviceStatus, ZERO_UUID } from './fixture.ts';

export type BcmFault =
  | { kind: 'http-status'; status: number; times?: number; call?: string }
  | { kind: 'slow'; delayMs: number; call?: string }
  | { kind: 'malformed-json'; call?: string }
  | { kind: 'html-login-page'; call?: string }
  | { kind: 'errormessage'; message: string; call?: string }
  | { kind: 'reset'; call?: string }
  | { kind: 'login-rejects'; mode: 'false' | 'errormessage' | '401' };

export interface BcmSimOptions {
  fixture: BcmFixture;
  host?: string;
  port?: number;
  tls: { cert: string; key: string; ca: string };
  users: Record<string, string>;
  controlToken?: string;
}

export interface SimRequest {
  service: string;
  call?: string;
  authenticated: 'cookie' | 'cert' | 'none';
  status: number;
}

export interface BcmSimulator {
  url: string;
  setFault(f: BcmFault | null): void;
  setNodeStatus(hostname: string, status: string, closed?: boolean): void;
  expireSessions(): void;
  requests(): SimRequest[];
  close(): Promise<void>;
}

const HTML_LOGIN = '<!DOCTYPE html><html><head><title>Base Command Manager</title></head><body><form action="/login"></form></body></html>';

export async function startBcmSimulator(opts: BcmSimOptions): Promise<BcmSimulator> {
  const { fixture } = opts;
  const host = opts.host ?? '127.0.0.1';
  // The lab's rule: listen on loopback only.
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) throw new Error(`BCM simulator: host ${host} is not a 127.0.0.0/8 address`);
  const tokens = new Set<string>();
  const log: SimRequest[] = [];
  let fault: (BcmFault & { remaining?: number }) | null = null;
  const allNodes = fixture.nodes;
  const nodeByKey = new Map<string, Record<string, unknown>>();
  for (const n of allNodes) nodeByKey.set(n.hostname as string, n).set(n.uuid as string, n);
  const deviceByKey = new Map(nodeByKey);
  for (const s of fixture.switches) deviceByKey.set(s.hostname as string, s).set(s.uuid as string, s);
  // Serialised once: 10,000 nodes are ~30 MB of JSON; re-encoding them per call would dominate.
  // Statuses are not cached: setNodeStatus changes them, and callers ask for a few UUIDs at a time.
  // Kept as UTF-8 bytes so each answer is a plain write. getNodes (the call clients make) is encoded at start.
  const cache = new Map<string, Buffer>();
  const cached = (key: string, make: () => unknown) => {
    let v = cache.get(key);
    if (v === undefined) cache.set(key, (v = Buffer.from(JSON.stringify(make()))));
    return v;
  };
  const compute = allNodes.filter((n) => n.childType !== 'HeadNode');
  const heads = allNodes.filter((n) => n.childType === 'HeadNode');
  cached('nodes', () => allNodes);

  function dispatch(service: string, call: string, args: unknown[]): { status: number; body: string | Buffer } {
    const json = (v: unknown) => ({ status: 200, body: JSON.stringify(v) });
    const listArg = () => (Array.isArray(args[0]) ? (args[0] as unknown[]) : null);
    const one = (map: Map<string, Record<string, unknown>>) => {
      const key = String(args[0] ?? '');
      return json(key === 'master' ? (heads[0] ?? null) : (map.get(key) ?? null));
    };
    switch (`${service}.${call}`) {
      case 'cmdevice.getNodes':
        return { status: 200, body: cached('nodes', () => allNodes) };
      case 'cmdevice.getDevices':
        return { status: 200, body: cached('devices', () => [...allNodes, ...fixture.switches]) };
      case 'cmdevice.getComputeNodes':
        return { status: 200, body: cached('compute', () => compute) };
      case 'cmdevice.getHeadNodes':
        return json(heads);
      case 'cmdevice.getNode':
        return one(nodeByKey);
      case 'cmdevice.getDevice':
        return one(deviceByKey);
      case 'cmdevice.getDevicesByUuids': {
        const uuids = listArg();
        if (!uuids) return { status: 400, body: `${service}.${call} expects one argument: a list of UUIDs` };
        return json(uuids.map((u) => deviceByKey.get(String(u))).filter((d, i) => d !== undefined && d.uuid === uuids[i]));
      }
      case 'cmdevice.getCategories':
        return json(fixture.categories);
      case 'cmnet.getNetworks':
        return json(fixture.networks);
      case 'cmnet.getNetwork':
        return json(fixture.networks.find((n) => n.name === args[0] || n.uuid === args[0]) ?? null);
      case 'cmstatus.getStatusForDevices': {
        const uuids = listArg();
        if (!uuids) return { status: 400, body: `${service}.${call} expects one argument: a list of UUIDs` };
        return json(uuids.map((u) => fixture.statuses.get(String(u)) ?? null));
      }
      case 'cmmain.ping':
        return json(true);
      case 'cmmain.getVersion':
        return json({ cmVersion: fixture.version === 'bcm10' ? '10.0' : '11.0', cmBuildIndex: 123, cmBuildHash: 'abc123' });
      case 'cmmain.need_uuid':
        return json(true);
      case 'cmmain.getActivePassiveUuids':
        return json([heads[0]?.uuid ?? ZERO_UUID, ZERO_UUID, ZERO_UUID]);
      default:
        return { status: 400, body: `Unknown ${service} call specified: ${call}` };
    }
  }

  // A fault with `call` hits that call only ('getNodes' or 'cmdevice.getNodes'); without, every RPC but login.
  const faultFor = (service: string, call: string | undefined) =>
    fault && fault.kind !== 'login-rejects' && (!fault.call || fault.call === call || fault.call === `${service}.${call}`) ? fault : null;

  function authOf(req: IncomingMessage, allowBasic: boolean): SimRequest['authenticated'] {
    const socket = req.socket as TLSSocket;
    if (socket.authorized === true) return 'cert';
    const token = /(?:^|[;,\s])cm-login-token=([^;,\s]+)/.exec(String(req.headers.cookie ?? ''))?.[1];
    if (token !== undefined && tokens.has(token)) return 'cookie';
    // REST endpoints take HTTP Basic (reference §1.2 C); the request log has no separate kind for it.
    const basic = /^Basic\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    if (allowBasic && basic !== undefined) {
      const [user = '', ...rest] = Buffer.from(basic, 'base64').toString('utf8').split(':');
      if (opts.users[user] !== undefined && opts.users[user] === rest.join(':')) return 'cookie';
    }
    return 'none';
  }

  function control(raw: string, token: unknown): { status: number; body: string } {
    if (!opts.controlToken || token !== opts.controlToken) return { status: 403, body: '{"error":"forbidden"}' };
    let cmd: { fault?: BcmFault | null; nodeStatus?: { hostname: string; status: string; closed?: boolean }; expireSessions?: boolean };
    try {
      cmd = JSON.parse(raw);
    } catch {
      return { status: 400, body: '{"error":"body is not JSON"}' };
    }
    try {
      if (cmd.fault !== undefined) sim.setFault(cmd.fault);
      if (cmd.nodeStatus) sim.setNodeStatus(cmd.nodeStatus.hostname, cmd.nodeStatus.status, cmd.nodeStatus.closed);
      if (cmd.expireSessions === true) sim.expireSessions();
    } catch (err) {
      return { status: 400, body: JSON.stringify({ error: (err as Error).message }) };
    }
    return { status: 200, body: '{"ok":true}' };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const send = (status: number, body: string | Buffer, type = 'application/json', headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, ...headers });
      res.end(body);
    };
    const path = (req.url ?? '').split('?')[0];

    if (req.method === 'POST' && path === '/_sim/control') {
      const out = control(raw, req.headers['x-sim-token']);
      return send(out.status, out.body);
    }
    if (req.method === 'GET' && path === '/rest/v1/version') {
      const authenticated = authOf(req, true);
      log.push({ service: 'rest', call: 'version', authenticated, status: authenticated === 'none' ? 401 : 200 });
      if (authenticated === 'none') return send(401, 'Unauthorized', 'text/plain', { 'www-authenticate': 'Basic realm="cmd"' });
      const body = {
        cm_version: fixture.version === 'bcm10' ? '10.25.03' : '11.25.03',
        cmd_version: fixture.version === 'bcm10' ? '10.0-sim' : '11.0-sim',
        build_hash: 'abc123',
        build_index: 123,
        database_version: 42,
      };
      return send(200, JSON.stringify(body));
    }
    if (req.method !== 'POST' || path !== '/json') return send(404, 'Not found', 'text/plain');

    let body: { service?: unknown; call?: unknown; args?: unknown; arg?: unknown; username?: unknown; password?: unknown };
    try {
      body = JSON.parse(raw);
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    } catch {
      log.push({ service: '?', authenticated: 'none', status: 400 });
      return send(400, 'Invalid JSON request', 'text/plain');
    }
    const service = String(body.service ?? '').toLowerCase();
    const call = body.call === undefined ? undefined : String(body.call);

    if (service === 'login') {
      const known = typeof body.username === 'string' && Object.hasOwn(opts.users, body.username);
      const ok = known && opts.users[body.username as string] === body.password;
      if (ok && fault?.kind !== 'login-rejects') {
        const token = randomBytes(24).toString('base64url').slice(0, 32);
        tokens.add(token);
        log.push({ service, authenticated: 'none', status: 200 });
        return send(200, 'true', 'application/json', { 'set-cookie': `cm-login-token=${token}; Path=/; Secure; HttpOnly` });
      }
      const mode = fault?.kind === 'login-rejects' ? fault.mode : 'false';
      log.push({ service, authenticated: 'none', status: mode === '401' ? 401 : 200 });
      if (mode === '401') return send(401, 'Unauthorized', 'text/plain');
      return send(200, mode === 'errormessage' ? '{"errormessage":"Invalid username or password"}' : 'false');
    }

    const authenticated = authOf(req, false);
    const f = faultFor(service, call);
    const done = (status: number) => log.push({ service, call, authenticated, status });
    if (f?.kind === 'html-login-page') {
      done(200);
      return send(200, HTML_LOGIN, 'text/html');
    }
    if (authenticated === 'none') {
      done(401);
      return send(401, 'Unauthorized', 'text/plain');
    }
    if (f?.kind === 'http-status' && (f.remaining === undefined || f.remaining > 0)) {
      if (f.remaining !== undefined) f.remaining--;
      done(f.status);
      return send(f.status, `Simulated HTTP ${f.status}`, 'text/plain');
    }
    if (f?.kind === 'slow') {
      await new Promise((r) => setTimeout(r, f.delayMs));
      if (res.destroyed) return;
    }
    if (f?.kind === 'malformed-json') {
      done(200);
      return send(200, '[{"baseType":"Device","hostname":"dgx-0');
    }
    if (f?.kind === 'errormessage') {
      done(200);
      return send(200, JSON.stringify({ errormessage: f.message }));
    }
    if (f?.kind === 'reset') {
      done(0);
      req.socket.destroy();
      return;
    }
    const args = Array.isArray(body.args) ? body.args : body.arg !== undefined ? [body.arg] : [];
    const out = dispatch(service, call ?? '', args);
    done(out.status);
    return send(out.status, out.body, out.status === 200 ? 'application/json' : 'text/plain');
  }

  const server: Server = createServer(
    {
      cert: readFileSync(opts.tls.cert),
      key: readFileSync(opts.tls.key),
      ca: readFileSync(opts.tls.ca),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let raw = Buffer.concat(chunks);
        if (/gzip/i.test(String(req.headers['content-encoding'] ?? ''))) {
          try {
            raw = gunzipSync(raw);
          } catch {
            res.writeHead(400, { 'content-type': 'text/plain' });
            res.end('Invalid gzip body');
            return;
          }
        }
        handle(req, res, raw.toString('utf8')).catch((err: Error) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`simulator error: ${err.message}`);
        });
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const address = server.address() as { address: string; port: number };

  const sim: BcmSimulator = {
    url: `https://${address.address}:${address.port}`,
    setFault(f) {
      fault = f ? { ...f, ...(f.kind === 'http-status' && f.times !== undefined ? { remaining: f.times } : {}) } : null;
    },
    setNodeStatus(hostname, status, closed = false) {
      const node = nodeByKey.get(hostname);
      if (!node || node.hostname !== hostname) throw new Error(`simulator: no node '${hostname}'`);
      fixture.statuses.set(node.uuid as string, deviceStatus(node.uuid as string, status, closed));
    },
    expireSessions() {
      tokens.clear();
    },
    requests: () => [...log],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return sim;
}
