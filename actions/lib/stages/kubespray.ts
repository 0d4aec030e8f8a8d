// Stage 3, kubespray: render the Kubespray inventory, obtain Kubespray (pinned, checksummed, cached) and its
// Ansible, and run the operation's playbooks as the service user with host keys checked and Kubespray's own
// ansible.cfg in force; then fetch the kubeconfig, check node registration and set Run:ai's node roles.
// Plan mode runs the same playbooks with --syntax-check and --list-hosts.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mergeInventory, writeInventory } from '../inventory/document.ts';
import type { Inventory } from '../inventory/types.ts';
import { kubesprayAnsible } from '../kubespray/ansible-env.ts';
import { diffClusterNodes, type ClusterDiff } from '../kubespray/cluster-diff.ts';
import { listedHosts, playHeading, PlaybookOutputReader, type PlaybookReport } from '../kubespray/recap.ts';
import { playbookEnvironment } from '../kubespray/ansible-settings.ts';
import { MIRROR_CA_PLAYBOOK, mirrorCaPlaybook, NGINX_PROXY_PLAYBOOK, nginxProxyRestartPlaybook } from '../kubespray/own-playbooks.ts';
import { firstOfRole, isKubernetesNode, renderKubespray } from '../kubespray/render.ts';
import { booleanInput, choiceInput, listInput, type InputSource } from '../report/inputs.ts';
import { etcdCountProblem, kubesprayHostnameProblem } from '../config/semantics.ts';
import { heading, table, timingsTable, type TimedPhase } from '../report/markdown.ts';
import type { Reporter } from '../report/reporter.ts';
import { installTool, kubesprayArtifact } from '../tools/install.ts';
import { openKubeTools, runKubectl, type KubeTools } from '../helm/kube-tools.ts';
import { errorMessage, StageError, UsageError } from '../util/errors.ts';
import { runProcess } from '../util/process.ts';
import { openWorkDir, type WorkDir } from '../util/work-dir.ts';
import { fetchKubeconfig, knownHosts, requiredKnownHosts, serviceKey, sshTargets } from './access.ts';
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
/** Kubespray's playbook that fills the fact cache of every host; scale.yml --limit needs it first. */
export const FACTS_PLAYBOOK = 'playbooks/facts.yml';

/**
 * One ansible-playbook run: the playbook (relative to Kubespray's top folder, or with `ours` a playbook bcmkube
 * writes into its work folder) and its arguments.
 */
export interface PlaybookRun {
  playbook: string;
  args: string[];
  ours?: boolean;
}

export interface KubesprayResult {
  operation: Operation;
  runs: PlaybookRun[];
  report?: PlaybookReport;
  inventoryPath: string;
}

/**
 * What Kubespray itself refuses in an inventory, checked before anything runs: an even etcd count (counted
 * after discovery, so globs and categories are included) and hostnames that are not lower case.
 */
export function kubesprayInventoryProblems(inv: Inventory): string[] {
  const problems: string[] = [];
  const etcd = etcdCountProblem(inv.nodes.filter((n) => n.roles.includes('etcd')).length);
  if (etcd) problems.push(`inventory: ${etcd}`);
  for (const n of inv.nodes) {
    const bad = kubesprayHostnameProblem(n.hostname);
    if (bad) problems.push(`${n.hostname}: ${bad}`);
  }
  return problems;
}

