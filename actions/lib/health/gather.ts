// What `bcmkube health` reads, read-only: BCM's node status, the API server's nodes, Helm's releases and their
// values, the KnativeServing, the Run:ai cluster, and over SSH as the service user the etcd members' health,
// the Kubernetes certificates' end dates and each node's clock. Each source failing on its own becomes an
// Unreadable (the check says "unknown" and why); the parsers are pure and tested on recorded output.
import { deployedValues, listReleases } from '../helm/cluster.ts';
import { runKubectl, type KubeTools } from '../helm/kube-tools.ts';
import { KNATIVE_SERVING_NAME, KNATIVE_SERVING_NAMESPACE } from '../helm/knative.ts';
import type { SelectedRelease } from '../helm/selection.ts';
import type { Inventory, InventoryNode } from '../inventory/types.ts';
import { shellCommand } from '../ssh/quote.ts';
import type { SshPool } from '../ssh/pool.ts';
import { errorMessage } from '../util/errors.ts';
import type { BackupFact, CertificateFact, DeployedReleaseFact, EtcdMemberFact, Fact, KubeNodeFact } from './evaluate.ts';

/** Where the last etcd backup's time comes from (bcmkube etcd backup's store, or a test's). */
export interface EtcdBackupSource {
  lastBackup(): Promise<BackupFact>;
}

