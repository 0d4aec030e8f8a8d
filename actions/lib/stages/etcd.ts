// bcmkube etcd backup | restore. Backup: a snapshot from one healthy member over SSH as the service user,
// checked with etcdutl, sealed on the runner (etcd/crypto.ts) and stored where the spec says, keeping N.
// Restore: the plan of etcd/restore-plan.ts, after everything that can refuse has been checked.
import type { InventoryNode } from '../inventory/types.ts';
import { secretInput } from '../report/inputs.ts';
import type { Reporter } from '../report/reporter.ts';
import type { InputSource } from '../report/inputs.ts';
import type { SshPool, SshTarget } from '../ssh/pool.ts';
import { openSnapshot, sealSnapshot } from '../etcd/crypto.ts';
import { asRoot, etcdctl, etcdutl, ETCD_ENV, parseEtcdEnv, parseSnapshotStatus, type EtcdNode, type MemberFacts } from '../etcd/members.ts';
import { renderRestorePlan, restorePlan, stagedSnapshot, staticPodsPresent, type RestorePhase } from '../etcd/restore-plan.ts';
import { age, clusterSnapshots, retention, snapshotId, snapshotTime, SNAPSHOT_SUFFIX, validSnapshotId } from '../etcd/snapshots.ts';
import { openSnapshotStore, type SnapshotStore } from '../etcd/store.ts';
import { StageError, UsageError } from '../util/errors.ts';
import { apiServerPort, pool, requiredKnownHosts, serviceKey, sshTargets } from './access.ts';
import { openStage, readStageInventory, type StageContext } from './context.ts';

const OPERATIONS = ['backup', 'restore'] as const;

interface Reach {
  ssh: SshPool;
  targets: Map<string, SshTarget>;
}

function backupKey(ctx: StageContext): string {
  const key = secretInput(ctx.inputs, 'etcd-backup-key', ctx.reporter);
  if (!key)
    throw new UsageError(
      `pass the key that seals the snapshots as ${ctx.inputs.label('etcd-backup-key')} (a secret; the same key opens them for a restore)`,
    );
  return key;
}

function members(nodes: InventoryNode[]): InventoryNode[] {
  const etcd = nodes.filter((n) => n.roles.includes('etcd'));
  if (!etcd.length) throw new StageError('the inventory has no etcd node: has discover-nodes run for this cluster?');
  return etcd;
}