/** The playbooks an operation runs, in order; refuses what Kubespray would do wrong or destroy unasked. */
export function planOperation(
  operation: Operation,
  inv: Inventory,
  clusterName: string,
  opts: { confirm: string; nodes: string; nodesDown?: boolean; mirrorCa?: boolean; restartNginxProxy?: boolean },
): PlaybookRun[] {
  if (DESTRUCTIVE.includes(operation) && opts.confirm !== clusterName) {
    throw new UsageError(
      `operation ${operation} destroys cluster state: pass confirm: ${clusterName} (the cluster name) to go ahead; nothing was run`,
    );
  }
  if (opts.nodesDown && operation !== 'remove-node')
    throw new UsageError(`nodes-down applies to operation remove-node only (operation is ${operation}); nothing was run`);
  const nodes = listInput(opts.nodes);
  const unknown = nodes.filter((n) => !inv.nodes.some((x) => x.hostname === n));
  if (unknown.length) throw new UsageError(`nodes: ${unknown.join(', ')} not in the inventory of cluster '${clusterName}'`);
  const problems = kubesprayInventoryProblems(inv);
  if (problems.length)
    throw new UsageError(`Kubespray would refuse this inventory; nothing was run\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  const playbook = OPERATIONS[operation];
  if (operation === 'scale' || operation === 'remove-node') {
    if (!nodes.length) throw new UsageError(`operation ${operation} needs the nodes it works on (input nodes: a comma-separated list)`);
  }
  if (operation === 'scale') {
    const controlPlane = nodes.filter((n) => inv.nodes.find((x) => x.hostname === n)!.roles.includes('control_plane'));
    if (controlPlane.length)
      throw new UsageError(
        `${controlPlane.join(', ')}: control-plane nodes are added with operation deploy (cluster.yml), not scale (Kubespray's rule)`,
      );
    // Kubespray refuses --limit unless every excluded host's facts are cached: facts.yml fills the cache first
    const limit = ['--limit', nodes.join(',')];
    return [
      ...(opts.mirrorCa ? [{ playbook: MIRROR_CA_PLAYBOOK, args: limit, ours: true }] : []),
      { playbook: FACTS_PLAYBOOK, args: [] },
      { playbook, args: limit },
    ];
  }
  if (operation === 'remove-node') {
    for (const role of ['control_plane', 'etcd'] as const) {
      const first = firstOfRole(inv.nodes, role);
      if (first && nodes.includes(first))
        throw new UsageError(
          `${first} is the first ${role === 'etcd' ? 'etcd' : 'control-plane'} node, which Kubespray's remove-node.yml cannot remove: move another node to the front (list it first by name, or give ${first} a name that sorts after it) with operation deploy, then remove ${first}; nothing was run`,
        );
    }
    // remove-node.yml asks for confirmation on a terminal; the job has none, and confirm: already asked
    const args = ['-e', `node=${nodes.join(',')}`, '-e', 'skip_confirmation=true'];
    // nodes that are down cannot be reset or drained (Kubespray docs, operations/nodes.md)
    if (opts.nodesDown) args.push('-e', 'reset_nodes=false', '-e', 'allow_ungraceful_removal=true');
    return [{ playbook, args }];
  }
  if (operation === 'reset') return [{ playbook, args: ['-e', 'reset_confirmation=yes'] }];
  return [
    ...(opts.mirrorCa ? [{ playbook: MIRROR_CA_PLAYBOOK, args: [], ours: true }] : []),
    { playbook, args: [] },
    ...(operation === 'deploy' && opts.restartNginxProxy ? [{ playbook: NGINX_PROXY_PLAYBOOK, args: [], ours: true }] : []),
  ];
}

/** The command line of a run, as the summary shows it. */
function commandLine(hostsFile: string, run: PlaybookRun): string {
  return ['ansible-playbook', '-i', hostsFile, '--become', run.playbook, ...run.args].join(' ');
}

