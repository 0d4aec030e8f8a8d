// Client for the Run:ai 2.21 control-plane REST API (reference runai.md §3): token, clusters, install info.
// TLS is verified against the given CA (never switched off). Connection errors and 502/503/504 (the control
// plane warming up) are retried with a growing pause until the call's own deadline; any other answer is final.
import { Agent, request } from 'node:https';
import { StageError } from '../util/errors.ts';
import { sleep } from './wait.ts';

export type RunaiCredentials =
  | { kind: 'password'; username: string; password: string; /** Where the user fixes it, for errors. */ source: string }
  | { kind: 'client'; clientId: string; clientSecret: string; source: string };

/** A cluster as GET /api/v1/clusters lists it (DisplayedCluster, the fields the action uses). */
export interface RunaiCluster {
  uuid: string;
  name: string;
  state: string;
  version?: string;
  domain?: string;
}

export interface RunaiClientOptions {
  /** https://<domain>[:port] */
  url: string;
  /** PEM the server certificate must chain to; absent: the system trust store. */
  ca?: string;
  /** Where the CA came from, for the TLS error message. */
  caSource: string;
  /** One request's limit. */
  requestTimeoutMs?: number;
  /** How long a call keeps retrying connection errors and 502/503/504 by default. */
  retryForMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

interface Reply {
  status: number;
  text: string;
  json: unknown;
}

/** The control plane did not give a definite answer in time (refused, reset, 502/503/504). */
export class RunaiUnavailable extends StageError {}

const TRANSIENT_STATUS = new Set([502, 503, 504]);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME|UNABLE_TO_GET_ISSUER/;
const MAX_BODY = 16 * 1024 * 1024;

function messageOf(r: Reply): string {
  const j = r.json as { message?: unknown; error_description?: unknown; error?: unknown } | undefined;
  const m = j?.message ?? j?.error_description ?? j?.error;
  return typeof m === 'string' ? m : r.text.slice(0, 120);
}

function toCluster(raw: unknown, what: string): RunaiCluster {
  const c = raw as { uuid?: unknown; name?: unknown; status?: { state?: unknown }; version?: unknown; domain?: unknown } | null;
  if (!c || typeof c.uuid !== 'string' || !c.uuid || typeof c.name !== 'string')
    throw new StageError(`Run:ai ${what}: the answer is not a cluster (no uuid/name)`);
  return {
    uuid: c.uuid,
    name: c.name,
    state: typeof c.status?.state === 'string' ? c.status.state : 'Unknown',
    ...(typeof c.version === 'string' && c.version ? { version: c.version } : {}),
    ...(typeof c.domain === 'string' && c.domain ? { domain: c.domain } : {}),
  };
}

export class RunaiClient {
  readonly url: string;
  private readonly opts: RunaiClientOptions;
  private readonly agent: Agent;
  private creds: RunaiCredentials | undefined;
  private token: string | undefined;
  /** Called with each new access token, so the caller can mask it. */
  onToken: (token: string) => void = () => {};

  constructor(opts: RunaiClientOptions) {
    let base: URL;
    try {
      base = new URL(opts.url);
    } catch {
      throw new StageError(`the Run:ai URL '${opts.url}' is not a URL (runai.url, or https://<runai.domain>:<runai.ingress_port>)`);
    }
    if (base.protocol !== 'https:') throw new StageError(`the Run:ai URL must use https, got ${opts.url}`);
    this.url = base.origin;
    this.opts = opts;
    this.agent = new Agent({ keepAlive: true, maxSockets: 4, ...(opts.ca ? { ca: opts.ca } : {}) });
  }

  close(): void {
    this.agent.destroy();
  }

