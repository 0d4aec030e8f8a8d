// HTTPS simulator of the Run:ai 2.21 control-plane REST API per shared/reference/runai.md ("API simulator
// spec"): tokens (API and Keycloak fallback), bearer checks, clusters, install info with a "not ready yet"
// lag, cluster state, warm-up and fault switches, and a token-protected /__sim control route.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';

export type ClusterState = 'WaitingToConnect' | 'Connected' | 'Disconnected' | 'MissingPrerequisites' | 'ServiceIssues' | 'Unknown';

export interface RunaiSimOptions {
  host?: string;
  port?: number;
  tls: { cert: string; key: string };
  /** username -> password for the password grants. */
  users: Record<string, string>;
  /** clientId / appId -> secret for the client_credentials and app_token grants. */
  apps?: Record<string, string>;
  /** Users whose tokens may read but get 403 on POST/PUT/DELETE. */
  readOnlyUsers?: string[];
  /**
   * The control plane's global.domain: what its install command writes for controlPlane.url (the bare host name,
   * as real control planes do), and the host of Keycloak's default issuer (with the port when not 443).
   */
  domain?: string;
  /** Issuer that OIDC discovery advertises and tokens carry. Default `https://<domain>[:port]/auth/realms/runai`, or `<url>/auth/realms/runai` without a domain. */
  issuer?: string;
  /** Issuer the API accepts in bearer tokens (default: `issuer`); differ to get "Issuer is not familiar.". */
  acceptedIssuer?: string;
  /** Access-token lifetime on the simulator clock (default 3600). */
  tokenTtlSeconds?: number;
  /** cluster-install-info answers 503 for the first N calls per cluster. */
  installInfoLagCalls?: number;
  /** A cluster turns Connected on the Nth GET of it after its install info was read (0/absent: only when told). */
  autoConnectAfterPolls?: number;
  /** Every route (but /__sim) answers 503 for the first N requests: control plane warming up. */
  warmupCalls?: number;
  /** Same, for the first N seconds on the simulator clock. */
  warmupSeconds?: number;
  /** Enables /__sim/* with header `x-sim-token: <controlToken>`; absent: /__sim answers 403. */
  controlToken?: string;
  /**
   * The status a create with a taken name gets. Run:ai's spec lists none for it (create_cluster: 201, 401, 403, 404,
   * 500, 503) and no public source shows one: 409 by default, settable so clients are tested against others.
   */
  duplicateNameStatus?: number;
  /** Called with every API exchange, bodies included (secrets too: for in-process conformance checks only). */
  onExchange?: (e: RunaiExchange) => void;
  /** The chart version that install info resolves a major.minor `version` to (default 2.21.63). */
  chartVersion?: string;
}

export interface SimFault {
  status: number;
  /** How many matching requests fail; absent: until cleared. */
  times?: number;
  /** Path prefix the fault applies to; absent: every route but /__sim. */
  route?: string;
}

/** DisplayedCluster as the API returns it (no secrets). */
export interface DisplayedCluster {
  uuid: string;
  tenantId: number;
  name: string;
  createdAt: string;
  domain?: string;
  version?: string;
  status: { state: ClusterState; conditions?: unknown[]; platform?: unknown };
  updatedAt: string | null;
  lastLiveness: string | null;
}

/** One API request and its answer, bodies included. */
export interface RunaiExchange {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string;
  requestBody: string;
  status: number;
  responseBody: unknown;
}

/** One answered request; never holds bodies, headers or tokens. */
export interface RunaiRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

export interface RunaiSimulator {
  url: string;
  setClusterState(uuid: string, state: ClusterState, version?: string): void;
  setFault(f: SimFault | null): void;
  /** Moves the simulator clock (token expiry, warm-up window) forward. */
  advanceClock(seconds: number): void;
  clusters(): DisplayedCluster[];
  /** The next N GET /api/v1/clusters answer without any cluster: another client creates one between a list and a create. */
  hideClustersFromList(calls: number): void;
  /** Install info without a client secret (the predecessor's silent partial answer), until switched back. */
  blankInstallSecrets(on: boolean): void;
  requests(): RunaiRequest[];
  close(): Promise<void>;
}

interface SimCluster extends DisplayedCluster {
  clientSecret: string;
  installInfoCalls: number;
  /** GETs of the cluster since its install info was first handed out; -1 before that. */
  pollsSinceInstallInfo: number;
  installedVersion?: string;
}

