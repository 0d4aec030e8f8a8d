// `bcmkube health --spec …`: reads the cluster (changing nothing), prints one line per check, writes the checks
// as JSON beside them (--json FILE, default <out>/health.json) and the job summary's table, and exits with a
// code that says how it went (HEALTH_EXIT). `bcmkube health-issue --report FILE` then opens, updates or closes
// the cluster's GitHub issue from that JSON (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL; issues: write).
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { BcmClient } from '../bcm/client.ts';
import type { ClusterSpec } from '../config/types.ts';
import { lastSnapshotAt, openSnapshotStore } from '../etcd/store.ts';
import { parseStatus } from '../bcm/model.ts';
import { openKubeTools } from '../helm/kube-tools.ts';
import { loadPlatformManifest, platformDir } from '../helm/manifest.ts';
import { selectPlatform } from '../helm/selection.ts';
import { booleanInput, type InputSource } from '../report/inputs.ts';
import { heading } from '../report/markdown.ts';
import type { Reporter } from '../report/reporter.ts';
import type { SshPool } from '../ssh/pool.ts';
import { openClusterAccess, pool, requiredKnownHosts, serviceKey } from '../stages/access.ts';
import { STAGES, type StageDef } from '../stages/catalog.ts';
import { openStage, readStageInventory } from '../stages/context.ts';
import { bcmAuth, caPem } from '../stages/discover.ts';
import { readValuesFile } from '../stages/platform.ts';
import { UsageError } from '../util/errors.ts';
import { openWorkDir } from '../util/work-dir.ts';
import { evaluateHealth, healthExitCode, healthLines, type CheckResult, type HealthFacts } from './evaluate.ts';
import { gatherKube, gatherNodes, readFact, type EtcdBackupSource } from './gather.ts';
import { healthTable, restIssuesApi, syncHealthIssue } from './issue.ts';

const stageInputs = (action: string, names: string[]) =>
  STAGES.find((s) => s.action === action)!.inputs.filter((i) => names.includes(i.name));

/** The flags of `bcmkube health`: the spec, the inventory, BCM's and the service user's credentials. */
export const HEALTH_DEF: StageDef = {
  action: 'health',
  command: 'health',
  title: 'bcmkube health',
  description:
    'Checks a deployed cluster, read-only: BCM status, nodes Ready, GPUs allocatable against the inventory, Helm releases at their pinned versions and values, KnativeServing, Run:ai, etcd members and the last backup, certificate expiry, clock skew. Exit codes: 0 healthy, 1 a check failed, 2 bad usage, 3 warnings only, 4 a check could not be read.',
  inputs: [
    ...stageInputs('discover-nodes', [
      'spec',
      'out-dir',
      'bcm-username',
      'bcm-password',
      'bcm-password-file',
      'bcm-client-cert',
      'bcm-client-key',
      'bcm-ca-cert',
      'insecure',
    ]),
    ...stageInputs('helm-platform', ['inventory', 'service-ssh-key', 'known-hosts']),
    { name: 'json', description: 'Where the checks go as JSON. Default <out>/health.json.' },
  ],
  outputs: [],
};

/** The newest snapshot in the store `bcmkube etcd backup` writes to (etcd_backup.target), read as its user. */
function storeBackups(spec: ClusterSpec, serviceSsh: SshPool, login: (user: string) => SshPool): EtcdBackupSource {
  return {
    lastBackup: async () => {
      const user = spec.etcd_backup.target.user;
      const ssh = user && user !== spec.access.service_user.name ? login(user) : serviceSsh;
      try {
        const at = await lastSnapshotAt(openSnapshotStore(spec, ssh), spec.name);
        return at ? { lastAt: at.toISOString() } : {};
      } finally {
        if (ssh !== serviceSsh) await ssh.close();
      }
    },
  };
}

export interface HealthReport {
  cluster: string;
  at: string;
  exitCode: number;
  checks: CheckResult[];
}

