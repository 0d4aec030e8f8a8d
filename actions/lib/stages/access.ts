// How stages reach the nodes and the cluster: the SSH pool, known hosts, the service user's key, and the
// kubeconfig fetched over SSH from the first control-plane node (it never leaves the runner's temp folder).
import { existsSync, readFileSync } from 'node:fs';
import { parseIpv4 } from '../config/cidr.ts';
import type { ClusterSpec } from '../config/types.ts';
import type { Inventory, InventoryNode } from '../inventory/types.ts';
import { secretInput } from '../report/inputs.ts';
import { parseKnownHosts, type HostKeyPolicy } from '../ssh/known-hosts.ts';
import { SshPool, type SshCredentials, type SshTarget } from '../ssh/pool.ts';
import { validHostname } from '../ssh/quote.ts';
import { StageError, UsageError } from '../util/errors.ts';
import type { WorkDir } from '../util/work-dir.ts';
import type { StageContext } from './context.ts';

/** The API server's port: Kubespray's kube_apiserver_port when the spec sets it in extra_vars, else its default 6443. */
export function apiServerPort(spec: StageContext['spec']): number {
  const port = Number(spec.kubernetes.extra_vars.kube_apiserver_port ?? 6443);
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : 6443;
}

export function readMaybeFile(value: string): string {
  return !value.includes('\n') && existsSync(value) ? readFileSync(value, 'utf8') : value;
}

export function knownHosts(ctx: StageContext): { text: string; file?: string } {
  const input = ctx.inputs.get('known-hosts').trim();
  if (input) return input.includes(' ') ? { text: input } : { text: readMaybeFile(input), file: input };
  const file = ctx.spec.access.known_hosts_file;
  if (file) {
    if (!existsSync(file)) return { text: '', file };
    return { text: readFileSync(file, 'utf8'), file };
  }
  return { text: '' };
}

/** Refuses, before any SSH, a node whose name or address could not be a host. */
export function sshTargets(nodes: InventoryNode[]): SshTarget[] {
  return nodes.map((n) => {
    validHostname(n.hostname, `inventory node '${n.hostname.slice(0, 40)}'`);
    if (parseIpv4(n.address) === undefined)
      throw new UsageError(`inventory node ${n.hostname}: address '${n.address.slice(0, 40)}' is not an IPv4 address`);
    return { hostname: n.hostname, address: n.address };
  });
}

/** An SSH pool with the spec's timeouts and algorithms. */
export function pool(
  spec: ClusterSpec,
  credentials: SshCredentials,
  knownHostsText: string,
  policy: HostKeyPolicy,
  concurrency: number,
): SshPool {
  return new SshPool({
    credentials,
    knownHosts: parseKnownHosts(knownHostsText),
    policy,
    concurrency,
    connectTimeoutMs: spec.access.connect_timeout_seconds * 1000,
    commandTimeoutMs: spec.access.command_timeout_seconds * 1000,
    connectRetries: 1,
    legacyAlgorithms: spec.access.legacy_algorithms,
  });
}

/** The service user's private key (input service-ssh-key or access.service_user.private_key_file), masked. */
export function serviceKey(ctx: StageContext): string {
  const text = secretInput(ctx.inputs, 'service-ssh-key', ctx.reporter, ctx.spec.access.service_user.private_key_file);
  if (!text)
    throw new UsageError(
      `pass the service user's private key as ${ctx.inputs.label('service-ssh-key')} (or access.service_user.private_key_file)`,
    );
  const key = readMaybeFile(text);
  ctx.reporter.secret(key);
  return key.endsWith('\n') ? key : `${key}\n`;
}

/** Known hosts for the nodes; refuses an empty list unless host keys are not checked at all. */
export function requiredKnownHosts(ctx: StageContext): string {
  const hosts = knownHosts(ctx);
  if (!hosts.text.trim() && ctx.spec.access.host_key_policy !== 'off')
    throw new UsageError(
      `host keys are checked: pass ${ctx.inputs.label('known-hosts')} or access.known_hosts_file (prepare-nodes records them)`,
    );
  return hosts.text;
}

export interface ClusterAccess {
  /** Path of the kubeconfig (0600, inside the work folder). */
  kubeconfig: string;
  /** The control-plane node the kubeconfig points at. */
  apiNode: InventoryNode;
  apiServer: string;
}

/** Fetches admin.conf from the first control-plane node as the service user and points it at that node. */
export async function fetchKubeconfig(
  ctx: StageContext,
  inv: Inventory,
  key: string,
  knownHostsText: string,
  work: WorkDir,
): Promise<ClusterAccess> {
  const first = inv.nodes.find((n) => n.roles.includes('control_plane'));
  if (!first) throw new StageError('no control-plane node in the inventory to fetch the kubeconfig from');
  const [target] = sshTargets([first]);
  const ssh = pool(
    ctx.spec,
    { username: ctx.spec.access.service_user.name, privateKey: key },
    knownHostsText,
    ctx.spec.access.host_key_policy === 'off' ? 'off' : 'strict',
    1,
  );
  try {
    const r = await ssh.exec(target!, 'sudo -n cat /etc/kubernetes/admin.conf');
    if (r.code !== 0 || !r.stdout.includes('kind: Config'))
      throw new StageError(
        `${first.hostname}: could not read /etc/kubernetes/admin.conf as ${ctx.spec.access.service_user.name} (exit ${r.code}): ${r.stderr.trim().slice(0, 200)}; has the kubespray stage deployed this cluster?`,
      );
    for (const line of r.stdout.split('\n')) if (/-data:\s*\S/.test(line)) ctx.reporter.secret(line.split(':').slice(1).join(':').trim());
    const apiServer = `https://${first.address}:${apiServerPort(ctx.spec)}`;
    const text = r.stdout.replace(/server: https:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+/g, `server: ${apiServer}`);
    return { kubeconfig: work.secretFile('kubeconfig', text), apiNode: first, apiServer };
  } finally {
    await ssh.close();
  }
}

/** The kubeconfig of the cluster the inventory describes, fetched with the service user's key. */
export async function openClusterAccess(ctx: StageContext, inv: Inventory, work: WorkDir): Promise<ClusterAccess> {
  return fetchKubeconfig(ctx, inv, serviceKey(ctx), requiredKnownHosts(ctx), work);
}
