// Stage 3, kubespray: render the Kubespray inventory, obtain Kubespray (pinned, checksummed, cached), run the
// operation's playbook as the service user with host keys checked, then fetch the kubeconfig and label GPU nodes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mergeInventory, writeInventory } from '../inventory/document.ts';
import type { Inventory } from '../inventory/types.ts';
import { kubesprayAnsible } from '../kubespray/ansible-env.ts';
import { diffClusterNodes, type ClusterDiff } from '../kubespray/cluster-diff.ts';
import { playHeading, PlaybookOutputReader, type PlaybookReport } from '../kubespray/recap.ts';
import { renderKubespray } from '../kubespray/render.ts';
import { choiceInput, listInput, type InputSource } from '../report/inputs.ts';
import { heading, table, timingsTable, type TimedPhase } from '../report/markdown.ts';
import type { Reporter } from '../report/reporter.ts';
import { installTool, kubesprayArtifact } from '../tools/install.ts';
import { openKubeTools, runKubectl, type KubeTools } from '../helm/kube-tools.ts';
import { errorMessage, StageError, UsageError } from '../util/errors.ts';
import { runProcess } from '../util/process.ts';
import { openWorkDir, type WorkDir } from '../util/work-dir.ts';
import { fetchKubeconfig, requiredKnownHosts, serviceKey, sshTargets } from './access.ts';
import { openStage, readStageInventory, type StageContext } from './context.ts';
import { timed } from './timing.ts';

export const OPERATIONS = {
  deploy: 'cluster.yml',
  scale: 'scale.yml',
  upgrade: 'upgrade-cluster.yml',
  'remove-node': 'remove-node.yml',
  reset: 'reset.yml',
} as const;
export type Operation = keyof typeof OPERATIONS;
const DESTRUCTIVE: Operation[] = ['remove-node', 'reset'];
export const GPU_LABELS = ['nvidia.com/gpu.present=true', 'node-role.kubernetes.io/gpu=worker'];

export interface KubesprayResult {
  operation: Operation;
  playbook: string;
  args: string[];
  report?: PlaybookReport;
  inventoryPath: string;
}

/** The playbook and its arguments for an operation; refuses what Kubespray would do wrong or destroy unasked. */
export function planOperation(
  operation: Operation,
  inv: Inventory,
  clusterName: string,
  confirm: string,
  nodesInput: string,
): { playbook: string; args: string[] } {
  if (DESTRUCTIVE.includes(operation) && confirm !== clusterName) {
    throw new UsageError(
      `operation ${operation} destroys cluster state: pass confirm: ${clusterName} (the cluster name) to go ahead; nothing was run`,
    );
  }
  const nodes = listInput(nodesInput);
  const unknown = nodes.filter((n) => !inv.nodes.some((x) => x.hostname === n));
  if (unknown.length) throw new UsageError(`nodes: ${unknown.join(', ')} not in the inventory of cluster '${clusterName}'`);
  const args: string[] = [];
  if (operation === 'scale' || operation === 'remove-node') {
    if (!nodes.length) throw new UsageError(`operation ${operation} needs the nodes it works on (input nodes: a comma-separated list)`);
    const controlPlane = nodes.filter((n) => inv.nodes.find((x) => x.hostname === n)!.roles.includes('control_plane'));
    if (operation === 'scale' && controlPlane.length) {
      throw new UsageError(
        `${controlPlane.join(', ')}: control-plane nodes are added with operation deploy (cluster.yml), not scale (Kubespray's rule)`,
      );
    }
    args.push(...(operation === 'scale' ? ['--limit', nodes.join(',')] : ['-e', `node=${nodes.join(',')}`]));
  }
  if (operation === 'reset') args.push('-e', 'reset_confirmation=yes');
  return { playbook: OPERATIONS[operation], args };
}

function ansibleCfg(knownHostsFile: string): string {
  return [
    '[defaults]',
    'host_key_checking = True',
    'interpreter_python = auto_silent',
    'retry_files_enabled = False',
    'stdout_callback = default',
    '[ssh_connection]',
    'pipelining = True',
    // ServerAlive: a shared ControlMaster connection to a node that drops off would otherwise hang every later
    // task on it until TCP gives up (about 15 minutes)
    `ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o ConnectTimeout=10 -o ServerAliveInterval=10 -o ServerAliveCountMax=3 -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHostsFile}`,
    '',
  ].join('\n');
}