/** ansible-playbook with Kubespray's own ansible.cfg and our settings on top (see ansible-settings.ts). */
async function runPlaybook(
  bin: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
  quiet = false,
): Promise<{ code: number; report: PlaybookReport; stdout: string; stderr: string }> {
  const reader = new PlaybookOutputReader();
  const r = await runProcess(bin, args, {
    cwd,
    env,
    missingHint: 'install ansible, or pass ansible-playbook-path',
    onLine: (l) => {
      if (quiet) return;
      const play = playHeading(l);
      if (play) reporter.startGroup(play);
      reader.line(l);
      reporter.info(l);
    },
  });
  reader.end();
  if (!quiet) reporter.endGroup();
  return { code: r.code, report: reader.report, stdout: r.stdout, stderr: r.stderr };
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

/**
 * Run:ai's node roles (Run:ai 2.21 "Node roles"): GPU workers get runai-gpu-worker, workers without a GPU
 * runai-cpu-worker and runai-system (Run:ai prefers system nodes for its services and advises against the
 * control plane). Only where Run:ai is on: nothing else reads these labels.
 */
export function runaiNodeLabels(inv: Inventory, scope: string[]): Array<{ node: string; labels: string[] }> {
  return inv.nodes
    .filter((n) => scope.includes(n.hostname) && n.roles.includes('worker'))
    .map((n) => ({
      node: n.hostname,
      labels: n.roles.includes('gpu_worker')
        ? ['node-role.kubernetes.io/runai-gpu-worker=true']
        : ['node-role.kubernetes.io/runai-cpu-worker=true', 'node-role.kubernetes.io/runai-system=true'],
    }));
}

async function labelNodes(labels: Array<{ node: string; labels: string[] }>, tools: KubeTools): Promise<string[]> {
  for (const { node, labels: l } of labels) {
    const r = await runKubectl(tools, ['label', 'node', node, ...l, '--overwrite']);
    if (r.code) throw new StageError(`could not label node ${node} (kubectl exit ${r.code}): ${r.stderr.trim().slice(0, 200)}`);
  }
  return labels.map((l) => l.node);
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

/**
 * Nodes the operation should have left registered (or removed) but did not. Dedicated etcd nodes are not in
 * k8s_cluster and never register.
 */
export function registrationProblems(operation: Operation, inv: Inventory, nodes: string[], registered: string[]): string[] {
  const present = new Set(registered);
  if (operation === 'remove-node') return nodes.filter((n) => present.has(n)).map((n) => `${n}: still registered after remove-node.yml`);
  const kubernetesNodes = inv.nodes.filter(isKubernetesNode).map((n) => n.hostname);
  const expected = operation === 'scale' ? nodes.filter((n) => kubernetesNodes.includes(n)) : kubernetesNodes;
  return expected
    .filter((n) => !present.has(n))
    .map((n) => `${n}: not registered with the API server (check the kubelet on the node: journalctl -u kubelet)`);
}

/**
 * Control-plane nodes a deploy adds to a cluster that already ran: afterwards Kubespray's docs (operations/nodes.md,
 * "Restart kube-system/nginx-proxy") ask for an nginx-proxy restart on every host so it reloads its upstreams
 * (NGINX_PROXY_PLAYBOOK does it).
 */
export function addedControlPlane(inv: Inventory): string[] {
  const before = inv.kubernetes?.registeredNodes;
  if (!before?.length) return [];
  return inv.nodes.filter((n) => n.roles.includes('control_plane') && !before.includes(n.hostname)).map((n) => n.hostname);
}

/** Kubespray and the Ansible that runs it, for plan and apply alike. */
async function obtainKubespray(ctx: StageContext, work: WorkDir, phases: TimedPhase[]) {
  const { spec, reporter, inputs } = ctx;
  const version = spec.kubernetes.kubespray_version;
  const caFile = spec.mirrors.ca_file;
  const tool = await timed(phases, 'obtain Kubespray', () =>
    installTool(kubesprayArtifact(version, spec.mirrors.kubespray), join(work.path, 'download'), {
      ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}),
      pins: spec.mirrors.sha256,
    }),
  );
  const root = [join(tool.dir, `kubespray-${version.replace(/^v/, '')}`), tool.dir].find((d) => existsSync(join(d, 'cluster.yml')));
  if (!root) throw new StageError(`the Kubespray archive has no cluster.yml (${tool.dir})`);
  reporter.info(`Kubespray ${version}: ${tool.cached ? 'from the tool cache' : `downloaded, SHA-256 ${tool.verifiedBy}`}`);
  const ansible = await timed(phases, 'Ansible environment', () =>
    reporter.group('Ansible environment', () =>
      kubesprayAnsible(root, version, {
        ansiblePlaybookPath: inputs.get('ansible-playbook-path').trim() || undefined,
        indexUrl: spec.mirrors.pypi,
        caFile,
        workDir: work.path,
        log: (l) => reporter.info(l),
      }),
    ),
  );
  reporter.info(`Ansible: ansible-core ${ansible.version} (${ansible.origin})`);
  return { root, ansible };
}

