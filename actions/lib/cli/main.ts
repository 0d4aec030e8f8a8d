#!/usr/bin/env node
// bcmkube: the same stages as the actions, from a terminal. Exit codes: 0 ok, 1 failed, 2 bad usage.
import '../util/cjs-shim.ts';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { describeProblems, loadSpecFile, SpecError } from '../config/load.ts';
import { readInventory } from '../inventory/document.ts';
import { HEALTH_DEF, healthCheck, healthIssueCommand } from '../health/command.ts';
import { flagInputs, outDirInput, requiredInput, type InputSource } from '../report/inputs.ts';
import { planHasNoChanges, renderPlanDocument, renderRunSummary, stageVerdict, SUMMARY_LIMIT } from '../report/plan.ts';
import { TerminalReporter, type Reporter } from '../report/reporter.ts';
import { readStageReports, RecordingReporter, reportDirOf } from '../report/stage-report.ts';
import { STAGES, stageByCommand, type StageDef } from '../stages/catalog.ts';
import { runKeygen } from '../stages/keygen.ts';
import { PIPELINE } from '../stages/pipeline.ts';
import { builtStageRunner } from '../stages/all-stages.ts';
import type { StageRunner } from '../stages/registry.ts';
import { errorMessage, UsageError } from '../util/errors.ts';

