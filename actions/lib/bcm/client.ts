// Client for BCM's CMDaemon JSON API: POST <endpoint>/json with {service, call, args}.
// Auth by login cookie (cm-login-token) or client certificate; server verified against BCM's own CA.
// Every call we make is a read, so connection errors and 5xx are retried with backoff.
import { request, Agent } from 'node:https';
import { createGunzip } from 'node:zlib';
import { StageError } from '../util/errors.ts';
import { JsonArraySplitter } from './json-stream.ts';

export type BcmAuth = { mode: 'login'; username: string; password: string } | { mode: 'client-cert'; cert: string; key: string };

export interface BcmClientOptions {
  endpoint: string;
  auth: BcmAuth;
  /** PEM of BCM's CA. Without it, the system trust store is used. */
  ca?: string;
  insecure: boolean;
  /** The name the server certificate is checked against instead of the endpoint's host (bcm.tls_server_name). */
  tlsServerName?: string;
  timeoutMs: number;
  /** Extra attempts after the first, for connection errors and 5xx. */
  retries: number;
  backoffMs?: number;
  maxResponseBytes?: number;
}

interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Bytes received, when body holds only their start (a streamed answer that broke). */
  size?: number;
}

/** A failure worth another attempt (connection trouble, 5xx), as opposed to a definite answer. */
class TransientError extends Error {}

const AUTH_STATUSES = new Set([401, 403, 635, 640]);

export class BcmClient {
  private readonly url: URL;
  private readonly agent: Agent;
  private readonly opts: BcmClientOptions;
  private cookie: string | undefined;
  /** Calls made, for the summary and tests: `service.call` → attempts. */
  readonly attempts: Array<{ call: string; attempt: number; outcome: string }> = [];

