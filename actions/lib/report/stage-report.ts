// Every stage run leaves its summary and a few facts beside its inventory: <out-dir>/plan/<step>.md|.json in plan
// mode, <out-dir>/report/<step>.md|.json otherwise. `bcmkube plan|deploy`, the PR comment and the deploy workflow's
// summary put them together (plan.ts) without the stages knowing about it.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadSpecFile } from '../config/load.ts';
import type { InventoryChange } from '../inventory/diff.ts';
import type { StageDef } from '../stages/catalog.ts';
import { pipelineStepOf, type PipelineStep } from '../stages/pipeline.ts';
import { errorMessage } from '../util/errors.ts';
import { booleanInput, outDirInput, type InputSource } from './inputs.ts';
import { stageChanges, type StageFacts, type StageReport } from './plan.ts';
import type { Reporter } from './reporter.ts';

/** Passes everything on to the reporter it wraps, and keeps the summaries and outputs made through it. */
export class RecordingReporter implements Reporter {
  readonly summaries: string[] = [];
  readonly outputs: Record<string, string> = {};
  private readonly inner: Reporter;
  constructor(inner: Reporter) {
    this.inner = inner;
  }
  get kind(): Reporter['kind'] {
    return this.inner.kind;
  }
  info(message: string): void {
    this.inner.info(message);
  }
  warning(message: string, title?: string): void {
    this.inner.warning(message, title);
  }
  error(message: string, title?: string): void {
    this.inner.error(message, title);
  }
  group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.inner.group(name, fn);
  }
  startGroup(name: string): void {
    this.inner.startGroup(name);
  }
  endGroup(): void {
    this.inner.endGroup();
  }
  secret(value: string): void {
    this.inner.secret(value);
  }
  redact(text: string): string {
    return this.inner.redact(text);
  }
  output(name: string, value: string): void {
    this.outputs[name] = value;
    this.inner.output(name, value);
  }
  summary(markdown: string): void {
    this.summaries.push(this.inner.redact(markdown));
    this.inner.summary(markdown);
  }
}

export function reportDirOf(outDir: string, plan: boolean): string {
  return join(outDir, plan ? 'plan' : 'report');
}

interface Target {
  step: PipelineStep;
  cluster: string;
  spec: string;
  plan: boolean;
  outDir: string;
}

/** Where a stage run's report goes; undefined when the inputs are too wrong for the stage to start (it says why). */
function targetOf(def: StageDef, inputs: InputSource): Target | undefined {
  const step = pipelineStepOf(def.action, inputs.get('phase').trim());
  const spec = inputs.get('spec').trim();
  if (!step || !spec) return undefined;
  try {
    const { spec: loaded } = loadSpecFile(spec);
    // The stage's own default (openStage): .bcmkube/<cluster>/.
    const outDir = outDirInput(inputs, loaded.name);
    return { step, cluster: loaded.name, spec, plan: booleanInput(inputs, 'plan', false), outDir };
  } catch {
    return undefined;
  }
}

/** What discover-nodes found changed against the inventory it replaced (it returns that list). */
function changedNodes(result: unknown): InventoryChange[] | undefined {
  const changes = (result as { inventoryChanges?: unknown } | undefined)?.inventoryChanges;
  return Array.isArray(changes) ? (changes as InventoryChange[]) : undefined;
}

/** Runs a stage and writes its report, whether it succeeds or fails. */
export async function withStageReport<T>(
  def: StageDef,
  inputs: InputSource,
  reporter: Reporter,
  run: (inputs: InputSource, reporter: Reporter) => Promise<T>,
): Promise<T> {
  const target = targetOf(def, inputs);
  if (!target) return run(inputs, reporter);
  const rec = new RecordingReporter(reporter);
  const started = Date.now();
  let result: T | undefined;
  let failure: unknown;
  let failed = false;
  try {
    result = await run(inputs, rec);
    return result;
  } catch (err) {
    failed = true;
    failure = err;
    throw err;
  } finally {
    try {
      const inventoryChanges = failed ? undefined : changedNodes(result);
      const facts: StageFacts = {
        key: target.step.key,
        action: def.action,
        ...(target.step.phase ? { phase: target.step.phase } : {}),
        cluster: target.cluster,
        spec: target.spec,
        plan: target.plan,
        ok: !failed,
        ...(failed ? { error: reporter.redact(errorMessage(failure)) } : {}),
        ...(failed ? { changes: null, counts: {} } : stageChanges(def.action, target.plan, rec.outputs, result, inventoryChanges)),
        ...(inventoryChanges ? { inventoryChanges } : {}),
        seconds: Math.round((Date.now() - started) / 100) / 10,
        at: new Date().toISOString(),
      };
      writeStageReport(reportDirOf(target.outDir, target.plan), { facts, markdown: rec.summaries.join('\n\n') });
    } catch (err) {
      reporter.warning(`could not write the stage report under ${target.outDir}: ${errorMessage(err)}`, 'bcmkube');
    }
  }
}

export function writeStageReport(dir: string, report: StageReport): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${report.facts.key}.md`), `${report.markdown}\n`);
  writeFileSync(join(dir, `${report.facts.key}.json`), `${JSON.stringify(report.facts, null, 2)}\n`);
}

function isFacts(v: unknown): v is StageFacts {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Record<string, unknown>;
  return (
    typeof f.key === 'string' &&
    typeof f.action === 'string' &&
    typeof f.spec === 'string' &&
    typeof f.ok === 'boolean' &&
    typeof f.at === 'string' &&
    typeof f.counts === 'object'
  );
}

/**
 * Every stage report under `root` (downloaded artifacts: one folder each), with the folder it came from.
 * Files that are not stage reports are passed over.
 */
export function readStageReports(root: string, depth = 4): Array<StageReport & { source: string }> {
  const found: Array<StageReport & { source: string }> = [];
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return found;
  }
  for (const name of entries.sort()) {
    const path = join(root, name);
    const st = statSync(path);
    if (st.isDirectory()) {
      if (depth > 0) found.push(...readStageReports(path, depth - 1));
      continue;
    }
    if (!name.endsWith('.json')) continue;
    let facts: unknown;
    try {
      facts = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      continue;
    }
    if (!isFacts(facts)) continue;
    let markdown = '';
    try {
      markdown = readFileSync(join(dirname(path), `${basename(name, '.json')}.md`), 'utf8').trimEnd();
    } catch {
      // a report without a summary: the facts still count
    }
    found.push({ facts, markdown, source: dirname(path) });
  }
  return found;
}