interface Reply {
  status: number;
  body: unknown;
}

const STATES: readonly ClusterState[] = [
  'WaitingToConnect',
  'Connected',
  'Disconnected',
  'MissingPrerequisites',
  'ServiceIssues',
  'Unknown',
];
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CHART_REPO = 'https://runai.jfrog.io/artifactory/api/helm/run-ai-charts';
const CREATE_FIELDS = ['name', 'version', 'domain'];

const apiError = (status: number, message: string): Reply => ({ status, body: { code: status, message } });
const NOT_READY = () => apiError(503, 'Please try again in few minutes.');

/** `2.21.30` stays; `2.21` resolves to the simulator's chart version when it is a 2.21 patch, else `2.21.0`. */
export function resolveChartVersion(requested: string, chartVersion: string): string {
  if (/^\d+\.\d+\.\d+/.test(requested)) return requested;
  return chartVersion.startsWith(`${requested}.`) ? chartVersion : `${requested}.0`;
}

/** Host name of a URL or bare host, as install commands write it: `https://a.b:8443/x` -> `a.b`. */
export function hostnameOf(urlOrHost: string): string {
  try {
    return new URL(urlOrHost.includes('://') ? urlOrHost : `https://${urlOrHost}`).hostname;
  } catch {
    return urlOrHost;
  }
}

/** The multi-line helm command a 2.21 control plane returns (layout of runai.md §3.4). */
export function installationString(p: {
  controlPlaneHost: string;
  clientSecret: string;
  uuid: string;
  clusterHost: string;
  chartVersion: string;
}): string {
  return [
    `helm repo add runai ${CHART_REPO} --force-update`,
    'helm repo update',
    'helm upgrade -i runai-cluster runai/runai-cluster -n runai \\',
    `--set controlPlane.url=${p.controlPlaneHost} \\`,
    `--set controlPlane.clientSecret=${p.clientSecret} \\`,
    `--set cluster.uid=${p.uuid} \\`,
    `--set cluster.url=${p.clusterHost} --version="${p.chartVersion}" --create-namespace`,
  ].join('\n');
}

