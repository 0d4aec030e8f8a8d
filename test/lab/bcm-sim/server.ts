// HTTPS simulator of BCM's CMDaemon `/json` API per shared/reference/bcm-api.md "Simulator spec":
// login cookie or client certificate, the node/network/status calls, 400 for unknown calls, and fault switches.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { BcmFixture } from './fixture.ts';
import { deviceStatus } from './fixture.ts';

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
  const tokens = new Set<string>();
  const log: SimRequest[] = [];
  let fault: (BcmFault & { remaining?: number }) | null = null;
  const allNodes = fixture.nodes;
  const byHostname = new Map(allNodes.map((n) => [n.hostname as string, n]));
  const byUuid = new Map([...allNodes, ...fixture.switches].map((n) => [n.uuid as string, n]));
  // Serialised once: 10,000 nodes are ~40 MB of JSON; re-encoding them per call would dominate.
  const cache = new Map<string, string>();
  const cached = (key: string, make: () => unknown) => {
    let v = cache.get(key);
    if (v === undefined) cache.set(key, (v = JSON.stringify(make())));
    return v;
  };
  const compute = allNodes.filter((n) => n.childType !== 'HeadNode');
  const heads = allNodes.filter((n) => n.childType === 'HeadNode');

  function dispatch(service: string, call: string, args: unknown[]): { status: number; body: string } {
    const json = (v: unknown) => ({ status: 200, body: JSON.stringify(v) });
    const one = (map: Map<string, Record<string, unknown>>) => {
      const key = String(args[0] ?? '');
      if (key === 'master') return json(heads[0] ?? null);
      return json(map.get(key) ?? byUuid.get(key) ?? null);
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
        return one(byHostname);
      case 'cmdevice.getDevice':
        return one(new Map([...byHostname, ...fixture.switches.map((s) => [s.hostname as string, s] as const)]));
      case 'cmdevice.getDevicesByUuids':
        return json(((args[0] as unknown[]) ?? []).map((u) => byUuid.get(String(u))).filter(Boolean));
      case 'cmdevice.getCategories':
        return json(fixture.categories);
      case 'cmnet.getNetworks':
        return json(fixture.networks);
      case 'cmnet.getNetwork':
        return json(fixture.networks.find((n) => n.name === args[0] || n.uuid === args[0]) ?? null);
      case 'cmstatus.getStatusForDevices':
        return json(((args[0] as unknown[]) ?? []).map((u) => fixture.statuses.get(String(u)) ?? null));
      case 'cmmain.ping':
        return json(true);
      case 'cmmain.getVersion':
        return json({ cmVersion: fixture.version === 'bcm10' ? '10.0' : '11.0', cmBuildIndex: 123, cmBuildHash: 'abc123' });
      case 'cmmain.need_uuid':
        return json(true);
      case 'cmmain.getActivePassiveUuids':
        return json([heads[0]?.uuid, '00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000']);
      default:
        return { status: 400, body: `Unknown call ${service}.${call}` };
    }
  }

  const faultFor = (call: string | undefined) =>
    fault && fault.kind !== 'login-rejects' && (!fault.call || fault.call === call) ? fault : null;

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const send = (status: number, body: string, headers: Record<string, string | string[]> = {}, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, ...headers });
      res.end(body);
    };
    const socket = req.socket as TLSSocket;
    const certOk = socket.authorized === true && Boolean(socket.getPeerCertificate?.()?.subject);

    if (req.method === 'GET' && req.url === '/rest/v1/version') {
      return send(
        200,
        JSON.stringify({
          cm_version: fixture.version === 'bcm10' ? '10.25.03' : '11.25.03',
          cmd_version: '1.0',
          build_hash: 'abc123',
          build_index: 123,
          database_version: 42,
        }),
      );
    }
    if (req.method === 'POST' && req.url === '/_sim/control') {
      if (!opts.controlToken || req.headers['x-sim-token'] !== opts.controlToken) return send(403, '{"error":"forbidden"}');
      const cmd = JSON.parse(raw) as {
        fault?: BcmFault | null;
        nodeStatus?: { hostname: string; status: string; closed?: boolean };
        expireSessions?: boolean;
      };
      if ('fault' in cmd) sim.setFault(cmd.fault ?? null);
      if (cmd.nodeStatus) sim.setNodeStatus(cmd.nodeStatus.hostname, cmd.nodeStatus.status, cmd.nodeStatus.closed);
      if (cmd.expireSessions) sim.expireSessions();
      return send(200, '{"ok":true}');
    }
    if (req.method !== 'POST' || req.url !== '/json') return send(404, 'not found', {}, 'text/plain');
    let body: { service?: unknown; call?: unknown; args?: unknown; arg?: unknown; username?: unknown; password?: unknown };
    try {
      body = JSON.parse(raw);
    } catch {
      log.push({ service: '?', authenticated: 'none', status: 400 });
      return send(400, 'Invalid JSON', {}, 'text/plain');
    }
    const service = String(body.service ?? '').toLowerCase();
    const call = body.call === undefined ? undefined : String(body.call);

    if (service === 'login') {
      const ok =
        typeof body.username === 'string' && opts.users[body.username] !== undefined && opts.users[body.username] === body.password;
      if (ok && fault?.kind !== 'login-rejects') {
        const token = randomBytes(24).toString('base64url').slice(0, 32);
        tokens.add(token);
        log.push({ service, authenticated: 'none', status: 200 });
        return send(200, 'true', { 'set-cookie': `cm-login-token=${token}; Path=/; Secure; HttpOnly` });
      }
      const mode = fault?.kind === 'login-rejects' ? fault.mode : 'false';
      log.push({ service, authenticated: 'none', status: mode === '401' ? 401 : 200 });
      if (mode === '401') return send(401, '{"error":"Invalid credentials"}');
      return send(200, mode === 'errormessage' ? '{"errormessage":"Invalid username or password"}' : 'false');
    }

    const cookie = /cm-login-token=([^;\s]+)/.exec(String(req.headers.cookie ?? ''))?.[1];
    const authenticated: SimRequest['authenticated'] = certOk ? 'cert' : cookie && tokens.has(cookie) ? 'cookie' : 'none';
    const f = faultFor(call);
    if (f?.kind === 'html-login-page') {
      log.push({ service, call, authenticated, status: 200 });
      return send(200, HTML_LOGIN, {}, 'text/html');
    }
    if (authenticated === 'none') {
      log.push({ service, call, authenticated, status: 401 });
      return send(401, 'Unauthorized', {}, 'text/plain');
    }
    if (f) {
      if (f.kind === 'http-status') {
        if (f.remaining === undefined || f.remaining > 0) {
          if (f.remaining !== undefined) f.remaining--;
          log.push({ service, call, authenticated, status: f.status });
          return send(f.status, `Simulated HTTP ${f.status}`, {}, 'text/plain');
        }
      } else if (f.kind === 'slow') {
        await new Promise((r) => setTimeout(r, f.delayMs));
        if (res.destroyed) return;
      } else if (f.kind === 'malformed-json') {
        log.push({ service, call, authenticated, status: 200 });
        return send(200, '[{"baseType":"Device","hostname":"dgx-0');
      } else if (f.kind === 'errormessage') {
        log.push({ service, call, authenticated, status: 200 });
        return send(200, JSON.stringify({ errormessage: f.message }));
      } else if (f.kind === 'reset') {
        log.push({ service, call, authenticated, status: 0 });
        req.socket.destroy();
        return;
      }
    }
    const args = Array.isArray(body.args) ? body.args : body.arg !== undefined ? [body.arg] : [];
    const out = dispatch(service, call ?? '', args);
    log.push({ service, call, authenticated, status: out.status });
    return send(out.status, out.body, {}, out.status === 200 ? 'application/json' : 'text/plain');
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
        handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: Error) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`simulator error: ${err.message}`);
        });
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as { address: string; port: number };

  const sim: BcmSimulator = {
    url: `https://${address.address}:${address.port}`,
    setFault(f) {
      fault = f ? { ...f, ...(f.kind === 'http-status' && f.times !== undefined ? { remaining: f.times } : {}) } : null;
    },
    setNodeStatus(hostname, status, closed = false) {
      const node = byHostname.get(hostname);
      if (!node) throw new Error(`simulator: no node '${hostname}'`);
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