export async function healthCheck(inputs: InputSource, reporter: Reporter, backups?: EtcdBackupSource): Promise<HealthReport> {
  const ctx = openStage(inputs, reporter);
  const { spec } = ctx;
  const { inv } = readStageInventory(ctx);
  const helmDir = platformDir();
  const sel = selectPlatform(loadPlatformManifest(join(helmDir, 'platform.yaml')), spec, readValuesFile(helmDir));
  const work = openWorkDir('health');
  const login = (username: string) =>
    pool(
      spec,
      { username, privateKey: serviceKey(ctx) },
      requiredKnownHosts(ctx),
      spec.access.host_key_policy === 'off' ? 'off' : 'strict',
      8,
    );
  const ssh = login(spec.access.service_user.name);
  try {
    const bcmNodes = await readFact(async () => {
      const client = new BcmClient({
        endpoint: spec.bcm.endpoint,
        auth: bcmAuth(ctx),
        ca: caPem(ctx),
        insecure: booleanInput(inputs, 'insecure', false) || spec.bcm.insecure,
        ...(spec.bcm.tls_server_name ? { tlsServerName: spec.bcm.tls_server_name } : {}),
        timeoutMs: spec.bcm.timeout_seconds * 1000,
        retries: spec.bcm.retries,
      });
      const uuids = inv.nodes.map((n) => n.uuid);
      const statuses = await client.callList('cmstatus', 'getStatusForDevices', [uuids], (el, i) => parseStatus(el, uuids[i]));
      return inv.nodes.map((n) => ({ hostname: n.hostname, status: statuses.find((s) => s.uuid === n.uuid)?.status ?? 'UNKNOWN' }));
    });
    const access = await readFact(() => openClusterAccess(ctx, inv, work));
    const knative = sel.releases.some((r) => r.release.name === 'knative-operator');
    const kube =
      'unreadable' in access
        ? {
            kubeNodes: access,
            releases: access,
            ...(knative ? { knativeServing: access } : {}),
          }
        : await gatherKube(await openKubeTools(ctx, work, access.kubeconfig), sel.releases, knative);
    const facts: HealthFacts = {
      now: new Date(),
      bcmNodes,
      ...kube,
      ...(spec.runai.enabled
        ? { runaiCluster: { unreadable: 'the Run:ai API is not read by the health check yet (see the runai stage)' } }
        : {}),
      ...(await gatherNodes(ssh, inv)),
      etcdBackup: await readFact(() => (backups ?? storeBackups(spec, ssh, login)).lastBackup()),
    };
    const checks = evaluateHealth(facts, { inventory: inv, releases: sel.releases });
    const report: HealthReport = { cluster: spec.name, at: facts.now.toISOString(), exitCode: healthExitCode(checks), checks };
    for (const line of healthLines(checks)) reporter.info(line);
    const jsonPath = inputs.get('json').trim() || join(ctx.outDir, 'health.json');
    mkdirSync(dirname(jsonPath), { recursive: true });
    writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    const summary = [heading(`health of cluster ${spec.name}`), healthTable(checks), `Checks as JSON: ${jsonPath}.`].join('\n\n');
    reporter.summary(summary);
    // on a runner the CLI writes the job summary itself (the actions' reporter does this for the stages)
    if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${summary}\n`);
    return report;
  } finally {
    await ssh.close();
    work.remove();
  }
}

/** `bcmkube health-issue --report health.json`: the cluster's issue, from the report `bcmkube health` wrote. */
export async function healthIssueCommand(argv: string[], reporter: Reporter, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { report: { type: 'string' } }, strict: true });
  if (!values.report) throw new UsageError('pass --report FILE: the JSON that bcmkube health wrote');
  const report = JSON.parse(readFileSync(values.report, 'utf8')) as HealthReport;
  const token = env.GITHUB_TOKEN ?? '';
  if (!token || !env.GITHUB_REPOSITORY)
    throw new UsageError('GITHUB_TOKEN and GITHUB_REPOSITORY must be set (the workflow job passes them)');
  reporter.secret(token);
  const api = restIssuesApi({ apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com', repository: env.GITHUB_REPOSITORY, token });
  const runUrl =
    env.GITHUB_SERVER_URL && env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  const out = await syncHealthIssue(api, report.cluster, report.checks, runUrl);
  reporter.info(`health issue of ${report.cluster}: ${out.action}${out.number ? ` #${out.number}` : ''}${out.url ? ` ${out.url}` : ''}`);
  return 0;
}