/** ansible-playbook with our config only: inherited vault and config settings are dropped. */
async function runPlaybook(
  bin: string,
  args: string[],
  cwd: string,
  cfg: string,
  reporter: Reporter,
): Promise<{ code: number; report: PlaybookReport }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^ANSIBLE_/.test(k)));
  const reader = new PlaybookOutputReader();
  const { code } = await runProcess(bin, args, {
    cwd,
    env: { ...env, ANSIBLE_CONFIG: cfg, ANSIBLE_FORCE_COLOR: '0', PYTHONUNBUFFERED: '1' },
    missingHint: 'install ansible, or pass ansible-playbook-path',
    onLine: (l) => {
      const play = playHeading(l);
      if (play) reporter.startGroup(play);
      reader.line(l);
      reporter.info(l);
    },
  });
  reporter.endGroup();
  return { code, report: reader.report };
}

function recapTable(report: PlaybookReport): string {
  return table(
    ['host', 'ok', 'changed', 'unreachable', 'failed', 'first failure'],
    report.recap.map((r) => [
      r.host,
      r.ok,
      r.changed,
      r.unreachable,
      r.failed,
      report.firstFailures[r.host] ? `${report.firstFailures[r.host]!.task}: ${report.firstFailures[r.host]!.message}` : '',
    ]),
  );
}

/** Labels the GPU workers among `scope` (the nodes this operation touched). */
async function labelGpuNodes(inv: Inventory, scope: string[], tools: KubeTools): Promise<string[]> {
  const gpu = inv.nodes.filter((n) => n.roles.includes('gpu_worker') && scope.includes(n.hostname)).map((n) => n.hostname);
  for (const node of gpu) {
    const r = await runKubectl(tools, ['label', 'node', node, ...GPU_LABELS, '--overwrite']);
    if (r.code) throw new StageError(`could not label GPU node ${node} (kubectl exit ${r.code}): ${r.stderr.trim().slice(0, 200)}`);
  }
  return gpu;
}

interface ClusterView {
  registered?: string[];
  note: string;
}

/** kubectl against the cluster, through a kubeconfig fetched from the first control-plane node. */
async function clusterTools(ctx: StageContext, inv: Inventory, key: string, hostsText: string, work: WorkDir) {
  const access = await fetchKubeconfig(ctx, inv, key, hostsText, work);
  return { access, tools: await openKubeTools(ctx, work, access.kubeconfig) };
}

/** The nodes the API server reports (kubectl get nodes). */
async function registeredNodes(tools: KubeTools, apiServer: string): Promise<ClusterView> {
  const r = await runKubectl(tools, ['get', 'nodes', '-o', 'json']);
  if (r.code !== 0)
    throw new StageError(`kubectl get nodes against ${apiServer} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 200)}`);
  const items = (JSON.parse(r.stdout) as { items?: Array<{ metadata?: { name?: string } }> }).items ?? [];
  return { registered: items.map((i) => i.metadata?.name ?? '').filter(Boolean), note: `API server ${apiServer}` };
}

/** Plan mode may lack credentials (a pull request from a fork) or find no cluster yet; neither is an error. */
async function clusterViewForPlan(ctx: StageContext, inv: Inventory, work: WorkDir): Promise<ClusterView> {
  let key: string;
  let hostsText: string;
  try {
    key = serviceKey(ctx);
    hostsText = requiredKnownHosts(ctx);
  } catch (err) {
    return { note: `cluster state not read: ${errorMessage(err)}` };
  }
  try {
    const { access, tools } = await clusterTools(ctx, inv, key, hostsText, work);
    return await registeredNodes(tools, access.apiServer);
  } catch (err) {
    return { note: `no cluster answered: ${errorMessage(err).split('\n')[0]}` };
  }
}

function diffTable(inv: Inventory, diff: ClusterDiff): string {
  const registered = new Set(diff.registered ?? []);
  return table(
    ['node', 'roles', 'registered', 'change'],
    [
      ...inv.nodes.map((n) => [
        n.hostname,
        n.roles.join(', '),
        diff.registered ? (registered.has(n.hostname) ? 'yes' : 'no') : 'unknown',
        diff.newControlPlane.includes(n.hostname) || diff.newWorkers.includes(n.hostname) ? 'add' : '',
      ]),
      ...diff.notInInventory.map((n) => [n, '', 'yes', 'not in the inventory (remove-node candidate; never automatic)']),
    ],
  );
}