/** Runs `read`, turning its failure into an Unreadable with the reason's first line. */
export async function readFact<T>(read: () => Promise<T>): Promise<Fact<T>> {
  try {
    return await read();
  } catch (err) {
    return { unreadable: errorMessage(err).split('\n')[0]!.slice(0, 300) };
  }
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface KubeObject {
  metadata?: { name?: string };
  status?: { conditions?: Condition[]; allocatable?: Record<string, string> };
}

/** `kubectl get nodes -o json` → Ready and allocatable nvidia.com/gpu per node. */
export function parseKubeNodes(json: string): KubeNodeFact[] {
  const doc = JSON.parse(json) as { items?: KubeObject[] };
  return (doc.items ?? []).map((n) => {
    const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
    const isReady = ready?.status === 'True';
    const gpus = Number(n.status?.allocatable?.['nvidia.com/gpu'] ?? 0);
    return {
      name: String(n.metadata?.name ?? ''),
      ready: isReady,
      ...(!isReady ? { reason: [ready?.reason, ready?.message].filter(Boolean).join(': ') || 'no Ready condition' } : {}),
      allocatableGpus: Number.isFinite(gpus) ? gpus : 0,
    };
  });
}

/** `kubectl get knativeserving … -o json` (empty with --ignore-not-found) → Ready. */
export function parseKnativeServing(json: string): { ready: boolean; message?: string } | 'absent' {
  if (!json.trim()) return 'absent';
  const doc = JSON.parse(json) as KubeObject;
  const ready = (doc.status?.conditions ?? []).find((c) => c.type === 'Ready');
  return ready?.status === 'True'
    ? { ready: true }
    : { ready: false, message: ready?.message ?? ready?.reason ?? 'no Ready condition yet' };
}

/** `etcdctl endpoint health -w json` → one member's health. */
export function parseEtcdHealth(node: string, json: string): EtcdMemberFact {
  const rows = JSON.parse(json) as Array<{ endpoint: string; health: boolean; error?: string }>;
  const row = rows[0];
  return { name: node, endpoint: row?.endpoint ?? '', healthy: row?.health === true, ...(row?.error ? { error: row.error } : {}) };
}

/** Lines `<path> notAfter=<openssl date>` → certificates with ISO end dates. */
export function parseCertificateDates(node: string, text: string): CertificateFact[] {
  return text.split('\n').flatMap((line) => {
    const m = /^(\S+) notAfter=(.+)$/.exec(line.trim());
    if (!m) return [];
    const t = Date.parse(m[2]!);
    return Number.isNaN(t) ? [] : [{ node, name: m[1]!.split('/').pop()!, notAfter: new Date(t).toISOString() }];
  });
}

/** The certificates Kubespray writes on a control-plane node (kube_cert_dir), one line each. */
export const CERTIFICATE_DATES_COMMAND =
  'sudo -n sh -c \'for f in /etc/kubernetes/ssl/*.crt /etc/kubernetes/ssl/front-proxy-client.crt; do [ -f "$f" ] && echo "$f $(openssl x509 -enddate -noout -in "$f")"; done | sort -u\'';

/**
 * etcdctl on the member itself, with the admin certificate Kubespray gives each etcd node, at the member's own
 * client URL (Kubespray also listens on 127.0.0.1; the address is what every member surely serves).
 */
export function etcdHealthCommand(node: InventoryNode): string {
  const ssl = '/etc/ssl/etcd/ssl';
  return shellCommand([
    'sudo',
    '-n',
    'env',
    'ETCDCTL_API=3',
    'etcdctl',
    `--endpoints=https://${node.address}:2379`,
    `--cacert=${ssl}/ca.pem`,
    `--cert=${ssl}/admin-${node.hostname}.pem`,
    `--key=${ssl}/admin-${node.hostname}-key.pem`,
    '--command-timeout=5s',
    'endpoint',
    'health',
    '-w',
    'json',
  ]);
}

async function kubectlJson(t: KubeTools, args: string[]): Promise<string> {
  const r = await runKubectl(t, args);
  if (r.code !== 0) throw new Error(`kubectl ${args.slice(0, 3).join(' ')}: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  return r.stdout;
}

export async function gatherKube(t: KubeTools, releases: SelectedRelease[], knative: boolean) {
  const kubeNodes = await readFact(async () => parseKubeNodes(await kubectlJson(t, ['get', 'nodes', '--output', 'json'])));
  const deployed = await readFact(async () => {
    const list = await listReleases(t);
    const ours = list.filter((d) => releases.some((s) => s.release.name === d.name && s.release.namespace === d.namespace));
    return Promise.all(
      ours.map(async (d): Promise<DeployedReleaseFact> => ({ ...d, values: await deployedValues(t, d.name, d.namespace) })),
    );
  });
  const knativeServing = knative
    ? await readFact(async () =>
        parseKnativeServing(
          await kubectlJson(t, [
            'get',
            `knativeserving/${KNATIVE_SERVING_NAME}`,
            '--namespace',
            KNATIVE_SERVING_NAMESPACE,
            '--ignore-not-found',
            '--output',
            'json',
          ]),
        ),
      )
    : undefined;
  return { kubeNodes, releases: deployed, ...(knativeServing ? { knativeServing } : {}) };
}

/** etcd health, certificate dates and clock offsets, one SSH command of each kind per node that has it. */
export async function gatherNodes(ssh: SshPool, inv: Inventory) {
  const target = (n: InventoryNode) => ({ hostname: n.hostname, address: n.address });
  const run = async (n: InventoryNode, cmd: string) => {
    const r = await ssh.exec(target(n), cmd);
    if (r.code !== 0) throw new Error(`${n.hostname}: exit ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`);
    return r.stdout;
  };
  const etcdNodes = inv.nodes.filter((n) => n.roles.includes('etcd'));
  const etcdMembers = await readFact(() =>
    Promise.all(
      etcdNodes.map(async (n): Promise<EtcdMemberFact> => {
        try {
          // etcdctl exits 1 for an unhealthy member and still prints its JSON verdict, with the error
          const r = await ssh.exec(target(n), etcdHealthCommand(n));
          if (r.stdout.trim().startsWith('[')) return parseEtcdHealth(n.hostname, r.stdout);
          throw new Error(`exit ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`);
        } catch (err) {
          return { name: n.hostname, endpoint: `${n.address}:2379`, healthy: false, error: errorMessage(err).split('\n')[0]! };
        }
      }),
    ),
  );
  const certificates = await readFact(async () =>
    (
      await Promise.all(
        inv.nodes
          .filter((n) => n.roles.includes('control_plane'))
          .map(async (n) => parseCertificateDates(n.hostname, await run(n, CERTIFICATE_DATES_COMMAND))),
      )
    ).flat(),
  );
  const clockOffsets = await readFact(async () => {
    const entries = await Promise.all(
      inv.nodes.map(async (n): Promise<[string, number]> => {
        const before = Date.now();
        const out = await run(n, 'date +%s.%N');
        const after = Date.now();
        return [n.hostname, Number(out.trim()) - (before + after) / 2000];
      }),
    );
    return Object.fromEntries(entries);
  });
  return { etcdMembers, certificates, clockOffsets };
}