function parseJsonObject(raw: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Who a /api/v1/token body claims to be, or why it is refused. */
export function tokenSubject(
  body: Record<string, unknown> | undefined,
  users: Record<string, string>,
  apps: Record<string, string>,
): { subject: string; clientId: string } | { status: 400 | 401 } {
  if (!body) return { status: 400 };
  const check = (table: Record<string, string>, id: string | undefined, secret: string | undefined) =>
    id === undefined || secret === undefined ? 400 : Object.hasOwn(table, id) && table[id] === secret ? 200 : 401;
  switch (body.grantType) {
    case 'password': {
      const username = str(body.username);
      const result = check(users, username, str(body.password));
      return result === 200 ? { subject: username!, clientId: str(body.clientID) ?? 'cli' } : { status: result };
    }
    case 'client_credentials': {
      const id = str(body.clientID);
      const result = check(apps, id, str(body.clientSecret));
      return result === 200 ? { subject: id!, clientId: id! } : { status: result };
    }
    case 'app_token': {
      const id = str(body.appID);
      const result = check(apps, id, str(body.appSecret));
      return result === 200 ? { subject: id!, clientId: id! } : { status: result };
    }
    default:
      return { status: 400 };
  }
}

export async function startRunaiSimulator(opts: RunaiSimOptions): Promise<RunaiSimulator> {
  const signingKey = randomBytes(32);
  const clusters = new Map<string, SimCluster>();
  const log: RunaiRequest[] = [];
  const chartVersion = opts.chartVersion ?? '2.21.63';
  const ttlSeconds = opts.tokenTtlSeconds ?? 3600;
  const readOnly = new Set(opts.readOnlyUsers ?? []);
  let clockOffsetMs = 0;
  const now = () => new Date(Date.now() + clockOffsetMs);
  const startedAt = now().getTime();
  let warmupCallsLeft = opts.warmupCalls ?? 0;
  let fault: SimFault | null = null;
  let hiddenListCalls = 0;
  let blankSecrets = false;
  let baseUrl = '';
  const domainUrl = () => {
    const port = new URL(baseUrl).port;
    return opts.domain ? `https://${opts.domain}${port ? `:${port}` : ''}` : baseUrl;
  };
  const issuer = () => opts.issuer ?? `${domainUrl()}/auth/realms/runai`;
  const acceptedIssuer = () => opts.acceptedIssuer ?? issuer();

  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const sign = (data: string) => createHmac('sha256', signingKey).update(data).digest();

  function issueJwt(claims: Record<string, unknown>): string {
    const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
    return `${head}.${sign(head).toString('base64url')}`;
  }

  function issueTokens(subject: string, clientId: string) {
    const iat = Math.floor(now().getTime() / 1000);
    const claims = {
      iss: issuer(),
      sub: subject,
      preferred_username: subject,
      azp: clientId,
      iat,
      exp: iat + ttlSeconds,
      jti: randomUUID(),
    };
    return {
      accessToken: issueJwt({ ...claims, typ: 'Bearer' }),
      idToken: issueJwt({ ...claims, typ: 'ID' }),
      refreshToken: randomBytes(24).toString('base64url'),
    };
  }

  /** The bearer token's subject, or the 401 it earns. */
  function authenticate(req: IncomingMessage): { subject: string } | Reply {
    const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const [head, payload, signature] = token?.split('.') ?? [];
    if (!head || !payload || !signature) return apiError(401, 'Unauthorized');
    const expected = sign(`${head}.${payload}`);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return apiError(401, 'Unauthorized');
    const claims = parseJsonObject(Buffer.from(payload, 'base64url').toString('utf8'));
    if (!claims || claims.typ !== 'Bearer' || typeof claims.exp !== 'number' || typeof claims.sub !== 'string')
      return apiError(401, 'Unauthorized');
    if (claims.iss !== acceptedIssuer()) return apiError(401, 'Issuer is not familiar.');
    if (claims.exp * 1000 <= now().getTime()) return apiError(401, 'Unauthorized');
    return { subject: claims.sub };
  }

  const displayed = (c: SimCluster): DisplayedCluster => {
    const { clientSecret: _s, installInfoCalls: _i, pollsSinceInstallInfo: _p, installedVersion: _v, ...rest } = c;
    return structuredClone(rest);
  };

  function setState(c: SimCluster, state: ClusterState, version?: string): void {
    const at = now().toISOString();
    c.status =
      state === 'WaitingToConnect'
        ? { state }
        : {
            state,
            conditions: [
              state === 'Connected'
                ? { type: 'Available', status: 'True', reason: 'Available', message: '', lastTransitionTime: at }
                : { type: 'Available', status: 'False', reason: state, message: `Cluster is ${state}`, lastTransitionTime: at },
            ],
            platform: { type: 'vanilla', kubeVersion: 'v1.31.9' },
          };
    if (state === 'Connected') {
      c.lastLiveness = at;
      c.version = version ?? c.installedVersion ?? c.version ?? chartVersion;
    } else if (version) c.version = version;
    c.updatedAt = at;
  }

  function findByName(name: string): SimCluster | undefined {
    return [...clusters.values()].find((c) => c.name === name);
  }

  function keycloakToken(raw: string): Reply {
    const form = new URLSearchParams(raw);
    const grant = form.get('grant_type');
    if (!grant) return { status: 400, body: { error: 'invalid_request', error_description: 'Missing form parameter: grant_type' } };
    if (form.get('client_id') !== 'runai')
      return { status: 401, body: { error: 'invalid_client', error_description: 'Invalid client or Invalid client credentials' } };
    if (grant !== 'password')
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Unsupported grant_type' } };
    const username = form.get('username') ?? '';
    if (!Object.hasOwn(opts.users, username) || opts.users[username] !== form.get('password')) {
      return { status: 401, body: { error: 'invalid_grant', error_description: 'Invalid user credentials' } };
    }
    const t = issueTokens(username, 'runai');
    return {
      status: 200,
      body: {
        access_token: t.accessToken,
        expires_in: ttlSeconds,
        refresh_expires_in: 1800,
        refresh_token: t.refreshToken,
        token_type: 'Bearer',
        id_token: t.idToken,
        scope: 'openid',
      },
    };
  }

  function clusterRoutes(req: IncomingMessage, url: URL, raw: string, subject: string): Reply {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && readOnly.has(subject)) return apiError(403, 'You do not have sufficient permissions.');
    const path = url.pathname;
    if (path === '/api/v1/clusters' && method === 'GET') {
      if (hiddenListCalls > 0) {
        hiddenListCalls--;
        return { status: 200, body: [] };
      }
      return { status: 200, body: [...clusters.values()].map(displayed) };
    }
    if (path === '/api/v1/clusters' && method === 'POST') {
      const b = parseJsonObject(raw);
      const name = str(b?.name)?.trim();
      if (!b || !name || Object.keys(b).some((k) => !CREATE_FIELDS.includes(k)))
        return apiError(400, 'Bad request - Resource should have a name');
      if (findByName(b.name as string)) return apiError(opts.duplicateNameStatus ?? 409, 'Resource with this name already exists');
      const c: SimCluster = {
        uuid: randomUUID(),
        tenantId: 1001,
        name: b.name as string,
        createdAt: now().toISOString(),
        ...(str(b.domain) ? { domain: b.domain as string } : {}),
        ...(str(b.version) ? { version: b.version as string } : {}),
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
    if (!m) return apiError(404, 'Not found');
    const id = decodeURIComponent(m[1]!);
    if (!UUID_RE.test(id)) return apiError(400, 'Bad request - clusterUuid must be a UUID');
    const c = clusters.get(id);
    if (!c) return apiError(404, 'Resource id not found.');

    if (m[2]) {
      if (method !== 'GET') return apiError(404, 'Not found');
      const requested = url.searchParams.get('version');
      if (!requested) return apiError(400, 'Required parameter is missing');
      c.installInfoCalls++;
      if (c.installInfoCalls <= (opts.installInfoLagCalls ?? 0)) return NOT_READY();
      if (c.pollsSinceInstallInfo < 0) c.pollsSinceInstallInfo = 0;
      c.installedVersion = resolveChartVersion(requested, chartVersion);
      const controlPlaneHost = opts.domain ?? new URL(baseUrl).hostname;
      const remote = url.searchParams.get('remoteClusterUrl');
      const clusterHost = remote ? hostnameOf(remote) : c.domain ? hostnameOf(c.domain) : controlPlaneHost;
      const clientSecret = blankSecrets ? '' : c.clientSecret;
      const installationStr = installationString({
        controlPlaneHost,
        clientSecret,
        uuid: c.uuid,
        clusterHost,
        chartVersion: c.installedVersion,
      });
      return { status: 200, body: { installationStr, repositoryName: 'runai', chartRepoURL: CHART_REPO, clientSecret } };
    }
    if (method === 'GET') {
      const autoAfter = opts.autoConnectAfterPolls ?? 0;
      if (autoAfter > 0 && c.pollsSinceInstallInfo >= 0 && c.status.state !== 'Connected') {
        c.pollsSinceInstallInfo++;
        if (c.pollsSinceInstallInfo >= autoAfter) setState(c, 'Connected');
      }
      return { status: 200, body: displayed(c) };
    }
    if (method === 'PUT') {
      const b = parseJsonObject(raw);
      const name = str(b?.name)?.trim();
      if (!b || !name || Object.keys(b).some((k) => k !== 'name')) return apiError(400, 'Bad request - Resource should have a name');
      const other = findByName(b.name as string);
      if (other && other !== c) return apiError(409, 'Resource with this name already exists');
      c.name = b.name as string;
      c.updatedAt = now().toISOString();
      return { status: 204, body: null };
    }
    if (method === 'DELETE') {
      clusters.delete(id);
      return url.searchParams.get('force') === 'true'
        ? { status: 204, body: null }
        : { status: 202, body: { code: 202, message: 'Request has been accepted.' } };
    }
    return apiError(404, 'Not found');
  }

  function route(req: IncomingMessage, url: URL, raw: string): Reply {
    const path = url.pathname;
    const warmingUp = warmupCallsLeft > 0 || now().getTime() - startedAt < (opts.warmupSeconds ?? 0) * 1000;
    if (warmupCallsLeft > 0) warmupCallsLeft--;
    if (warmingUp) return NOT_READY();
    if (fault && (!fault.route || path.startsWith(fault.route)) && (fault.times === undefined || fault.times > 0)) {
      if (fault.times !== undefined) fault.times--;
      return fault.status === 503 ? NOT_READY() : apiError(fault.status, `Simulated failure ${fault.status}`);
    }
    if (req.method === 'POST' && path === '/api/v1/token') {
      const who = tokenSubject(parseJsonObject(raw), opts.users, opts.apps ?? {});
      if ('status' in who)
        return who.status === 401 ? apiError(401, 'Invalid credentials') : apiError(400, 'Required parameter is missing');
      return { status: 200, body: issueTokens(who.subject, who.clientId) };
    }
    if (req.method === 'POST' && path === '/auth/realms/runai/protocol/openid-connect/token') return keycloakToken(raw);
    if (req.method === 'GET' && path === '/auth/realms/runai/.well-known/openid-configuration') {
      const realm = `${baseUrl}/auth/realms/runai`;
      return {
        status: 200,
        body: {
          issuer: issuer(),
          authorization_endpoint: `${realm}/protocol/openid-connect/auth`,
          token_endpoint: `${realm}/protocol/openid-connect/token`,
          jwks_uri: `${realm}/protocol/openid-connect/certs`,
          grant_types_supported: ['password', 'client_credentials', 'refresh_token'],
        },
      };
    }
    // Everything else, the predecessor's legacy /v1/k8s/clusters routes included, is unknown.
    if (!path.startsWith('/api/v1/')) return apiError(404, 'Not found');
    const auth = authenticate(req);
    if (!('subject' in auth)) return auth;
    return clusterRoutes(req, url, raw, auth.subject);
  }

  function control(req: IncomingMessage, path: string, raw: string): Reply {
    if (!opts.controlToken || req.headers['x-sim-token'] !== opts.controlToken) return apiError(403, 'Forbidden');
    const stateRoute = /^\/__sim\/clusters\/([^/]+)\/state$/.exec(path);
    if (stateRoute && req.method === 'POST') {
      const c = clusters.get(decodeURIComponent(stateRoute[1]!));
      if (!c) return apiError(404, 'Resource id not found.');
      const b = parseJsonObject(raw);
      if (!STATES.includes(b?.state as ClusterState)) return apiError(400, `state must be one of ${STATES.join(', ')}`);
      setState(c, b!.state as ClusterState, str(b!.version));
      return { status: 200, body: displayed(c) };
    }
    if (path === '/__sim/fault' && req.method === 'POST') {
      const b = parseJsonObject(raw);
      if (b && typeof b.status !== 'number') return apiError(400, 'fault needs a numeric status (or null to clear)');
      fault = b
        ? {
            status: b.status as number,
            ...(typeof b.times === 'number' ? { times: b.times } : {}),
            ...(str(b.route) ? { route: b.route as string } : {}),
          }
        : null;
      return { status: 200, body: { fault } };
    }
    if (path === '/__sim/clusters' && req.method === 'GET') return { status: 200, body: [...clusters.values()].map(displayed) };
    if (path === '/__sim/requests' && req.method === 'GET') return { status: 200, body: log };
    return apiError(404, 'Not found');
  }

  function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const url = new URL(req.url ?? '/', 'https://sim');
    let reply: Reply;
    try {
      reply = url.pathname.startsWith('/__sim/') ? control(req, url.pathname, raw) : route(req, url, raw);
    } catch (err) {
      reply = apiError(500, (err as Error).message);
    }
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(reply.body === null ? '' : JSON.stringify(reply.body));
    if (!url.pathname.startsWith('/__sim/')) {
      const query = Object.fromEntries(url.searchParams);
      log.push({ method: req.method ?? '', path: url.pathname, query, status: reply.status });
      opts.onExchange?.({
        method: req.method ?? '',
        path: url.pathname,
        query: { ...query },
        contentType: String(req.headers['content-type'] ?? ''),
        requestBody: raw,
        status: reply.status,
        responseBody: structuredClone(reply.body),
      });
    }
  }

  const server = createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as { address: string; port: number };
  baseUrl = `https://${address.address}${address.port === 443 ? '' : `:${address.port}`}`;

  return {
    url: baseUrl,
    setClusterState(uuid, state, version) {
      const c = clusters.get(uuid);
      if (!c) throw new Error(`runai-sim: no cluster ${uuid}`);
      setState(c, state, version);
    },
    setFault(f) {
      fault = f ? { ...f } : null;
    },
    advanceClock(seconds) {
      clockOffsetMs += seconds * 1000;
    },
    clusters: () => [...clusters.values()].map(displayed),
    hideClustersFromList(calls) {
      hiddenListCalls = calls;
    },
    blankInstallSecrets(on) {
      blankSecrets = on;
    },
    requests: () => log.map((e) => ({ ...e, query: { ...e.query } })),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