/** Nodes the operation should have left registered (or removed) but did not. */
function registrationProblems(operation: Operation, inv: Inventory, nodes: string[], registered: string[]): string[] {
  const present = new Set(registered);
  if (operation === 'remove-node') return nodes.filter((n) => present.has(n)).map((n) => `${n}: still registered after remove-node.yml`);
  const expected = operation === 'scale' ? nodes : inv.nodes.map((n) => n.hostname);
  return expected
    .filter((n) => !present.has(n))
    .map((n) => `${n}: not registered with the API server (check the kubelet on the node: journalctl -u kubelet)`);
}

export async function kubesprayStage(inputs: InputSource, reporter: Reporter): Promise<KubesprayResult> {
  const ctx = openStage(inputs, reporter);
  const { spec } = ctx;
  const { inventoryPath, inv } = readStageInventory(ctx);
  sshTargets(inv.nodes);
  const operation = choiceInput(inputs, 'operation', Object.keys(OPERATIONS) as Operation[], 'deploy');
  const nodes = listInput(inputs.get('nodes'));
  const { playbook, args } = planOperation(operation, inv, spec.name, inputs.get('confirm').trim(), inputs.get('nodes'));
  const rendered = renderKubespray(inv, spec);
  const invDir = resolve(ctx.outDir, 'kubespray/inventory');
  mkdirSync(join(invDir, 'group_vars/all'), { recursive: true });
  writeFileSync(join(invDir, 'hosts.yaml'), rendered.hostsYaml);
  writeFileSync(join(invDir, 'group_vars/all/bcmkube.yml'), rendered.allVarsYaml);
  const command = ['ansible-playbook', '-i', join(invDir, 'hosts.yaml'), playbook, ...args];
  const head = heading(`kubespray: ${operation} on cluster ${spec.name}${ctx.plan ? ' (plan)' : ''}`);
  const phases: TimedPhase[] = [];
  const work = openWorkDir('kubespray');
  try {
    if (ctx.plan) {
      const view = await clusterViewForPlan(ctx, inv, work);
      const diff = diffClusterNodes(inv, view.registered, spec.kubernetes.version);
      const { suggestion } = diff;
      const suggested =
        suggestion.operation === 'none'
          ? `**No changes**: ${suggestion.why}.`
          : `**Kubespray needs: ${suggestion.operation}**${suggestion.nodes.length ? ` (${suggestion.nodes.join(', ')})` : ''}: ${suggestion.why}.`;
      if (suggestion.operation !== 'none' && suggestion.operation !== operation)
        reporter.warning(
          `operation ${operation} was asked; the cluster needs ${suggestion.operation}: ${suggestion.why}`,
          'kubespray plan',
        );
      reporter.output('changes', String(suggestion.operation !== 'none'));
      reporter.summary(
        [
          head,
          `Cluster: ${view.note}.`,
          suggested,
          diffTable(inv, diff),
          `Would run Kubespray ${spec.kubernetes.kubespray_version}: \`${command.join(' ')}\` as ${spec.access.service_user.name}.`,
          `Rendered inventory: \`${invDir}\`; nothing was changed.`,
        ].join('\n\n'),
      );
      reporter.output('inventory-path', inventoryPath);
      return { operation, playbook, args, inventoryPath };
    }
    const key = serviceKey(ctx);
    const keyFile = work.secretFile('service-key', key);
    const hostsText = requiredKnownHosts(ctx);
    const knownHostsFile = work.secretFile('known_hosts', hostsText);
    const cfg = work.secretFile('ansible.cfg', ansibleCfg(knownHostsFile));
    const caFile = spec.mirrors.ca_file;
    const tool = await timed(phases, 'obtain Kubespray', () =>
      installTool(kubesprayArtifact(spec.kubernetes.kubespray_version, spec.mirrors.kubespray), join(work.path, 'download'), {
        ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}),
        pins: spec.mirrors.sha256,
      }),
    );
    const root = [join(tool.dir, `kubespray-${spec.kubernetes.kubespray_version.replace(/^v/, '')}`), tool.dir].find((d) =>
      existsSync(join(d, playbook)),
    );
    if (!root) throw new StageError(`the Kubespray archive has no ${playbook}`);
    reporter.info(
      `Kubespray ${spec.kubernetes.kubespray_version}: ${tool.cached ? 'from the tool cache' : `downloaded, SHA-256 ${tool.verifiedBy}`}`,
    );
    const ansible = await timed(phases, 'Ansible environment', () =>
      reporter.group('Ansible environment', () =>
        kubesprayAnsible(root, spec.kubernetes.kubespray_version, {
          ansiblePlaybookPath: inputs.get('ansible-playbook-path').trim() || undefined,
          indexUrl: spec.mirrors.pypi,
          caFile,
          workDir: work.path,
          log: (l) => reporter.info(l),
        }),
      ),
    );
    reporter.info(`Ansible: ansible-core ${ansible.version} (${ansible.origin})`);
    const run = await timed(phases, `ansible-playbook ${playbook}`, () =>
      runPlaybook(ansible.bin, ['-i', join(invDir, 'hosts.yaml'), playbook, '--private-key', keyFile, ...args], root, cfg, reporter),
    );
    for (const [host, f] of Object.entries(run.report.firstFailures).slice(0, 10))
      reporter.error(`${f.task}: ${f.message}`, `${playbook} failed on ${host}`);
    reporter.output('recap', JSON.stringify(run.report.recap));
    if (run.code !== 0) {
      reporter.summary([head, `**${playbook} failed (exit ${run.code}).**`, recapTable(run.report), timingsTable(phases)].join('\n\n'));
      const bad = run.report.recap
        .filter((r) => r.failed || r.unreachable)
        .map(
          (r) =>
            `${r.host}: failed=${r.failed} unreachable=${r.unreachable}${run.report.firstFailures[r.host] ? ` (${run.report.firstFailures[r.host]!.task})` : ''}`,
        );
      throw new StageError(`${playbook} failed on ${bad.length || 'some'} host(s)`, bad);
    }
    let labelled: string[] = [];
    let kubernetes: Inventory['kubernetes'];
    if (operation !== 'reset') {
      const { access, tools } = await timed(phases, 'fetch kubeconfig', () => clusterTools(ctx, inv, key, hostsText, work));
      const view = await timed(phases, 'check node registration', () => registeredNodes(tools, access.apiServer));
      const problems = registrationProblems(operation, inv, nodes, view.registered ?? []);
      if (problems.length) throw new StageError(`${playbook} finished, but the cluster does not match the inventory`, problems);
      if (operation !== 'remove-node')
        labelled = await timed(phases, 'label GPU nodes', () =>
          labelGpuNodes(inv, operation === 'scale' ? nodes : inv.nodes.map((n) => n.hostname), tools),
        );
      kubernetes = { version: spec.kubernetes.version, apiServer: access.apiServer, registeredNodes: [...(view.registered ?? [])].sort() };
    }
    const at = new Date().toISOString();
    const updated = mergeInventory(
      inv,
      run.report.recap
        .filter((r) => inv.nodes.some((n) => n.hostname === r.host))
        .map((r) => ({ hostname: r.host, history: [{ stage: 'kubespray', at, result: `${operation}: ok=${r.ok} changed=${r.changed}` }] })),
      { stage: 'kubespray', at, result: operation },
    );
    if (kubernetes) updated.kubernetes = kubernetes;
    else delete updated.kubernetes;
    const outPath = join(ctx.outDir, 'inventory.json');
    writeInventory(outPath, updated);
    reporter.output('inventory-path', outPath);
    reporter.summary(
      [
        head,
        `Kubespray ${spec.kubernetes.kubespray_version} ran \`${playbook}\`${args.length ? ` (${args.join(' ')})` : ''} as ${spec.access.service_user.name} with ansible-core ${ansible.version}.${kubernetes ? ` API server: ${kubernetes.apiServer} (kubeconfig kept on the runner only); ${kubernetes.registeredNodes.length} nodes registered.` : ''}${labelled.length ? ` GPU labels on ${labelled.join(', ')}.` : ''}`,
        recapTable(run.report),
        timingsTable(phases),
      ].join('\n\n'),
    );
    return { operation, playbook, args, report: run.report, inventoryPath: outPath };
  } finally {
    work.remove();
  }
}
