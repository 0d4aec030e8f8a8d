// HTTPS simulator of the Run:ai 2.21 control-plane REST API per shared/reference/runai.md
// ("API simulator spec"): tokens, clusters, install info (with "not ready yet" lag), Connected state.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';

export type ClusterState = 'WaitingToConnect' | 'Connected' | 'Disconnected' | 'MissingPrerequisites' | 'ServiceIssues' | 'Unknown';

export interface RunaiSimOptions {
  host?: string;
  port?: number;
  tls: { cert: string; key: string };
  users: Record<string, string>;
  apps?: Record<string, string>;
  issuer?: string;
  /** cluster-install-info answers 503 for the first N calls after a cluster is created. */
  installInfoLagCalls?: number;
  /** A cluster turns Connected after this many GETs of it once install info was read (0: only when told). */
  autoConnectAfterPolls?: number;
  /** Every route answers 503 for the first N requests (control plane warming up). */
  warmupCalls?: number;
  controlToken?: string;
  chartVersion?: string;
}

interface SimCluster {
  uuid: string;
  tenantId: number;
  name: string;
  createdAt: string;
  domain?: string;
  version?: string;
  status: { state: ClusterState; conditions?: unknown[]; platform?: unknown };
  updatedAt: string | null;
  lastLiveness: string | null;
  clientSecret: string;
  installInfoCalls: number;
  pollsSinceInstallInfo: number;
}

export interface RunaiRequest {
  method: string;
  path: string;
  status: number;
}

