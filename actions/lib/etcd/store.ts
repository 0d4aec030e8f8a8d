// Where sealed snapshots are kept: a folder on a host over SSH (the BCM head node, say), or on the runner.
// Files are written under a temporary name and renamed, mode 0600; only sealed bytes ever reach a store.
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterSpec } from '../config/types.ts';
import type { SshPool, SshTarget } from '../ssh/pool.ts';
import { clusterSnapshots, snapshotTime } from './snapshots.ts';
import { shellCommand, validHostname } from '../ssh/quote.ts';
import { StageError } from '../util/errors.ts';

export interface SnapshotStore {
  /** "backup-01:/var/backups/bcmkube-etcd" or "the runner's /srv/etcd". */
  where: string;
  list(): Promise<string[]>;
  put(name: string, sealed: Buffer): Promise<void>;
  get(name: string): Promise<Buffer>;
  remove(name: string): Promise<void>;
}

/** The store the spec names (etcd_backup.target); `ssh` logs in as the target's user. */
export function openSnapshotStore(spec: ClusterSpec, ssh: SshPool): SnapshotStore {
  const t = spec.etcd_backup.target;
  if (!t.host) return runnerStore(t.path);
  validHostname(t.host, 'etcd_backup.target.host');
  return sshStore(ssh, { hostname: t.host, address: t.host, port: t.port }, t.path);
}

/** When this cluster's newest snapshot in the store was taken; undefined when it has none. */
export async function lastSnapshotAt(store: SnapshotStore, cluster: string): Promise<Date | undefined> {
  const last = clusterSnapshots(cluster, await store.list()).at(-1);
  return last === undefined ? undefined : snapshotTime(cluster, last);
}

export function runnerStore(path: string): SnapshotStore {
  return {
    where: `the runner's ${path}`,
    list: async () => (existsSync(path) ? readdirSync(path) : []),
    put: async (name, sealed) => {
      mkdirSync(path, { recursive: true, mode: 0o700 });
      const tmp = join(path, `.${name}.tmp`);
      writeFileSync(tmp, sealed, { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, join(path, name));
    },
    get: async (name) => {
      try {
        return readFileSync(join(path, name));
      } catch (err) {
        throw new StageError(`no snapshot ${name} in the runner's ${path} (${(err as NodeJS.ErrnoException).code})`);
      }
    },
    remove: async (name) => rmSync(join(path, name), { force: true }),
  };
}

export function sshStore(ssh: SshPool, target: SshTarget, path: string): SnapshotStore {
  const where = `${target.hostname}:${path}`;
  const run = async (what: string, command: string, stdin?: Buffer) => {
    const r = await ssh.execBinary(target, command, stdin);
    if (r.code !== 0) throw new StageError(`${where}: could not ${what} (exit ${r.code}): ${r.stderr.trim().slice(0, 200)}`);
    return r.stdout;
  };
  return {
    where,
    list: async () =>
      (await run('list the snapshots', `if [ -d ${shellCommand([path])} ]; then ls -1A ${shellCommand([path])}; fi`))
        .toString('utf8')
        .split('\n')
        .filter(Boolean),
    put: async (name, sealed) => {
      const tmp = `${path}/.${name}.tmp`;
      await run(
        'store the snapshot',
        `umask 077 && mkdir -p ${shellCommand([path])} && cat > ${shellCommand([tmp])} && mv ${shellCommand([tmp, `${path}/${name}`])}`,
        sealed,
      );
    },
    get: async (name) => run(`read ${name}`, shellCommand(['cat', `${path}/${name}`])),
    remove: async (name) => {
      await run(`remove ${name}`, shellCommand(['rm', '-f', `${path}/${name}`]));
    },
  };
}