  constructor(opts: BcmClientOptions) {
    this.opts = opts;
    let base: URL;
    try {
      base = new URL(opts.endpoint);
    } catch {
      throw new StageError(`bcm.endpoint '${opts.endpoint}' is not a URL; use the head node's base URL, e.g. https://bcm-head-01:8081`);
    }
    if (base.protocol !== 'https:') throw new StageError(`bcm.endpoint must use https (CMDaemon serves TLS on 8081), got ${base.protocol}`);
    this.url = new URL(`${base.pathname.replace(/\/$/, '')}/json`, base);
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 4,
      ca: opts.ca,
      rejectUnauthorized: !opts.insecure,
      ...(opts.auth.mode === 'client-cert' ? { cert: opts.auth.cert, key: opts.auth.key } : {}),
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * One POST. With `splitter`, a 200 answer that is a JSON array is handed over element by element as it
   * arrives (its body is then left empty); anything else is buffered whole for classification.
   */
  private post(payload: unknown, headers: Record<string, string> = {}, splitter?: JsonArraySplitter): Promise<HttpReply> {
    const body = JSON.stringify(payload);
    const limit = this.opts.maxResponseBytes ?? 512 * 1024 * 1024;
    let deadline: NodeJS.Timeout | undefined;
    return new Promise<HttpReply>((resolve, reject) => {
      let answered = false;
      const req = request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          ...(this.opts.tlsServerName ? { servername: this.opts.tlsServerName } : {}),
          headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip', 'content-length': Buffer.byteLength(body), ...headers },
        },
        (res) => {
          answered = true;
          const source: NodeJS.ReadableStream = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
          const chunks: Buffer[] = [];
          let size = 0;
          let head = '';
          let streaming: boolean | undefined;
          let broken = false;
          const fail = (e: Error) => {
            req.destroy();
            reject(e);
          };
          source.on('data', (c: Buffer) => {
            size += c.length;
            if (size > limit) return fail(new StageError(`BCM answered more than ${limit} bytes; refusing to read further`));
            if (streaming === undefined) {
              const first = c.toString('latin1').trimStart()[0];
              if (first !== undefined) streaming = Boolean(splitter) && res.statusCode === 200 && first === '[';
            }
            if (!streaming) return void chunks.push(c);
            if (head.length < 64) head += c.toString('utf8', 0, 64);
            if (broken) return;
            try {
              splitter!.push(c);
            } catch {
              broken = true;
            }
          });
          source.on('end', () => {
            const status = res.statusCode ?? 0;
            if (!streaming) return resolve({ status, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
            try {
              if (!broken) splitter!.end();
            } catch {
              broken = true;
            }
            // a broken stream keeps only its start: enough for the error message, never valid JSON
            resolve(
              broken ? { status, headers: res.headers, body: head.slice(0, 64), size } : { status, headers: res.headers, body: '[]' },
            );
          });
          source.on('error', (e: Error) => reject(new TransientError(e.message)));
        },
      );
      req.setTimeout(this.opts.timeoutMs, () => req.destroy(new TransientError(`no answer within ${this.opts.timeoutMs / 1000}s`)));
      // the idle timeout above never fires while a stalled server trickles bytes: the whole answer has a deadline too
      deadline = setTimeout(() => {
        const s = this.opts.timeoutMs / 1000;
        reject(new TransientError(answered ? `the answer did not finish within ${s}s` : `no answer within ${s}s`));
        req.destroy();
      }, this.opts.timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof StageError || e instanceof TransientError) return reject(e);
        const tls = tlsFailure(e, this.url.hostname, this.opts.tlsServerName);
        if (tls) return reject(new StageError(tls));
        reject(new TransientError(e.code ? `${e.code} ${e.message}` : e.message));
      });
      req.end(body);
    }).finally(() => clearTimeout(deadline));
  }

  private async withRetries<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const base = this.opts.backoffMs ?? 500;
    for (let attempt = 0; ; attempt++) {
      try {
        const value = await fn();
        this.attempts.push({ call: what, attempt, outcome: 'ok' });
        return value;
      } catch (err) {
        const transient = err instanceof TransientError;
        this.attempts.push({ call: what, attempt, outcome: (err as Error).message });
        if (!transient) throw err;
        if (attempt >= this.opts.retries) {
          throw new StageError(
            `BCM ${this.url.host}: ${what} failed after ${attempt + 1} attempt(s): ${(err as Error).message}. Check that the head node is up and bcm.endpoint is right; raise bcm.timeout_seconds or bcm.retries for a slow head node.`,
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(base * 2 ** attempt, 30_000)));
      }
    }
  }

  async login(): Promise<void> {
    if (this.opts.auth.mode !== 'login') return;
    const { username, password } = this.opts.auth;
    const reply = await this.withRetries('login', async () => {
      const r = await this.post({ service: 'login', username, password });
      if (r.status >= 500) throw new TransientError(`HTTP ${r.status}`);
      return r;
    });
    const setCookie = ([] as string[]).concat(reply.headers['set-cookie'] ?? []);
    const token = setCookie.map((c) => /cm-login-token=([^;\s]+)/.exec(c)?.[1]).find(Boolean);
    if (reply.status === 200 && reply.body.trim() === 'true' && token) {
      this.cookie = `cm-login-token=${token}`;
      return;
    }
    const said = safeErrorMessage(reply.body);
    throw new StageError(
      `BCM login as '${username}' was refused${said ? `: ${said}` : reply.status !== 200 ? ` (HTTP ${reply.status})` : ''}. Check the BCM username (bcm.username / input bcm-username) and the password secret (input bcm-password).`,
    );
  }

  /**
   * A call whose answer is a list, reduced element by element as it arrives (`map` returns undefined to
   * drop an element), so a 10,000-node answer is never held whole.
   */
  async callList<T>(service: string, call: string, args: unknown[], map: (element: unknown, index: number) => T | undefined): Promise<T[]> {
    let items: T[] = [];
    const splitter = () => {
      items = [];
      return new JsonArraySplitter((el, i) => {
        const v = map(el, i);
        if (v !== undefined) items.push(v);
      });
    };
    const value = await this.call<unknown>(service, call, args, splitter);
    if (!Array.isArray(value))
      throw new StageError(`BCM answered ${service}.${call} with ${value === null ? 'null' : typeof value}, expected a list`);
    return items;
  }

  /** One JSON RPC call. Re-logs in once when the answer looks like an expired or missing session. */
  async call<T>(service: string, call: string, args: unknown[] = [], splitter?: () => JsonArraySplitter): Promise<T> {
    const name = `${service}.${call}`;
    if (this.opts.auth.mode === 'login' && !this.cookie) await this.login();
    let relogged = false;
    for (;;) {
      const reply = await this.withRetries(name, async () => {
        const r = await this.post({ service, call, args }, this.cookie ? { cookie: this.cookie } : {}, splitter?.());
        if (r.status >= 500 && r.status < 600) throw new TransientError(`HTTP ${r.status}`);
        return r;
      });
      const outcome = interpretReply(name, reply);
      if (outcome.kind === 'ok') return outcome.value as T;
      if ((outcome.kind === 'auth' || outcome.kind === 'not-json') && this.opts.auth.mode === 'login' && !relogged) {
        relogged = true;
        this.cookie = undefined;
        await this.login();
        continue;
      }
      if (outcome.kind === 'auth') {
        throw new StageError(
          this.opts.auth.mode === 'client-cert'
            ? `BCM refused ${name} for the client certificate (${outcome.reason}): the certificate must be signed by the cluster CA and its profile must allow ${name}`
            : `BCM refused ${name} even after logging in again (${outcome.reason}): the user's profile may not allow it`,
        );
      }
      throw new StageError(outcome.kind === 'not-json' && relogged ? `${outcome.reason}, also after logging in again` : outcome.reason);
    }
  }
}