export interface RunaiSimulator {
  url: string;
  setClusterState(uuid: string, state: ClusterState): void;
  setFault(f: { status: number; times?: number; route?: string } | null): void;
  clusters(): Array<Omit<SimCluster, 'clientSecret' | 'installInfoCalls' | 'pollsSinceInstallInfo'>>;
  requests(): RunaiRequest[];
  close(): Promise<void>;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function startRunaiSimulator(opts: RunaiSimOptions): Promise<RunaiSimulator> {
  const tokens = new Map<string, { subject: string; issuer: string }>();
  const clusters = new Map<string, SimCluster>();
  const log: RunaiRequest[] = [];
  let warmup = opts.warmupCalls ?? 0;
  let fault: { status: number; remaining?: number; route?: string } | null = null;
  const chartVersion = opts.chartVersion ?? '2.21.63';
  let baseUrl = '';
  const issuer = () => opts.issuer ?? `${baseUrl}/auth/realms/runai`;

  const displayed = (c: SimCluster) => {
    const { clientSecret: _s, installInfoCalls: _i, pollsSinceInstallInfo: _p, ...rest } = c;
    return rest;
  };

  function setState(c: SimCluster, state: ClusterState): void {
    const now = new Date().toISOString();
    c.status =
      state === 'Connected'
        ? {
            state,
            conditions: [{ type: 'Available', status: 'True', reason: 'Available', message: '', lastTransitionTime: now }],
            platform: { type: 'vanilla', kubeVersion: 'v1.31.9' },
          }
        : { state };
    c.updatedAt = now;
    c.lastLiveness = state === 'Connected' ? now : c.lastLiveness;
  }

  async function route(req: IncomingMessage, raw: string): Promise<{ status: number; body: unknown }> {
    const url = new URL(req.url ?? '/', 'https://sim');
    const path = url.pathname;
    const err = (status: number, message: string) => ({ status, body: { code: status, message } });
    if (warmup > 0) {
      warmup--;
      return err(503, 'Please try again in few minutes.');
    }
    if (fault && (!fault.route || path.startsWith(fault.route))) {
      if (fault.remaining === undefined || fault.remaining > 0) {
        if (fault.remaining !== undefined) fault.remaining--;
        return err(fault.status, `Simulated ${fault.status}`);
      }
    }
    const json = (): Record<string, unknown> | undefined => {
      try {
        const v = JSON.parse(raw) as unknown;
        return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    };

    if (req.method === 'POST' && path === '/api/v1/token') {
      const b = json();
      if (!b) return err(400, 'Required parameter is missing');
      let subject: string | undefined;
      if (b.grantType === 'password') {
        if (typeof b.username !== 'string' || typeof b.password !== 'string') return err(400, 'Required parameter is missing');
        if (opts.users[b.username] !== b.password) return err(401, 'Invalid credentials');
        subject = b.username;
      } else if (b.grantType === 'client_credentials') {
        const id = (b.clientId ?? b.clientID) as string | undefined;
        if (typeof id !== 'string' || typeof b.clientSecret !== 'string') return err(400, 'Required parameter is missing');
        if (opts.apps?.[id] !== b.clientSecret) return err(401, 'Invalid credentials');
        subject = `app:${id}`;
      } else if (b.grantType === 'app_token') {
        const id = (b.AppId ?? b.appID) as string | undefined;
        const secret = (b.AppSecret ?? b.appSecret) as string | undefined;
        if (typeof id !== 'string' || typeof secret !== 'string') return err(400, 'Required parameter is missing');
        if (opts.apps?.[id] !== secret) return err(401, 'Invalid credentials');
        subject = `app:${id}`;
      } else return err(400, 'Required parameter is missing');
      const token = randomBytes(32).toString('base64url');
      tokens.set(token, { subject, issuer: issuer() });
      return {
        status: 200,
        body: { accessToken: token, idToken: randomBytes(16).toString('base64url'), refreshToken: randomBytes(16).toString('base64url') },
      };
    }
    if (req.method === 'GET' && path === '/auth/realms/runai/.well-known/openid-configuration') {
      return { status: 200, body: { issuer: issuer(), token_endpoint: `${baseUrl}/auth/realms/runai/protocol/openid-connect/token` } };
    }
    if (path.startsWith('/v1/k8s/')) return err(404, 'Not found');
    if (!path.startsWith('/api/v1/')) return err(404, 'Not found');

    const bearer = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const session = bearer ? tokens.get(bearer) : undefined;
    if (!session) return err(401, 'Unauthorized');
    if (session.issuer !== issuer()) return err(401, 'Issuer is not familiar.');

    if (path === '/api/v1/clusters' && req.method === 'GET') return { status: 200, body: [...clusters.values()].map(displayed) };
    if (path === '/api/v1/clusters' && req.method === 'POST') {
      const b = json();
      if (!b || typeof b.name !== 'string' || !b.name.trim() || Object.keys(b).some((k) => !['name', 'version', 'domain'].includes(k))) {
        return err(400, 'Bad request - Resource should have a name');
      }
      if ([...clusters.values()].some((c) => c.name === b.name)) return err(409, 'Resource with this name already exists');
      const c: SimCluster = {
        uuid: randomUUID(),
        tenantId: 1001,
        name: b.name,
        createdAt: new Date().toISOString(),
        ...(typeof b.domain === 'string' ? { domain: b.domain } : {}),
        ...(typeof b.version === 'string' ? { version: b.version } : {}),
        status: { state: 'WaitingToConnect' },
        updatedAt: null,
        lastLiveness: null,
        clientSecret: randomBytes(24).toString('base64url').slice(0, 32),
        installInfoCalls: 0,
        pollsSinceInstallInfo: -1,
      };
      clusters.set(c.uuid, c);
      return { status: 201, body: displayed(c) };
    }
    const m = /^\/api\/v1\/clusters\/([^/]+)(\/cluster-install-info)?$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      if (!UUID_RE.test(id)) return err(400, 'Invalid cluster uuid');
      const c = clusters.get(id);
      if (!c) return err(404, 'Resource id not found.');
      if (m[2] && req.method === 'GET') {
        if (!url.searchParams.get('version')) return err(400, 'Required parameter is missing');
        c.installInfoCalls++;
        if (c.installInfoCalls <= (opts.installInfoLagCalls ?? 0)) return err(503, 'Please try again in few minutes.');
        if (c.pollsSinceInstallInfo < 0) c.pollsSinceInstallInfo = 0;
        const cpHost = new URL(baseUrl).host;
        const clusterUrl = url.searchParams.get('remoteClusterUrl') ?? c.domain ?? cpHost;
        const installationStr = [
          'helm repo add runai https://runai.jfrog.io/artifactory/api/helm/run-ai-charts --force-update',
          'helm repo update',
          'helm upgrade -i runai-cluster runai/runai-cluster -n runai \\',
          `--set controlPlane.url=${cpHost} \\`,
          `--set controlPlane.clientSecret=${c.clientSecret} \\`,
          `--set cluster.uid=${c.uuid} \\`,
          `--set cluster.url=${clusterUrl} --version="${chartVersion}" --create-namespace`,
        ].join('\n');
        return {
          status: 200,
          body: {
            installationStr,
            repositoryName: 'runai',
            chartRepoURL: 'https://runai.jfrog.io/artifactory/api/helm/run-ai-charts',
            clientSecret: c.clientSecret,
          },
        };
      }
      if (!m[2] && req.method === 'GET') {
        if (c.pollsSinceInstallInfo >= 0 && opts.autoConnectAfterPolls && c.status.state !== 'Connected') {
          c.pollsSinceInstallInfo++;
          if (c.pollsSinceInstallInfo >= opts.autoConnectAfterPolls) setState(c, 'Connected');
        }
        return { status: 200, body: displayed(c) };
      }
      if (!m[2] && req.method === 'DELETE') {
        clusters.delete(id);
        return url.searchParams.get('force') === 'true'
          ? { status: 204, body: null }
          : { status: 202, body: { code: 202, message: 'Request has been accepted.' } };
      }
    }
    return err(404, 'Not found');
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<RunaiRequest> {
    const path = new URL(req.url ?? '/', 'https://sim').pathname;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === null ? '' : JSON.stringify(body));
      return { method: req.method ?? '', path, status };
    };
    const control = /^\/__sim\/clusters\/([^/]+)\/state$/.exec(path);
    if (control && req.method === 'POST') {
      if (!opts.controlToken || req.headers['x-sim-token'] !== opts.controlToken) return send(403, { code: 403, message: 'forbidden' });
      const c = clusters.get(control[1]!);
      if (!c) return send(404, { code: 404, message: 'Resource id not found.' });
      setState(c, (JSON.parse(raw) as { state: ClusterState }).state);
      return send(200, displayed(c));
    }
    const out = await route(req, raw);
    return send(out.status, out.body);
  }

  const server = createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8'))
        .then((entry) => log.push(entry))
        .catch((e: Error) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ code: 500, message: e.message }));
        });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as { address: string; port: number };
  baseUrl = `https://${address.address}${address.port === 443 ? '' : `:${address.port}`}`;

  return {
    url: baseUrl,
    setClusterState(uuid, state) {
      const c = clusters.get(uuid);
      if (!c) throw new Error(`simulator: no cluster ${uuid}`);
      setState(c, state);
    },
    setFault(f) {
      fault = f
        ? { status: f.status, ...(f.times !== undefined ? { remaining: f.times } : {}), ...(f.route ? { route: f.route } : {}) }
        : null;
    },
    clusters: () => [...clusters.values()].map(displayed),
    requests: () => [...log],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