  private once(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<Reply> {
    const timeoutMs = this.opts.requestTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.url),
        {
          method,
          agent: this.agent,
          headers: {
            accept: 'application/json',
            ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) req.destroy(new StageError(`Run:ai ${method} ${path}: answer larger than ${MAX_BODY} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, text, json });
          });
          res.on('error', (e) => reject(new RunaiUnavailable(e.message)));
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new RunaiUnavailable(`no answer within ${timeoutMs / 1000}s`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof StageError) return reject(e);
        if (e.code && TLS_CODES.test(e.code))
          return reject(
            new StageError(
              `TLS verification of ${this.url} failed (${e.code}): the control plane's certificate does not chain to ${this.opts.caSource}, or does not name the host. Verification is never switched off: give the CA that issued it (runai.tls.ca_file)`,
            ),
          );
        reject(new RunaiUnavailable(e.code ? `${e.code} ${e.message}` : e.message));
      });
      req.end(body);
    });
  }

  /** One call, retrying connection errors and 502/503/504 for up to `retryForMs`. */
  private async send(
    method: string,
    path: string,
    opts: { json?: unknown; form?: Record<string, string>; auth?: boolean; retryForMs?: number } = {},
  ): Promise<Reply> {
    const retryForMs = opts.retryForMs ?? this.opts.retryForMs ?? 30_000;
    const pause = this.opts.sleep ?? sleep;
    const started = Date.now();
    let interval = 250;
    for (;;) {
      const headers: Record<string, string> = {};
      let body: string | undefined;
      if (opts.json !== undefined) {
        body = JSON.stringify(opts.json);
        headers['content-type'] = 'application/json';
      } else if (opts.form) {
        body = new URLSearchParams(opts.form).toString();
        headers['content-type'] = 'application/x-www-form-urlencoded';
      }
      if (opts.auth) headers.authorization = `Bearer ${this.token}`;
      let last: string;
      try {
        const r = await this.once(method, path, body, headers);
        if (!TRANSIENT_STATUS.has(r.status)) return r;
        last = `${r.status} ${messageOf(r)}`;
      } catch (err) {
        if (!(err instanceof RunaiUnavailable)) throw err;
        last = err.message;
      }
      const left = retryForMs - (Date.now() - started);
      if (left <= 0)
        throw new RunaiUnavailable(
          `Run:ai at ${this.url} gave no definite answer to ${method} ${path} within ${Math.round(retryForMs / 1000)}s (last: ${last})`,
        );
      await pause(Math.min(interval, left));
      interval = Math.min(interval * 2, 5000);
    }
  }

  private refused(r: Reply, creds: RunaiCredentials): StageError {
    const who = creds.kind === 'password' ? `the admin login of '${creds.username}'` : `application client '${creds.clientId}'`;
    const firstInstall =
      creds.kind === 'password'
        ? '; the admin password is set when the control plane is first installed, and changing the input later does not change it'
        : '';
    return new StageError(`Run:ai refused ${who} (${r.status} ${messageOf(r)}): check ${creds.source}${firstInstall}`);
  }

  /** Gets an access token (POST /api/v1/token; Keycloak's token endpoint when that route does not exist). */
  async login(creds: RunaiCredentials, retryForMs?: number): Promise<void> {
    const body =
      creds.kind === 'password'
        ? { grantType: 'password', clientID: 'cli', username: creds.username, password: creds.password }
        : { grantType: 'client_credentials', clientID: creds.clientId, clientSecret: creds.clientSecret };
    let r = await this.send('POST', '/api/v1/token', { json: body, ...(retryForMs !== undefined ? { retryForMs } : {}) });
    let token: unknown = (r.json as { accessToken?: unknown } | undefined)?.accessToken;
    if (r.status === 404 && creds.kind === 'password') {
      r = await this.send('POST', '/auth/realms/runai/protocol/openid-connect/token', {
        form: { grant_type: 'password', client_id: 'runai', username: creds.username, password: creds.password, scope: 'openid' },
        ...(retryForMs !== undefined ? { retryForMs } : {}),
      });
      token = (r.json as { access_token?: unknown } | undefined)?.access_token;
    }
    if (r.status === 401 || r.status === 403) throw this.refused(r, creds);
    if (r.status !== 200) throw new StageError(`Run:ai POST /api/v1/token answered ${r.status}: ${messageOf(r)}`);
    if (typeof token !== 'string' || !token) throw new StageError('Run:ai POST /api/v1/token answered 200 without an access token');
    this.onToken(token);
    this.creds = creds;
    this.token = token;
  }

  /** A bearer call; a 401 gets one fresh token (tokens expire during long waits), a second 401 is final. */
  private async authed(method: string, path: string, opts: { json?: unknown; retryForMs?: number } = {}): Promise<Reply> {
    if (!this.token || !this.creds) throw new Error('RunaiClient: login() first');
    let r = await this.send(method, path, { ...opts, auth: true });
    if (r.status === 401) {
      await this.login(this.creds);
      r = await this.send(method, path, { ...opts, auth: true });
    }
    if (r.status === 401) {
      const issuer = /issuer/i.test(messageOf(r))
        ? ': tokens carry an issuer the API does not accept; with a port other than 443, Keycloak must advertise https://<domain>:<port>/auth (runai.md §4.2)'
        : '';
      throw new StageError(`Run:ai ${method} ${path} refused the token (401 ${messageOf(r)})${issuer}`);
    }
    if (r.status === 403)
      throw new StageError(
        `Run:ai ${method} ${path}: ${this.creds.kind === 'password' ? this.creds.username : this.creds.clientId} lacks the permission (403 ${messageOf(r)})`,
      );
    return r;
  }

  async listClusters(): Promise<RunaiCluster[]> {
    const r = await this.authed('GET', '/api/v1/clusters');
    if (r.status !== 200 || !Array.isArray(r.json))
      throw new StageError(`Run:ai GET /api/v1/clusters answered ${r.status}: ${messageOf(r)}`);
    return r.json.map((c) => toCluster(c, 'GET /api/v1/clusters'));
  }

  /**
   * Creates a cluster, or says how the create was refused. Run:ai's spec lists no answer for a name that is
   * taken (create_cluster: 201, 401, 403, 404, 500, 503), so any refusal is handed back for the caller to
   * look the name up again before it gives up.
   */
  async createCluster(body: { name: string; version?: string; domain?: string }): Promise<RunaiCluster | { refused: string }> {
    const r = await this.authed('POST', '/api/v1/clusters', { json: body });
    if (r.status === 201 || r.status === 200) return toCluster(r.json, 'POST /api/v1/clusters');
    return { refused: `${r.status} ${messageOf(r)}` };
  }

  /** The cluster, or RunaiUnavailable after `retryForMs` of no definite answer. */
  async getCluster(uuid: string, retryForMs?: number): Promise<RunaiCluster> {
    const path = `/api/v1/clusters/${encodeURIComponent(uuid)}`;
    const r = await this.authed('GET', path, retryForMs !== undefined ? { retryForMs } : {});
    if (r.status !== 200) throw new StageError(`Run:ai GET ${path} answered ${r.status}: ${messageOf(r)}`);
    return toCluster(r.json, `GET ${path}`);
  }

  /**
   * The raw cluster-install-info answer, or undefined while it is not ready (503, or a 200 without an
   * installation command yet). Parse it with parseInstallInfo.
   */
  async installInfo(uuid: string, version: string): Promise<{ ready: true; body: unknown } | { ready: false; note: string }> {
    const path = `/api/v1/clusters/${encodeURIComponent(uuid)}/cluster-install-info?version=${encodeURIComponent(version)}`;
    let r: Reply;
    try {
      r = await this.authed('GET', path, { retryForMs: 0 });
    } catch (err) {
      if (err instanceof RunaiUnavailable) return { ready: false, note: err.message };
      throw err;
    }
    if (r.status !== 200) throw new StageError(`Run:ai GET ${path.split('?')[0]} answered ${r.status}: ${messageOf(r)}`);
    const str = (r.json as { installationStr?: unknown } | undefined)?.installationStr;
    if (typeof str !== 'string' || !/\bhelm\b/.test(str)) return { ready: false, note: '200 without an installation command yet' };
    return { ready: true, body: r.json };
  }

  /** The issuer Keycloak advertises (OIDC discovery), or undefined when it does not answer. */
  async oidcIssuer(): Promise<string | undefined> {
    try {
      const r = await this.send('GET', '/auth/realms/runai/.well-known/openid-configuration', { retryForMs: 0 });
      const issuer = (r.json as { issuer?: unknown } | undefined)?.issuer;
      return r.status === 200 && typeof issuer === 'string' ? issuer : undefined;
    } catch (err) {
      if (err instanceof RunaiUnavailable) return undefined;
      throw err;
    }
  }
}