/**
 * Which TLS check failed and what to set, or undefined when the error is not a certificate check. The name
 * check and the CA check fail with different codes: a certificate from the right CA that does not name the
 * endpoint (BCM's names the head node, not its IP) must not send the user hunting for another CA.
 */
export function tlsFailure(
  e: NodeJS.ErrnoException & { cert?: { subjectaltname?: string } },
  host: string,
  serverName?: string,
): string | undefined {
  const code = e.code ?? '';
  const checked = serverName ?? host;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = e.cert?.subjectaltname ? ` (it names ${e.cert.subjectaltname})` : '';
    return serverName
      ? `TLS: BCM's certificate is from a trusted CA but does not name '${serverName}'${names}: set bcm.tls_server_name to a name the certificate carries`
      : `TLS: BCM's certificate is from a trusted CA but does not name ${host}${names}: set bcm.tls_server_name to the head node name it carries (the connection still goes to ${host}), or use that name in bcm.endpoint`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `TLS: BCM's certificate for ${checked} is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet'} (${code}): renew it on the head node, or check the runner's clock`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code))
    return `TLS: BCM's certificate for ${checked} does not chain to the CA given (${code}): point bcm.ca_file (or input bcm-ca-cert) at BCM's CA, /cm/local/apps/cmd/etc/cacert.pem on the head node`;
  return undefined;
}

/** At most 300 characters of JSON; a value nested too deeply to serialise is not shown. */
function briefJson(value: unknown): string {
  try {
    return JSON.stringify(value).slice(0, 300);
  } catch {
    return '(a value too deeply nested to show)';
  }
}

type ReplyOutcome = { kind: 'ok'; value: unknown } | { kind: 'auth' | 'not-json' | 'error'; reason: string };

function safeErrorMessage(body: string): string {
  try {
    const v = JSON.parse(body) as unknown;
    if (v && typeof v === 'object' && 'errormessage' in v) return String((v as { errormessage: unknown }).errormessage).slice(0, 300);
  } catch {
    /* not JSON */
  }
  return '';
}

/** Classifies an HTTP reply in the order bcm-api.md §5 gives: status, JSON-ness, errormessage, success:false. */
export function interpretReply(name: string, reply: HttpReply): ReplyOutcome {
  if (AUTH_STATUSES.has(reply.status)) return { kind: 'auth', reason: `HTTP ${reply.status}` };
  if (reply.status === 400)
    return { kind: 'error', reason: `BCM does not know ${name} (HTTP 400): this BCM version may name the call differently` };
  if (reply.status !== 200) return { kind: 'error', reason: `BCM answered HTTP ${reply.status} to ${name}` };
  let value: unknown;
  try {
    value = JSON.parse(reply.body);
  } catch {
    const looksHtml = /^\s*</.test(reply.body);
    return looksHtml
      ? { kind: 'auth', reason: 'an HTML page instead of JSON, as BCM sends to a session it does not know' }
      : {
          kind: 'not-json',
          reason: `BCM answered ${name} with a body that is not JSON (${reply.body.length} bytes, starting ${JSON.stringify(reply.body.slice(0, 40))})`,
        };
  }
  if (value === false) return { kind: 'auth', reason: 'the head node answered false' };
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    if (typeof obj.errormessage === 'string') {
      const msg = obj.errormessage.slice(0, 300);
      return /does not allow access|certificate/i.test(msg)
        ? { kind: 'auth', reason: msg }
        : { kind: 'error', reason: `BCM refused ${name}: ${msg}` };
    }
    if (obj.success === false) return { kind: 'error', reason: `BCM reported failure for ${name}: ${briefJson(obj.validation ?? obj)}` };
  }
  return { kind: 'ok', value };
}
