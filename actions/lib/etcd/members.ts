// The etcd members as Kubespray lays them out (roles/etcd, v2.27.1): settings in /etc/etcd.env, client
// certificates /etc/ssl/etcd/ssl/admin-<inventory hostname>(-key).pem signed by ca.pem, binaries in
// /usr/local/bin (bin_dir), data in /var/lib/etcd (etcd_data_dir), member names etcd1.. (etcd_member_name).
import { shellCommand } from '../ssh/quote.ts';
import { StageError } from '../util/errors.ts';

export const ETCD_ENV = '/etc/etcd.env';
export const ETCD_CERT_DIR = '/etc/ssl/etcd/ssl';
export const BIN_DIR = '/usr/local/bin';

export interface EtcdNode {
  hostname: string;
  address: string;
}

/** What a restore needs of one member, read from its own /etc/etcd.env. */
export interface MemberFacts extends EtcdNode {
  name: string;
  peerUrl: string;
  initialCluster: string;
  token: string;
  dataDir: string;
}

/** A command run as root through sudo without a password (the service user's sudoers rule). */
export function asRoot(argv: string[]): string {
  return shellCommand(['sudo', '-n', ...argv]);
}

/** etcdctl against one member with that member's admin client certificate. */
export function etcdctl(node: EtcdNode, ...args: string[]): string[] {
  return [
    `${BIN_DIR}/etcdctl`,
    `--endpoints=https://${node.address}:2379`,
    `--cacert=${ETCD_CERT_DIR}/ca.pem`,
    `--cert=${ETCD_CERT_DIR}/admin-${node.hostname}.pem`,
    `--key=${ETCD_CERT_DIR}/admin-${node.hostname}-key.pem`,
    '--command-timeout=30s',
    ...args,
  ];
}

export function etcdutl(...args: string[]): string[] {
  return [`${BIN_DIR}/etcdutl`, ...args];
}

const SAFE = {
  ETCD_NAME: /^[A-Za-z0-9._-]{1,64}$/,
  ETCD_INITIAL_ADVERTISE_PEER_URLS: /^https?:\/\/[A-Za-z0-9.:[\]-]+$/,
  ETCD_INITIAL_CLUSTER: /^[A-Za-z0-9._-]+=https?:\/\/[A-Za-z0-9.:[\]-]+(,[A-Za-z0-9._-]+=https?:\/\/[A-Za-z0-9.:[\]-]+)*$/,
  ETCD_INITIAL_CLUSTER_TOKEN: /^[A-Za-z0-9._-]{1,128}$/,
  ETCD_DATA_DIR: /^\/[A-Za-z0-9._\/-]+$/,
} as const;

/** The member's settings from its etcd.env text; refuses a missing or unexpected value, naming the node. */
export function parseEtcdEnv(node: EtcdNode, text: string): MemberFacts {
  const env = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_]+)=(.*)$/.exec(line);
    if (m) env.set(m[1]!, m[2]!.trim().replace(/^"(.*)"$/, '$1'));
  }
  const get = (k: keyof typeof SAFE): string => {
    const v = env.get(k) ?? '';
    if (!SAFE[k].test(v) || (k === 'ETCD_DATA_DIR' && v.split('/').includes('..')))
      throw new StageError(
        `${node.hostname}: ${ETCD_ENV} has ${v ? `an unexpected ${k} '${v.slice(0, 80)}'` : `no ${k}`}; is this a Kubespray etcd member?`,
      );
    return v;
  };
  return {
    ...node,
    name: get('ETCD_NAME'),
    peerUrl: get('ETCD_INITIAL_ADVERTISE_PEER_URLS'),
    initialCluster: get('ETCD_INITIAL_CLUSTER'),
    token: get('ETCD_INITIAL_CLUSTER_TOKEN'),
    dataDir: get('ETCD_DATA_DIR'),
  };
}

/** `etcdutl snapshot status -w json`: {hash, revision, totalKey, totalSize}. */
export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

export function parseSnapshotStatus(hostname: string, stdout: string): SnapshotStatus {
  try {
    const s = JSON.parse(stdout) as SnapshotStatus;
    if ([s.hash, s.revision, s.totalKey, s.totalSize].every((n) => typeof n === 'number')) return s;
  } catch {
    // fall through
  }
  throw new StageError(`${hostname}: etcdutl snapshot status gave no status (${stdout.trim().slice(0, 120)})`);
}
