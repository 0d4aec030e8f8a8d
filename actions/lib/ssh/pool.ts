// One SSH connection per node for a whole stage, bounded fan-out, host keys verified, retries on connect only.
import { NodeSSH } from 'node-ssh';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { fingerprint, verifyHostKey, type HostKeyPolicy, type KnownHostEntry } from './known-hosts.ts';

export interface SshTarget {
  hostname: string;
  address: string;
  port?: number;
}

export interface SshCredentials {
  username: string;
  privateKey?: string;
  password?: string;
}

export interface SshPoolOptions {
  credentials: SshCredentials;
  knownHosts: KnownHostEntry[];
  policy: HostKeyPolicy;
  concurrency: number;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  connectRetries: number;
  legacyAlgorithms: boolean;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

const MODERN_HOST_KEYS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];

class HostKeyRefused extends Error {}

export class SshPool {
  private readonly opts: SshPoolOptions;
  private readonly connections = new Map<string, Promise<NodeSSH>>();
  /** Why an open connection ended (reset, closed), noticed between or during commands. */
  private readonly lost = new WeakMap<NodeSSH, string>();
  /** known_hosts lines learned under accept-new, to be saved by the caller. */
  readonly learned: string[] = [];

  constructor(opts: SshPoolOptions) {
    this.opts = opts;
  }

  private async connectOnce(target: SshTarget): Promise<NodeSSH> {
    const ssh = new NodeSSH();
    let refusal: string | undefined;
    const port = target.port ?? 22;
    try {
      await ssh.connect({
        host: target.address,
        port,
        username: this.opts.credentials.username,
        ...(this.opts.credentials.privateKey ? { privateKey: this.opts.credentials.privateKey } : {}),
        ...(this.opts.credentials.password ? { password: this.opts.credentials.password, tryKeyboard: true } : {}),
        readyTimeout: this.opts.connectTimeoutMs,
        keepaliveInterval: 5000,
        keepaliveCountMax: 3,
        algorithms: {
          serverHostKey: this.opts.legacyAlgorithms ? [...MODERN_HOST_KEYS, 'ssh-rsa' as ServerHostKeyAlgorithm] : MODERN_HOST_KEYS,
        },
        hostVerifier: (key: Buffer) => {
          const verdict = verifyHostKey(this.opts.knownHosts, [target.hostname, target.address], port, key, this.opts.policy);
          if (!verdict.accept) refusal = verdict.reason ?? `host key ${fingerprint(key)} refused`;
          if (verdict.learned) this.learned.push(verdict.learned);
          return verdict.accept;
        },
      });
    } catch (err) {
      ssh.dispose();
      if (refusal) throw new HostKeyRefused(refusal);
      throw err;
    }
    // node-ssh listens for errors only while connecting or opening a channel: a node that resets the connection
    // later (a reboot, a firewall) would otherwise be an uncaught exception that ends the whole process
    ssh.connection?.on('error', (err: Error) => this.lost.set(ssh, err.message));
    ssh.connection?.on('close', () => this.lost.has(ssh) || this.lost.set(ssh, 'closed by the node'));
    return ssh;
  }

  private connectionLost(ssh: NodeSSH, target: SshTarget): Error | undefined {
    const why = this.lost.get(ssh);
    return why === undefined
      ? undefined
      : new Error(`the SSH connection to ${target.address} was lost (${why}); did the node reboot or drop off the network?`);
  }

  private async connect(target: SshTarget): Promise<NodeSSH> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.connectOnce(target);
      } catch (err) {
        const message = (err as Error).message;
        const permanent = err instanceof HostKeyRefused || /authentication|auth methods|All configured/i.test(message);
        if (permanent || attempt >= this.opts.connectRetries) {
          throw new Error(
            err instanceof HostKeyRefused
              ? message
              : /authentication|All configured/i.test(message)
                ? `login as '${this.opts.credentials.username}' refused (${message})`
                : `cannot connect to ${target.address}:${target.port ?? 22}: ${message}${attempt ? ` (after ${attempt + 1} attempts)` : ''}`,
          );
        }
        await new Promise((r) => setTimeout(r, 300 * (attempt + 1)));
      }
    }
  }

  /** The node's one connection, opened on first use. */
  session(target: SshTarget): Promise<NodeSSH> {
    let c = this.connections.get(target.hostname);
    if (!c) {
      c = this.connect(target);
      c.catch(() => this.connections.delete(target.hostname));
      this.connections.set(target.hostname, c);
    }
    return c;
  }

  /** Runs a command line (already quoted) on a node, with the command timeout. */
  async exec(target: SshTarget, command: string, stdin?: string): Promise<ExecResult> {
    return this.guarded(target, command, async (ssh, onChannel) => {
      const r = await ssh.execCommand(command, { ...(stdin !== undefined ? { stdin } : {}), noTrim: true, onChannel });
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    });
  }

  /**
   * Like exec, for bytes: stdout comes back as a Buffer and stdin goes in as one (a file read off or written to a
   * node), never through a string, so a file of any size that fits in memory passes unchanged.
   */
  async execBinary(target: SshTarget, command: string, stdin?: Buffer): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    return this.guarded(
      target,
      command,
      (ssh, onChannel) =>
        new Promise((resolve, reject) => {
          ssh.connection!.exec(command, (err, channel) => {
            if (err) return reject(err);
            onChannel(channel);
            const out: Buffer[] = [];
            const errs: Buffer[] = [];
            let code: number | null = null;
            channel.on('data', (chunk: Buffer) => out.push(chunk));
            channel.stderr.on('data', (chunk: Buffer) => errs.push(chunk));
            channel.on('exit', (c: number | null) => (code = c ?? null));
            channel.on('close', () => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(errs).toString('utf8') }));
            channel.end(stdin);
          });
        }),
    );
  }

  /** One command on the node's connection: the command timeout, and a lost connection named as such. */
  private async guarded<R extends { code: number | null }>(
    target: SshTarget,
    command: string,
    start: (ssh: NodeSSH, onChannel: (ch: { close(): void }) => void) => Promise<R>,
  ): Promise<R> {
    const ssh = await this.session(target);
    const lostBefore = this.connectionLost(ssh, target);
    if (lostBefore) throw lostBefore;
    let channel: { close(): void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        channel?.close();
        reject(new Error(`'${command.split(/\s/)[0]}' did not finish within ${this.opts.commandTimeoutMs / 1000}s`));
      }, this.opts.commandTimeoutMs);
    });
    try {
      const r = await Promise.race([start(ssh, (ch) => (channel = ch)), timeout]);
      // a channel cut by a lost connection closes without an exit status
      const lost = r.code === null ? this.connectionLost(ssh, target) : undefined;
      if (lost) throw lost;
      return r;
    } catch (err) {
      throw this.connectionLost(ssh, target) ?? err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Applies fn to every target, at most `concurrency` at once; one node's failure never stops the others. */
  async forEach<T>(targets: SshTarget[], fn: (target: SshTarget) => Promise<T>): Promise<Map<string, Outcome<T>>> {
    const results = new Map<string, Outcome<T>>();
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const target = targets[next++]!;
        try {
          results.set(target.hostname, { ok: true, value: await fn(target) });
        } catch (err) {
          results.set(target.hostname, { ok: false, error: (err as Error).message });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, targets.length) }, worker));
    return results;
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.allSettled(all.map(async (c) => (await c).dispose()));
  }
}