const COMMANDS: Record<string, string> = {
  discover: 'read the nodes from BCM and write inventory.json (discover-nodes)',
  prepare: 'probe the nodes and converge the service user (prepare-nodes)',
  kubespray: 'deploy / scale / upgrade / remove / reset Kubernetes with Kubespray',
  platform: 'install the Helm platform releases (helm-platform)',
  runai: 'install Run:ai: --phase backend | cluster',
  deploy: 'run every stage in order, passing the inventory between them as files',
  plan: 'run every stage in plan mode: report what would change, change nothing',
  validate: 'check a cluster spec and list every problem',
  etcd: 'etcd backup | restore --snapshot ID --confirm <cluster> (--plan lists the steps per node)',
  health: 'check a deployed cluster, read-only: one line per check, JSON beside it (exit 0 healthy, 1 unhealthy, 3 warnings, 4 unreadable)',
  'health-issue': "open, update or close the cluster's GitHub health issue from health's JSON (--report FILE)",
  keygen: "create the service user's SSH keypair (ed25519, or --type rsa)",
  lab: 'the local lab: up | down | status | fault <node> <drop|reject|hang|reboot|poweroff|restore> (from a checkout)',
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: bcmkube <command> [--spec clusters/<name>.yaml] [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(width)}  ${d}`),
    '',
    'Every stage command takes --spec, --plan (change nothing) and --out DIR (or --out-dir; default .bcmkube/<cluster>/),',
    'and the inputs of its action as flags (--bcm-password-file F ⇔ input bcm-password-file). `bcmkube <command> --help` lists them.',
    'Exit codes: 0 ok, 1 failed, 2 bad usage.',
  ].join('\n');
}

function stageHelp(def: StageDef): string {
  const lines = [
    `usage: bcmkube ${def.command}${def.command === 'etcd' ? ' backup|restore' : ''} --spec clusters/<name>.yaml [options]`,
    '',
    def.description,
    '',
    'options (the inputs of action ' + def.action + '):',
  ];
  for (const i of def.inputs) {
    const flag = i.name === 'plan' ? '--plan' : `--${i.name} ${i.secret ? 'VALUE (or --' + i.name + '-file FILE)' : 'VALUE'}`;
    lines.push(
      `  ${flag}`,
      `      ${i.description}${i.default !== undefined ? ` Default: ${i.default}.` : ''}${i.required ? ' Required.' : ''}`,
    );
  }
  if (def.pending) lines.push('', `status: not built yet (${def.pending}).`);
  return lines.join('\n');
}

/** Parses `--name value` / `--name=value` / `--plan` into action-input names, refusing unknown flags. */
export function parseStageFlags(def: StageDef, argv: string[]): Record<string, string> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' }, out: { type: 'string' } };
  for (const i of def.inputs) {
    options[i.name] = { type: i.name === 'plan' ? 'boolean' : 'string' };
    if (i.secret) options[`${i.name}-file`] = { type: 'string' };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  } catch (err) {
    throw new UsageError(`${errorMessage(err)}\nrun 'bcmkube ${def.command} --help' for the options`);
  }
  const flags: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed.values)) flags[k === 'out' ? 'out-dir' : k] = typeof v === 'boolean' ? String(v) : (v ?? '');
  return flags;
}

function validateCommand(argv: string[], reporter: Reporter): number {
  const { values } = parseArgs({ args: argv, options: { spec: { type: 'string' }, help: { type: 'boolean' } }, strict: true });
  if (values.help) {
    reporter.info(
      'usage: bcmkube validate --spec clusters/<name>.yaml\n\nChecks the spec against the schema and the semantic rules; lists every problem with its path.',
    );
    return 0;
  }
  if (!values.spec) throw new UsageError('--spec is required: the path of the cluster spec, e.g. clusters/prod.yaml');
  const loaded = loadSpecFile(values.spec);
  if (loaded.problems.length) reporter.info(describeProblems(loaded.problems));
  reporter.info(
    `${values.spec}: valid spec for cluster '${loaded.spec.name}' (${loaded.problems.length} warning(s)); spec hash ${loaded.hash.slice(0, 12)}`,
  );
  return 0;
}

/**
 * The lab lives in test/lab/ of a checkout and is no part of the product: the CLI runs that checkout's own
 * entry point as a process (under the checkout's Node 24) and passes its lines and exit code on.
 */
async function labCommand(argv: string[], reporter: Reporter): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const checkout = [resolve(here, '../../..'), resolve(here, '../..'), process.cwd()].find((d) => existsSync(join(d, 'test/lab/cli.ts')));
  if (!checkout) throw new UsageError('the lab runs from a bcmkube checkout: `npm run lab -- up` (it needs test/lab/)');
  const child = spawn('bash', [join(checkout, 'scripts/node24.sh'), join(checkout, 'test/lab/cli.ts'), ...argv], {
    cwd: process.cwd(),
    stdio: ['inherit', 'pipe', 'inherit'],
  });
  createInterface({ input: child.stdout! }).on('line', (line) => reporter.info(line));
  return new Promise((resolveCode, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolveCode(code ?? 1));
  });
}

export interface ChainDeps {
  stages?: StageDef[];
  runner?: (def: StageDef) => StageRunner;
}

function chainHelp(command: 'deploy' | 'plan'): string {
  return [
    `usage: bcmkube ${command} --spec clusters/<name>.yaml [--out DIR] [options]`,
    '',
    COMMANDS[command]!,
    `Steps, in order: ${PIPELINE.map((s) => s.key).join(' → ')} (Run:ai phase backend, then phase cluster).`,
    'Each step writes inventory.json in the out folder; a copy goes to <out>/artifacts/inventory-<step>.json and the next',
    'step reads that copy, as the workflow hands on its artifacts. The document of the run: <out>/plan.md or <out>/deploy.md.',
    '',
    "options: every stage's options (`bcmkube <stage> --help`); --phase and --inventory are set by the chain.",
  ].join('\n');
}

/**
 * deploy / plan: every pipeline step in order, stopping at the first failure (or a stage not built yet), the
 * inventory handed on between steps as files exactly as deploy.yml hands on artifacts; then the run's document.
 */
export async function chainCommand(command: 'deploy' | 'plan', argv: string[], reporter: Reporter, deps: ChainDeps = {}): Promise<number> {
  const stages = deps.stages ?? STAGES;
  const runner = deps.runner ?? builtStageRunner;
  const flags = parseChainFlags(argv, stages);
  if (flags.help === 'true') {
    reporter.info(chainHelp(command));
    return 0;
  }
  for (const set of ['phase', 'inventory'])
    if (flags[set] !== undefined)
      throw new UsageError(
        `--${set} is not a ${command} option: ${command} starts with discover-nodes and runs Run:ai phase backend, then phase cluster; run a single stage for that (e.g. bcmkube runai --phase cluster)`,
      );
  const specPath = requiredInput(flagInputs(flags), 'spec', 'the path of the cluster spec, e.g. clusters/prod.yaml');
  const { spec } = loadSpecFile(specPath);
  const plan = command === 'plan' || flags.plan === 'true';
  const outDir = outDirInput(flagInputs(flags), spec.name);
  const reportDir = reportDirOf(outDir, plan);
  const artifacts = join(outDir, 'artifacts');
  rmSync(reportDir, { recursive: true, force: true });
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  let inventory = '';
  const ran: string[] = [];
  let stop: { key: string; why: string; err?: unknown; code: number } | undefined;
  for (const [i, step] of PIPELINE.entries()) {
    const def = stages.find((s) => s.action === step.action);
    if (!def) throw new Error(`no stage '${step.action}' in the catalog`);
    if (def.pending) {
      stop = { key: step.key, why: `${def.action} is not built yet (${def.pending})`, code: 2 };
      break;
    }
    const stepFlags: Record<string, string> = { ...flags, 'out-dir': outDir, plan: String(plan) };
    if (step.phase) stepFlags.phase = step.phase;
    if (i > 0 && inventory) stepFlags.inventory = inventory;
    const rec = new RecordingReporter(reporter);
    try {
      await reporter.group(`${command}: ${step.key}`, () => runner(def)(flagInputs(stepFlags), rec));
    } catch (err) {
      stop = { key: step.key, why: `${step.key} failed`, err, code: err instanceof UsageError || err instanceof SpecError ? 2 : 1 };
      break;
    }
    ran.push(step.key);
    const produced = rec.outputs['inventory-path'] || inventory;
    if (produced) {
      const artifact = join(artifacts, `inventory-${step.key}.json`);
      copyFileSync(produced, artifact);
      inventory = artifact;
    }
  }
  const reports = readStageReports(reportDir, 0);
  const docPath = join(outDir, plan ? 'plan.md' : 'deploy.md');
  writeFileSync(
    docPath,
    `${
      plan
        ? renderPlanDocument([{ spec: specPath, reports }], { limit: SUMMARY_LIMIT })
        : renderRunSummary({ spec: specPath, results: {}, reports, ...(inventory ? { inventory: readInventory(inventory) } : {}) })
    }\n`,
  );
  const notRun = PIPELINE.map((s) => s.key).filter((k) => !ran.includes(k));
  const changed = PIPELINE.flatMap((s) => reports.filter((r) => r.facts.key === s.key && r.facts.ok && r.facts.changes !== false)).map(
    (r) => `${r.facts.key} (${stageVerdict(r, plan)})`,
  );
  reporter.info(
    [
      `${command}: ran ${ran.join(', ') || 'nothing'}${notRun.length ? `; not run: ${notRun.join(', ')}${stop ? ` — ${stop.why}` : ''}` : ''}.`,
      ...(plan && !stop
        ? [planHasNoChanges(reports) ? 'plan: no changes in any stage.' : `plan: ${changed.join(', ') || 'see the document'}.`]
        : []),
      `the ${plan ? 'plan' : 'run'} document: ${docPath}`,
      `inventory artifacts: ${artifacts}${inventory ? ` (last: ${inventory})` : ''}`,
    ].join('\n'),
  );
  if (stop?.err) throw stop.err;
  return stop ? stop.code : 0;
}

/** deploy/plan accept the union of the stages' flags; each stage reads the ones it knows. */
function parseChainFlags(argv: string[], stages: StageDef[]): Record<string, string> {
  const union: StageDef = { action: 'deploy', command: 'deploy', title: '', description: '', outputs: [], inputs: [] };
  const byName = new Map(stages.flatMap((s) => s.inputs).map((i) => [i.name, i]));
  union.inputs.push(...byName.values());
  return parseStageFlags(union, argv);
}

/** `bcmkube etcd backup …` ⇔ input operation=backup. */
function etcdOperationFlag(argv: string[]): string[] {
  const [word, ...rest] = argv;
  return word && !word.startsWith('-') ? ['--operation', word, ...rest] : argv;
}

export async function main(argv: string[], reporter: Reporter = new TerminalReporter()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (!command || command === '--help' || command === '-h' || command === 'help') {
      reporter.info(usage());
      return command ? 0 : 2;
    }
    if (command === 'validate') return validateCommand(rest, reporter);
    if (command === 'keygen') return await runKeygen(rest, reporter);
    if (command === 'lab') return await labCommand(rest, reporter);
    if (command === 'deploy' || command === 'plan') return await chainCommand(command, rest, reporter);
    if (command === 'health-issue') return await healthIssueCommand(rest, reporter);
    if (command === 'health') {
      const flags = parseStageFlags(HEALTH_DEF, rest);
      if (flags.help === 'true') {
        reporter.info(stageHelp(HEALTH_DEF));
        return 0;
      }
      return (await healthCheck(flagInputs(flags) as InputSource, reporter)).exitCode;
    }
    const def = stageByCommand(command);
    if (!def) throw new UsageError(`unknown command '${command}'\n${usage()}`);
    const flags = parseStageFlags(def, def.command === 'etcd' ? etcdOperationFlag(rest) : rest);
    if (flags.help === 'true') {
      reporter.info(stageHelp(def));
      return 0;
    }
    await builtStageRunner(def)(flagInputs(flags) as InputSource, reporter);
    return 0;
  } catch (err) {
    const message = reporter.redact(err instanceof SpecError ? err.message : errorMessage(err));
    reporter.error(message);
    return err instanceof UsageError || err instanceof SpecError ? 2 : 1;
  }
}

/** Outside Actions, the toolkit's `::debug::` workflow commands (tool-cache lookups) are noise on a terminal. */
function dropWorkflowDebugLines(): void {
  if (process.env.GITHUB_ACTIONS === 'true' || process.env.RUNNER_DEBUG === '1') return;
  const write = process.stdout.write.bind(process.stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) =>
    typeof chunk === 'string' && chunk.startsWith('::debug::') ? true : write(chunk, ...rest)) as typeof process.stdout.write;
}

const entryScript = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (entryScript === fileURLToPath(import.meta.url)) {
  dropWorkflowDebugLines();
  process.exitCode = await main(process.argv.slice(2));
}