const outputTail = (r: { stdout: string; stderr: string }) =>
  `${r.stderr}\n${r.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^\[WARNING\]/.test(l))
    .slice(-4)
    .join(' ')
    .slice(0, 400);

/** Plan mode's proof that the real playbooks load: --syntax-check, then --list-hosts for the hosts each run targets. */
async function checkRuns(
  runs: PlaybookRun[],
  playbookPath: (r: PlaybookRun) => string,
  bin: string,
  hostsFile: string,
  root: string,
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
): Promise<Array<{ run: PlaybookRun; hosts: string[] }>> {
  const checked: Array<{ run: PlaybookRun; hosts: string[] }> = [];
  for (const run of runs) {
    const base = ['-i', hostsFile, '--become', playbookPath(run), ...run.args];
    for (const check of ['--syntax-check', '--list-hosts']) {
      const r = await runPlaybook(bin, [...base, check], root, env, reporter, true);
      if (r.code !== 0)
        throw new StageError(
          `Kubespray cannot load ${run.playbook} with this inventory (ansible-playbook ${check} exit ${r.code}): ${outputTail(r)}`,
        );
      if (check === '--list-hosts') checked.push({ run, hosts: listedHosts(r.stdout).sort() });
    }
  }
  return checked;
}

export async function kubesprayStage(inputs: InputSource, reporter: Reporter): Promise<KubesprayResult> {
  const ctx = openStage(inputs, reporter);
  const { spec } = ctx;
  const { inventoryPath, inv } = readStageInventory(ctx);
  sshTargets(inv.nodes);
  const operation = choiceInput(inputs, 'operation', Object.keys(OPERATIONS) as Operation[], 'deploy');
  const nodes = listInput(inputs.get('nodes'));
  const runs = planOperation(operation, inv, spec.name, {
    confirm: inputs.get('confirm').trim(),
    nodes: inputs.get('nodes'),
    nodesDown: booleanInput(inputs, 'nodes-down', false),
    mirrorCa: spec.mirrors.ca_file !== undefined,
    restartNginxProxy: addedControlPlane(inv).length > 0,
  });
  const rendered = renderKubespray(inv, spec);
  const invDir = resolve(ctx.outDir, 'kubespray/inventory');
  mkdirSync(join(invDir, 'group_vars/all'), { recursive: true });
  const hostsFile = join(invDir, 'hosts.yaml');
  writeFileSync(hostsFile, rendered.hostsYaml);
  writeFileSync(join(invDir, 'group_vars/all/bcmkube.yml'), rendered.allVarsYaml);
  const head = heading(`kubespray: ${operation} on cluster ${spec.name}${ctx.plan ? ' (plan)' : ''}`);
  const version = spec.kubernetes.kubespray_version;
  const phases: TimedPhase[] = [];
  const work = openWorkDir('kubespray');
  try {
    // Plan mode may have no known_hosts (a pull request from a fork): its checks connect to no node.
    const knownHostsFile = work.secretFile('known_hosts', ctx.plan ? knownHosts(ctx).text : requiredKnownHosts(ctx));
    const { root, ansible } = await obtainKubespray(ctx, work, phases);
    if (spec.mirrors.ca_file) writeFileSync(join(work.path, MIRROR_CA_PLAYBOOK), mirrorCaPlaybook(resolve(spec.mirrors.ca_file)));
    writeFileSync(join(work.path, NGINX_PROXY_PLAYBOOK), nginxProxyRestartPlaybook());
    const playbookPath = (r: PlaybookRun) => (r.ours ? join(work.path, r.playbook) : r.playbook);
    const env = playbookEnvironment(process.env, { kubesprayRoot: root, knownHostsFile, factCache: join(work.path, 'facts') });
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
      const checked = await timed(phases, 'syntax check and hosts', () =>
        checkRuns(runs, playbookPath, ansible.bin, hostsFile, root, env, reporter),
      );
      reporter.output('changes', String(suggestion.operation !== 'none'));
      reporter.summary(
        [
          head,
          `Cluster: ${view.note}.`,
          suggested,
          diffTable(inv, diff),
          `Would run Kubespray ${version} with ansible-core ${ansible.version} as ${spec.access.service_user.name}; each playbook passed \`ansible-playbook --syntax-check\` with this inventory and Kubespray's ansible.cfg:`,
          table(
            ['step', 'command', 'hosts'],
            checked.map((c, i) => [i + 1, `\`${commandLine(hostsFile, c.run)}\``, `${c.hosts.length}: ${c.hosts.join(', ')}`]),
          ),
          `Rendered inventory: \`${invDir}\`; nothing was changed.`,
        ].join('\n\n'),
      );
      reporter.output('inventory-path', inventoryPath);
      return { operation, runs, inventoryPath };
    }
    const key = serviceKey(ctx);
    const keyFile = work.secretFile('service-key', key);
    const hostsText = readFileSync(knownHostsFile, 'utf8');
    const newControlPlane = runs.some((r) => r.playbook === NGINX_PROXY_PLAYBOOK) ? addedControlPlane(inv) : [];
    // the recap that counts is that of Kubespray's own playbook (the last one), not of ours around it
    let kubesprayRun: Awaited<ReturnType<typeof runPlaybook>> | undefined;
    for (const step of runs) {
      const run = await timed(phases, `ansible-playbook ${step.playbook}`, () =>
        runPlaybook(
          ansible.bin,
          ['-i', hostsFile, '--become', '--private-key', keyFile, playbookPath(step), ...step.args],
          root,
          env,
          reporter,
        ),
      );
      for (const [host, f] of Object.entries(run.report.firstFailures).slice(0, 10))
        reporter.error(`${f.task}: ${f.message}`, `${step.playbook} failed on ${host}`);
      if (run.code !== 0) {
        const failed = run;
        reporter.output('recap', JSON.stringify(failed.report.recap));
        reporter.summary(
          [head, `**${step.playbook} failed (exit ${failed.code}).**`, recapTable(failed.report), timingsTable(phases)].join('\n\n'),
        );
        const bad = failed.report.recap
          .filter((r) => r.failed || r.unreachable)
          .map(
            (r) =>
              `${r.host}: failed=${r.failed} unreachable=${r.unreachable}${failed.report.firstFailures[r.host] ? ` (${failed.report.firstFailures[r.host]!.task})` : ''}`,
          );
        throw new StageError(`${step.playbook} failed on ${bad.length || 'some'} host(s)`, bad);
      }
      if (!step.ours) kubesprayRun = run;
    }
    const last = kubesprayRun!;
    const playbook = runs.filter((r) => !r.ours).at(-1)!.playbook;
    reporter.output('recap', JSON.stringify(last.report.recap));
    let labelled: string[] = [];
    let kubernetes: Inventory['kubernetes'];
    if (operation !== 'reset') {
      const { access, tools } = await timed(phases, 'fetch kubeconfig', () => clusterTools(ctx, inv, key, hostsText, work));
      const view = await timed(phases, 'check node registration', () => registeredNodes(tools, access.apiServer));
      const problems = registrationProblems(operation, inv, nodes, view.registered ?? []);
      if (problems.length) throw new StageError(`${playbook} finished, but the cluster does not match the inventory`, problems);
      if (operation !== 'remove-node' && spec.runai.enabled)
        labelled = await timed(phases, 'Run:ai node roles', () =>
          labelNodes(runaiNodeLabels(inv, operation === 'scale' ? nodes : inv.nodes.map((n) => n.hostname)), tools),
        );
      kubernetes = { version: spec.kubernetes.version, apiServer: access.apiServer, registeredNodes: [...(view.registered ?? [])].sort() };
    }
    const advice = newControlPlane.length
      ? `Control-plane nodes ${newControlPlane.join(', ')} were added: nginx-proxy was restarted on every host (${NGINX_PROXY_PLAYBOOK}), as Kubespray's docs ask (operations/nodes.md), so it reloads its list of API servers.`
      : '';
    const at = new Date().toISOString();
    const updated = mergeInventory(
      inv,
      last.report.recap
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
        `Kubespray ${version} ran ${runs.map((r) => `\`${r.playbook}\`${r.args.length ? ` (${r.args.join(' ')})` : ''}`).join(' then ')} as ${spec.access.service_user.name} with ansible-core ${ansible.version}.${kubernetes ? ` API server: ${kubernetes.apiServer} (kubeconfig kept on the runner only); ${kubernetes.registeredNodes.length} nodes registered.` : ''}${labelled.length ? ` Run:ai node roles on ${labelled.join(', ')}.` : ''}`,
        ...(advice ? [advice] : []),
        recapTable(last.report),
        timingsTable(phases),
      ].join('\n\n'),
    );
    return { operation, runs, report: last.report, inventoryPath: outPath };
  } finally {
    work.remove();
  }
}