async function run(ssh: SshPool, target: SshTarget, command: string, what: string): Promise<string> {
  const r = await ssh.exec(target, command);
  if (r.code !== 0) throw new StageError(`${target.hostname}: ${what} failed (exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
  return r.stdout;
}

export async function etcdStage(inputs: InputSource, reporter: Reporter): Promise<unknown> {
  const ctx = openStage(inputs, reporter);
  const operation = inputs.get('operation').trim();
  if (!OPERATIONS.includes(operation as (typeof OPERATIONS)[number]))
    throw new UsageError(`operation: '${operation.slice(0, 40)}' is not one of ${OPERATIONS.join(' | ')} (bcmkube etcd backup | restore)`);
  if (operation === 'restore') {
    validSnapshotId(ctx.spec.name, inputs.get('snapshot').trim());
    if (!ctx.plan && inputs.get('confirm').trim() !== ctx.spec.name)
      throw new UsageError(
        `a restore replaces the whole cluster state with the snapshot: pass --confirm ${ctx.spec.name} (or run with --plan to see the steps); nothing was changed`,
      );
  }
  const { inv } = readStageInventory(ctx);
  const key = backupKey(ctx);
  const etcdNodes = members(inv.nodes);
  const cp = inv.nodes.filter((n) => n.roles.includes('control_plane'));
  const sshKey = serviceKey(ctx);
  const hosts = requiredKnownHosts(ctx);
  const policy = ctx.spec.access.host_key_policy === 'off' ? 'off' : 'strict';
  const as = (username: string) => pool(ctx.spec, { username, privateKey: sshKey }, hosts, policy, ctx.spec.access.concurrency);
  const serviceUser = ctx.spec.access.service_user.name;
  const nodeSsh = as(serviceUser);
  const storeUser = ctx.spec.etcd_backup.target.user ?? serviceUser;
  const storeSsh = storeUser === serviceUser ? nodeSsh : as(storeUser);
  const reach: Reach = { ssh: nodeSsh, targets: new Map(sshTargets([...etcdNodes, ...cp]).map((t) => [t.hostname, t])) };
  try {
    const store = openSnapshotStore(ctx.spec, storeSsh);
    return operation === 'backup'
      ? await backup(ctx, reach, etcdNodes, store, key)
      : await restore(ctx, reach, etcdNodes, cp, store, key, inputs.get('snapshot').trim());
  } finally {
    await Promise.all([...new Set([nodeSsh, storeSsh])].map((p) => p.close()));
  }
}

/** The first member that reports itself healthy, in inventory order. */
async function healthyMember(reach: Reach, nodes: EtcdNode[]): Promise<EtcdNode> {
  const why: string[] = [];
  for (const n of nodes) {
    try {
      await run(reach.ssh, reach.targets.get(n.hostname)!, asRoot(etcdctl(n, 'endpoint', 'health')), 'etcdctl endpoint health');
      return n;
    } catch (err) {
      why.push((err as Error).message);
    }
  }
  throw new StageError(`no etcd member is healthy, so no snapshot was taken:\n  ${why.join('\n  ')}`);
}

async function backup(ctx: StageContext, reach: Reach, etcdNodes: InventoryNode[], store: SnapshotStore, key: string) {
  const { spec, reporter } = ctx;
  const previous = clusterSnapshots(spec.name, await store.list()).at(-1);
  const now = new Date();
  const id = snapshotId(spec.name, now);
  if (ctx.plan) {
    reporter.info(
      `plan: a snapshot ${id} from the first healthy of ${etcdNodes.map((n) => n.hostname).join(', ')}, sealed, to ${store.where}`,
    );
    reporter.output('snapshot-id', id);
    reporter.output('changes', 'true');
    return { id };
  }
  const member = await healthyMember(reach, etcdNodes);
  const target = reach.targets.get(member.hostname)!;
  const file = `/var/tmp/bcmkube-backup-${id}.db`;
  let plain: Buffer;
  let status;
  try {
    await run(reach.ssh, target, `umask 077 && ${asRoot(etcdctl(member, 'snapshot', 'save', file))}`, 'etcdctl snapshot save');
    status = parseSnapshotStatus(
      member.hostname,
      await run(reach.ssh, target, asRoot(etcdutl('snapshot', 'status', file, '-w', 'json')), 'etcdutl snapshot status'),
    );
    const bytes = Number((await run(reach.ssh, target, asRoot(['stat', '-c', '%s', file]), 'stat of the snapshot')).trim());
    const read = await reach.ssh.execBinary(target, asRoot(['cat', file]));
    if (read.code !== 0 || read.stdout.length !== bytes)
      throw new StageError(
        `${member.hostname}: reading the snapshot failed (exit ${read.code}, ${read.stdout.length} of ${bytes} bytes): ${read.stderr.trim().slice(-300)}; nothing was stored`,
      );
    plain = read.stdout;
  } finally {
    await reach.ssh.exec(target, asRoot(['rm', '-f', file])).catch(() => undefined);
  }
  const size = plain.length;
  const sealed = sealSnapshot(plain, key);
  plain.fill(0);
  await store.put(`${id}${SNAPSHOT_SUFFIX}`, sealed);
  const { removed, kept } = retention(spec.name, await store.list(), spec.etcd_backup.keep);
  for (const old of removed) await store.remove(`${old}${SNAPSHOT_SUFFIX}`);
  const previousAge = previous ? age(snapshotTime(spec.name, previous)!, now) : undefined;
  const line = `etcd snapshot ${id} from ${member.hostname}: ${size} bytes, revision ${status.revision}, ${status.totalKey} keys; sealed (${sealed.length} bytes) in ${store.where}; previous: ${previous ? `${previous} (${previousAge} before)` : 'none'}; kept ${kept.length}, removed ${removed.length}`;
  reporter.info(line);
  reporter.summary(
    [
      `### etcd backup of ${spec.name}`,
      '',
      '| snapshot | member | size | revision | keys | stored in | previous | retention |',
      '|---|---|---|---|---|---|---|---|',
      `| ${id} | ${member.hostname} | ${size} B | ${status.revision} | ${status.totalKey} | ${store.where} | ${previous ? `${previousAge} older` : 'none'} | kept ${kept.length} of ${spec.etcd_backup.keep}${removed.length ? `, removed ${removed.join(', ')}` : ''} |`,
    ].join('\n'),
  );
  reporter.output('snapshot-id', id);
  reporter.output('revision', String(status.revision));
  reporter.output('size', String(size));
  reporter.output('changes', 'true');
  return { id, status, removed };
}

/** fn on every node at once; any node that fails stops the restore before anything is stopped or changed. */
async function onEveryNode<T>(reach: Reach, nodes: InventoryNode[], needs: string, fn: (t: SshTarget) => Promise<T>): Promise<T[]> {
  const results = await reach.ssh.forEach(
    nodes.map((n) => reach.targets.get(n.hostname)!),
    fn,
  );
  const failed = [...results].flatMap(([h, r]) => (r.ok ? [] : [r.error.startsWith(`${h}: `) ? r.error : `${h}: ${r.error}`]));
  if (failed.length) throw new StageError(`a restore needs ${needs}; nothing was stopped or changed:\n  ${failed.join('\n  ')}`);
  return nodes.map((n) => (results.get(n.hostname) as { ok: true; value: T }).value);
}

