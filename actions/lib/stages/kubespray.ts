// Stage 3, kubespray: render the Kubespray inventory, obtain Kubespray (pinned, checksummed, cached), run the
// operation's playbook as the service user with host keys checked, then fetch the kubeconfig and label GPU nodes.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { mergeInventory, readInventory, writeInventory } from '../inventory/document.ts';
import type { Inventory } from '../inventory/types.ts';
import { PlaybookOutputReader, type PlaybookReport } from '../kubespray/recap.ts';
import { renderKubespray } from '../kubespray/render.ts';
import { choiceInput, secretInput, type InputSource } from '../report/inputs.ts';
import { heading, table, timingsTable, type TimedPhase } from '../report/markdown.ts';
import type { Reporter } from '../report/reporter.ts';
import { installTool, kubesprayArtifact } from '../tools/install.ts';
import { StageError, UsageError } from '../util/errors.ts';
import { inventoryPathOf, openStage, type StageContext } from './context.ts';
import { knownHosts, pool, readMaybeFile, sshTargets } from './prepare.ts';
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
  const nodes = nodesInput
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
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

/** The runner's tool cache and temp folder (set by Actions; the CLI uses .bcmkube/). */
function runnerDirs(): { toolCache: string; temp: string } {
  process.env.RUNNER_TOOL_CACHE ||= resolve('.bcmkube/tool-cache');
  process.env.RUNNER_TEMP ||= resolve('.bcmkube/tmp');
  return { toolCache: process.env.RUNNER_TOOL_CACHE, temp: process.env.RUNNER_TEMP };
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
    `ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHostsFile}`,
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
  const child = spawn(bin, args, {
    cwd,
    env: { ...env, ANSIBLE_CONFIG: cfg, ANSIBLE_FORCE_COLOR: '0', PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = (stream: NodeJS.ReadableStream) =>
    new Promise<void>((done) => {
      const rl = createInterface({ input: stream });
      rl.on('line', (l) => {
        reader.line(l);
        reporter.info(l);
      });
      rl.on('close', () => done());
    });
  const closed = new Promise<number>((done, reject) => {
    child.on('error', (e) => reject(new UsageError(`cannot run ${bin}: ${e.message} (install ansible, or pass ansible-playbook-path)`)));
    child.on('close', (c) => done(c ?? 1));
  });
  const [code] = await Promise.all([closed, lines(child.stdout), lines(child.stderr)]);
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

/** Fetches admin.conf from the first control-plane node and points it at that node's address. */
async function fetchKubeconfig(ctx: StageContext, inv: Inventory, serviceKey: string, hostsText: string, dest: string): Promise<string> {
  const first = inv.nodes.find((n) => n.roles.includes('control_plane'));
  if (!first) throw new StageError('no control-plane node in the inventory to fetch the kubeconfig from');
  const ssh = pool(
    ctx.spec,
    { username: ctx.spec.access.service_user.name, privateKey: serviceKey },
    hostsText,
    ctx.spec.access.host_key_policy === 'off' ? 'off' : 'strict',
    1,
  );
  try {
    const [target] = sshTargets([first]);
    const r = await ssh.exec(target!, 'sudo -n cat /etc/kubernetes/admin.conf');
    if (r.code !== 0 || !r.stdout.includes('kind: Config'))
      throw new StageError(
        `${first.hostname}: could not read /etc/kubernetes/admin.conf (exit ${r.code}): ${r.stderr.trim().slice(0, 200)}`,
      );
    for (const line of r.stdout.split('\n')) if (/-data:\s*\S/.test(line)) ctx.reporter.secret(line.split(':').slice(1).join(':').trim());
    const kubeconfig = r.stdout.replace(/server: https:\/\/(127\.0\.0\.1|localhost|\[::1\]):/g, `server: https://${first.address}:`);
    writeFileSync(dest, kubeconfig, { mode: 0o600 });
    return first.address;
  } finally {
    await ssh.close();
  }
}

async function labelGpuNodes(inv: Inventory, kubeconfig: string, reporter: Reporter): Promise<string[]> {
  const gpu = inv.nodes.filter((n) => n.roles.includes('gpu_worker')).map((n) => n.hostname);
  for (const node of gpu) {
    const code = await new Promise<number>((done) => {
      const c = spawn('kubectl', ['--kubeconfig', kubeconfig, 'label', 'node', node, ...GPU_LABELS, '--overwrite'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      c.stderr.on('data', (d) => (err += d));
      c.on('error', () => done(127));
      c.on('close', (x) => {
        if (x) reporter.warning(`labelling ${node} failed: ${err.trim().slice(0, 200)}`, 'GPU labels');
        done(x ?? 1);
      });
    });
    if (code) throw new StageError(`could not label GPU node ${node} (kubectl exit ${code})`);
  }
  return gpu;
}

export async function kubesprayStage(inputs: InputSource, reporter: Reporter): Promise<KubesprayResult> {
  const ctx = openStage(inputs, reporter);
  const { spec } = ctx;
  const inventoryPath = inventoryPathOf(ctx);
  const inv = readInventory(inventoryPath);
  if (inv.cluster !== spec.name) throw new UsageError(`${inventoryPath} is for cluster '${inv.cluster}', not '${spec.name}'`);
  sshTargets(inv.nodes);
  const operation = choiceInput(inputs, 'operation', Object.keys(OPERATIONS) as Operation[], 'deploy');
  const { playbook, args } = planOperation(operation, inv, spec.name, inputs.get('confirm').trim(), inputs.get('nodes'));
  const rendered = renderKubespray(inv, spec);
  const invDir = resolve(ctx.outDir, 'kubespray/inventory');
  mkdirSync(join(invDir, 'group_vars/all'), { recursive: true });
  writeFileSync(join(invDir, 'hosts.yaml'), rendered.hostsYaml);
  writeFileSync(join(invDir, 'group_vars/all/bcmkube.yml'), rendered.allVarsYaml);
  const command = ['ansible-playbook', '-i', join(invDir, 'hosts.yaml'), playbook, ...args];
  const head = heading(`kubespray: ${operation} on cluster ${spec.name}${ctx.plan ? ' (plan)' : ''}`);
  if (ctx.plan) {
    reporter.summary(
      [
        head,
        `Would run Kubespray ${spec.kubernetes.kubespray_version}: \`${command.join(' ')}\` as ${spec.access.service_user.name}.`,
        `Rendered inventory: \`${invDir}\`; nothing was run.`,
      ].join('\n\n'),
    );
    reporter.output('inventory-path', inventoryPath);
    return { operation, playbook, args, inventoryPath };
  }
  const phases: TimedPhase[] = [];
  const { temp } = runnerDirs();
  const work = join(temp, `bcmkube-kubespray-${randomBytes(6).toString('hex')}`);
  mkdirSync(work, { recursive: true, mode: 0o700 });
  try {
    const serviceKeyText = secretInput(inputs, 'service-ssh-key', reporter, spec.access.service_user.private_key_file);
    if (!serviceKeyText)
      throw new UsageError(
        `pass the service user's private key as ${inputs.label('service-ssh-key')} (or access.service_user.private_key_file)`,
      );
    const serviceKey = readMaybeFile(serviceKeyText);
    const keyFile = join(work, 'service-key');
    writeFileSync(keyFile, serviceKey.endsWith('\n') ? serviceKey : `${serviceKey}\n`, { mode: 0o600 });
    const hosts = knownHosts(ctx);
    if (!hosts.text.trim() && spec.access.host_key_policy !== 'off')
      throw new UsageError(
        `host keys are checked: pass ${inputs.label('known-hosts')} or access.known_hosts_file (prepare-nodes records them)`,
      );
    const knownHostsFile = join(work, 'known_hosts');
    writeFileSync(knownHostsFile, hosts.text, { mode: 0o600 });
    const cfg = join(work, 'ansible.cfg');
    writeFileSync(cfg, ansibleCfg(knownHostsFile));
    const caFile = spec.mirrors.ca_file;
    const tool = await timed(phases, 'obtain Kubespray', () =>
      installTool(kubesprayArtifact(spec.kubernetes.kubespray_version, spec.mirrors.kubespray), join(work, 'download'), {
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
    const bin = inputs.get('ansible-playbook-path').trim() || 'ansible-playbook';
    const run = await timed(phases, `ansible-playbook ${playbook}`, () =>
      reporter.group(`ansible-playbook ${playbook}`, () =>
        runPlaybook(bin, ['-i', join(invDir, 'hosts.yaml'), playbook, '--private-key', keyFile, ...args], root, cfg, reporter),
      ),
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
    let apiServer = '';
    if (operation === 'deploy' || operation === 'scale' || operation === 'upgrade') {
      const kubeconfig = join(work, 'kubeconfig');
      apiServer = await timed(phases, 'fetch kubeconfig', () => fetchKubeconfig(ctx, inv, serviceKey, hosts.text, kubeconfig));
      labelled = await timed(phases, 'label GPU nodes', () => labelGpuNodes(inv, kubeconfig, reporter));
    }
    const at = new Date().toISOString();
    const updated = mergeInventory(
      inv,
      run.report.recap
        .filter((r) => inv.nodes.some((n) => n.hostname === r.host))
        .map((r) => ({ hostname: r.host, history: [{ stage: 'kubespray', at, result: `${operation}: ok=${r.ok} changed=${r.changed}` }] })),
      { stage: 'kubespray', at, result: operation },
    );
    const outPath = join(ctx.outDir, 'inventory.json');
    writeInventory(outPath, updated);
    reporter.output('inventory-path', outPath);
    reporter.summary(
      [
        head,
        `Kubespray ${spec.kubernetes.kubespray_version} ran \`${playbook}\`${args.length ? ` (${args.join(' ')})` : ''} as ${spec.access.service_user.name}.${apiServer ? ` API server: https://${apiServer}:6443 (kubeconfig kept on the runner only).` : ''}${labelled.length ? ` GPU labels on ${labelled.join(', ')}.` : ''}`,
        recapTable(run.report),
        timingsTable(phases),
      ].join('\n\n'),
    );
    return { operation, playbook, args, report: run.report, inventoryPath: outPath };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