/** Every member's own settings, read from its etcd.env. */
const memberFacts = (reach: Reach, etcdNodes: InventoryNode[]): Promise<MemberFacts[]> =>
  onEveryNode(reach, etcdNodes, 'every etcd member', async (t) => {
    const facts = parseEtcdEnv(t, await run(reach.ssh, t, asRoot(['cat', ETCD_ENV]), `reading ${ETCD_ENV}`));
    await run(
      reach.ssh,
      t,
      asRoot(['systemctl', 'cat', 'etcd.service']),
      "finding the etcd systemd unit (Kubespray's etcd_deployment_type host; kubeadm- or docker-run etcd is not supported)",
    );
    return facts;
  });

/** Every control-plane node answers, may sudo and runs the control plane as static pods: they stop before etcd does. */
const controlPlaneReachable = (reach: Reach, cp: InventoryNode[]) =>
  onEveryNode(reach, cp, 'every control-plane node', (t) =>
    run(
      reach.ssh,
      t,
      asRoot(['sh', '-c', staticPodsPresent()]),
      "checking the control plane's static pods (Kubespray's kubeadm manifests)",
    ),
  );

async function restore(
  ctx: StageContext,
  reach: Reach,
  etcdNodes: InventoryNode[],
  cp: InventoryNode[],
  store: SnapshotStore,
  key: string,
  id: string,
) {
  const { reporter } = ctx;
  const sealed = await store.get(`${id}${SNAPSHOT_SUFFIX}`);
  const snapshot = openSnapshot(sealed, key, `${store.where}/${id}${SNAPSHOT_SUFFIX}`);
  const facts = await memberFacts(reach, etcdNodes);
  await controlPlaneReachable(reach, cp);
  const phases = restorePlan({
    snapshotId: id,
    members: facts,
    controlPlane: cp.map((n) => ({ hostname: n.hostname, address: n.address, apiPort: apiServerPort(ctx.spec) })),
    waitSeconds: Math.max(60, ctx.spec.access.command_timeout_seconds - 10),
  });
  const lines = renderRestorePlan(phases);
  if (ctx.plan) {
    reporter.info(
      [
        `plan: restore ${ctx.spec.name} from ${id} (${snapshot.length} bytes) on ${facts.map((f) => `${f.hostname} as ${f.name}`).join(', ')}:`,
        ...lines,
      ].join('\n'),
    );
    reporter.summary(['### etcd restore plan', '', '```', ...lines, '```'].join('\n'));
    reporter.output('changes', 'true');
    return { phases };
  }
  try {
    await applyPlan(reach, phases, snapshot, reporter);
  } finally {
    snapshot.fill(0);
    // the staged copy is the plaintext snapshot: it never stays on a member, whatever happened
    await reach.ssh.forEach(
      facts.map((f) => reach.targets.get(f.hostname)!),
      (t) => reach.ssh.exec(t, asRoot(['rm', '-f', stagedSnapshot(id)])),
    );
  }
  reporter.info(
    `etcd restored from ${id} on ${facts.map((f) => f.hostname).join(', ')}; the old data dirs are kept beside them (*.before-${id})`,
  );
  reporter.summary([`### etcd restore of ${ctx.spec.name} from ${id}`, '', '```', ...lines, '```'].join('\n'));
  reporter.output('changes', 'true');
  return { phases };
}

async function applyPlan(reach: Reach, phases: RestorePhase[], snapshot: Buffer, reporter: Reporter): Promise<void> {
  for (const [i, phase] of phases.entries()) {
    reporter.info(`${i + 1}/${phases.length} ${phase.title}`);
    const nodes = [...new Set(phase.steps.map((s) => s.node))];
    const results = await reach.ssh.forEach(
      nodes.map((n) => reach.targets.get(n)!),
      async (t) => {
        for (const step of phase.steps.filter((s) => s.node === t.hostname)) {
          const r =
            step.stdin === 'snapshot' ? await reach.ssh.execBinary(t, step.command, snapshot) : await reach.ssh.exec(t, step.command);
          if (r.code !== 0) throw new StageError(`${t.hostname}: ${step.what} failed (exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
          if (step.expect === 'snapshot-status') parseSnapshotStatus(t.hostname, r.stdout.toString());
        }
      },
    );
    const failed = [...results].filter(([, r]) => !r.ok).map(([, r]) => (r.ok ? '' : r.error));
    if (failed.length) {
      const state = phase.changes
        ? `stopped in phase ${i + 1} of ${phases.length}; \`bcmkube etcd restore --plan\` lists every phase: finish them by hand or run the restore again`
        : 'nothing was stopped or changed';
      throw new StageError(`${phase.title}: ${failed.join('; ')}\n${state}`);
    }
  }
}
