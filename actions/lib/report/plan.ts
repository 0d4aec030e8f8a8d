// The plan document and the run summary: every stage's own summary plus a few facts (ok, changes, counts),
// put together into one PR comment (with a hidden marker, within GitHub's size limit) or one job summary.
// Pure: the files are read and written by stage-report.ts, the comment is posted by pr-comment.ts.
import type { Inventory, InventoryNode } from '../inventory/types.ts';
import type { InventoryChange } from '../inventory/diff.ts';
import { PIPELINE } from '../stages/pipeline.ts';
import { heading, mermaidFlow, table, type FlowOutcome } from './markdown.ts';

/** The first line of the one PR comment bcmkube keeps up to date. */
export const PLAN_MARKER = '<!-- bcmkube:plan -->';
/** GitHub refuses comment bodies over 65,536 characters. */
export const COMMENT_LIMIT = 65_536;
/** GitHub drops a step summary over 1 MiB; stay well below. */
export const SUMMARY_LIMIT = 512 * 1024;
const NODE_ROWS = 300;
const DIFF_ROWS = 200;

/** What a stage run left beside its summary: small, and never a secret. */
export interface StageFacts {
  /** Pipeline step: discover-nodes … runai-backend, runai-cluster. */
  key: string;
  action: string;
  phase?: string;
  cluster: string;
  spec: string;
  plan: boolean;
  ok: boolean;
  error?: string;
  /** true: changed (would change, in a plan); false: nothing to change; null: the stage does not say. */
  changes: boolean | null;
  counts: Record<string, number>;
  inventoryChanges?: InventoryChange[];
  seconds: number;
  /** When the stage ended (ISO 8601): the newest report wins when a job ran more than once. */
  at: string;
}

export interface StageReport {
  facts: StageFacts;
  /** The stage's job summary, as it wrote it (secrets already redacted). */
  markdown: string;
}

export interface ClusterPlan {
  spec: string;
  reports: StageReport[];
  /** Why there are no (or too few) reports, e.g. the plan job was skipped or failed before its first stage. */
  note?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/**
 * Whether a stage changed (or, planning, would change) anything, and what it counted, from the outputs it set and
 * the value it returned. A stage may say so itself with output `changes` (true | false), which wins.
 */
export function stageChanges(
  action: string,
  plan: boolean,
  outputs: Record<string, string>,
  result: unknown,
  inventoryChanges?: InventoryChange[],
): { changes: boolean | null; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  let changes: boolean | null = null;
  if (action === 'discover-nodes') {
    const n = Number(outputs['node-count']);
    if (outputs['node-count'] && Number.isInteger(n)) counts.nodes = n;
    if (inventoryChanges) {
      for (const c of inventoryChanges) bump(counts, `${c.change} nodes`);
      changes = inventoryChanges.length > 0;
    }
  } else if (action === 'prepare-nodes') {
    const decisions = isRecord(result) && Array.isArray(result.decisions) ? result.decisions.filter(isRecord) : undefined;
    if (decisions) counts.nodes = decisions.length;
    if (plan && decisions) {
      const would = decisions.filter((d) => Array.isArray(d.steps) && d.steps.length > 0).length;
      counts['would change'] = would;
      changes = would > 0;
    } else if (!plan) {
      const changed = parseJson(outputs['changed-nodes']);
      if (Array.isArray(changed)) {
        counts.changed = changed.length;
        changes = changed.length > 0;
      }
    }
  } else if (action === 'kubespray' && !plan) {
    const recap = parseJson(outputs.recap);
    if (Array.isArray(recap)) {
      counts.hosts = recap.length;
      const changed = recap.filter(isRecord).reduce((s, h) => s + (typeof h.changed === 'number' ? h.changed : 0), 0);
      counts['changed tasks'] = changed;
      changes = changed > 0;
    }
  } else if (action === 'helm-platform') {
    const releases = parseJson(outputs.releases);
    if (Array.isArray(releases)) {
      const outcomes = releases.filter(isRecord).map((r) => String(r.outcome ?? ''));
      for (const o of outcomes) bump(counts, o);
      changes = outcomes.some((o) => !['unchanged', 'off', 'skipped'].includes(o));
    }
  }
  if (outputs.changes === 'true' || outputs.changes === 'false') changes = outputs.changes === 'true';
  return { changes, counts };
}

/** One word or two for a stage's line: not run, failed, no changes, would change, changed, planned, done. */
export function stageVerdict(r: StageReport | undefined, plan: boolean): string {
  if (!r) return 'not run';
  if (!r.facts.ok) return 'failed';
  if (r.facts.changes === false) return 'no changes';
  if (r.facts.changes === true) return plan ? 'would change' : 'changed';
  return plan ? 'planned' : 'done';
}

/** True when every step of the pipeline ran, succeeded, and says it has nothing to change. */
export function planHasNoChanges(reports: StageReport[]): boolean {
  return PIPELINE.every((s) => {
    const r = reports.find((x) => x.facts.key === s.key);
    return r !== undefined && r.facts.ok && r.facts.changes === false;
  });
}

/** Steps of one run finish in pipeline order; this much clock difference between runners is tolerated. */
const CLOCK_SKEW_MS = 60_000;

/**
 * The reports of one spec in pipeline order, the newest per step. A report older than the one of an earlier step
 * is left out: it is from an earlier attempt that the newer one did not get as far as (a re-run that stopped sooner).
 */
function ordered(reports: StageReport[]): StageReport[] {
  const newest = new Map<string, StageReport>();
  for (const r of reports) {
    const seen = newest.get(r.facts.key);
    if (!seen || seen.facts.at < r.facts.at) newest.set(r.facts.key, r);
  }
  const rank = (k: string) => {
    const i = PIPELINE.findIndex((s) => s.key === k);
    return i < 0 ? PIPELINE.length : i;
  };
  const sorted = [...newest.values()].sort((a, b) => rank(a.facts.key) - rank(b.facts.key) || a.facts.key.localeCompare(b.facts.key));
  let latest = -Infinity;
  return sorted.filter((r) => {
    const t = Date.parse(r.facts.at);
    if (Number.isFinite(t) && t < latest - CLOCK_SKEW_MS) return false;
    if (Number.isFinite(t)) latest = Math.max(latest, t);
    return true;
  });
}

function countsText(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
}

function firstLine(text: string, max = 240): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function clusterVerdict(reports: StageReport[], keys: string[]): string {
  const byKey = new Map(reports.map((r) => [r.facts.key, r]));
  if (reports.some((r) => !r.facts.ok)) return 'failed';
  if (keys.some((k) => !byKey.has(k))) return 'incomplete';
  if (reports.some((r) => r.facts.changes === true)) return 'changes';
  if (reports.every((r) => r.facts.changes === false)) return 'no changes';
  return 'planned';
}

function diffTable(changes: InventoryChange[]): string {
  const rows = changes.slice(0, DIFF_ROWS).map((c) => [c.hostname, c.change, c.detail]);
  const more = changes.length > rows.length ? `\n\n… and ${changes.length - rows.length} more.` : '';
  return `${table(['node', 'change', 'detail'], rows)}${more}`;
}

function inventorySection(r: StageReport): string {
  const changes = r.facts.inventoryChanges;
  if (r.facts.key !== 'discover-nodes') return '';
  if (!changes)
    return '**Inventory diff**: no earlier inventory to compare with (the kubespray section compares with the nodes the cluster has).';
  return changes.length ? `**Inventory diff** against the earlier inventory:\n\n${diffTable(changes)}` : '**Inventory diff**: none.';
}

function stageBlock(r: StageReport, plan: boolean, prefix: string): string {
  const facts = r.facts;
  const body = [facts.ok ? '' : `**Failed:** ${firstLine(facts.error ?? 'see the job log', 2000)}`, inventorySection(r), r.markdown.trim()]
    .filter(Boolean)
    .join('\n\n');
  return `<details><summary><b>${prefix}${facts.key}</b>: ${stageVerdict(r, plan)}</summary>\n\n${body || '_(no summary)_'}\n\n</details>`;
}

function overview(plan: ClusterPlan, isPlan: boolean, prefix: string): { head: string; blocks: string[]; verdict: string } {
  const reports = ordered(plan.reports);
  const keys = [...PIPELINE.map((s) => s.key), ...reports.map((r) => r.facts.key).filter((k) => !PIPELINE.some((s) => s.key === k))];
  const failedAt = keys.findIndex((k) => reports.some((r) => r.facts.key === k && !r.facts.ok));
  const rows = keys.map((k, i) => {
    const r = reports.find((x) => x.facts.key === k);
    const verdict = stageVerdict(r, isPlan);
    const why = !r && failedAt >= 0 && i > failedAt ? ' (an earlier stage failed)' : '';
    const detail = r ? (r.facts.ok ? countsText(r.facts.counts) : firstLine(r.facts.error ?? '')) : '';
    return [k, `${verdict}${why}`, detail];
  });
  const cluster = reports[0]?.facts.cluster;
  const verdict = reports.length ? clusterVerdict(reports, keys) : 'not run';
  const head = [
    heading(`${cluster ? `cluster \`${cluster}\` ` : ''}(\`${plan.spec}\`): ${verdict}`, 3),
    ...(plan.note ? [`> ${plan.note}`] : []),
    table(['stage', isPlan ? 'plan' : 'result', 'details'], rows),
  ].join('\n\n');
  return { head, blocks: reports.map((r) => stageBlock(r, isPlan, prefix)), verdict };
}

/** Cuts Markdown to at most `room` characters at a line end, closing an open code fence and <details>. */
export function cutMarkdown(text: string, room: number): string {
  if (text.length <= room) return text;
  const mark = '\n\n_… cut here_';
  const closersRoom = 64;
  if (room < mark.length + closersRoom + 40) return '';
  let kept = text.slice(0, room - mark.length - closersRoom);
  const nl = kept.lastIndexOf('\n');
  if (nl > 0) kept = kept.slice(0, nl);
  let closers = '';
  const fences = kept.split('\n').filter((l) => l.trimStart().startsWith('```')).length;
  if (fences % 2 === 1) closers += '\n```';
  const open = (kept.match(/<details>/g) ?? []).length - (kept.match(/<\/details>/g) ?? []).length;
  closers += `${mark}${'\n\n</details>'.repeat(Math.max(0, Math.min(open, 3)))}`;
  return kept + closers;
}

/** Joins a head and blocks within `limit` characters; blocks that do not fit are cut or left out, and a note says so. */
export function fitToLimit(head: string, blocks: string[], limit: number, where: string): string {
  const full = [head, ...blocks].join('\n\n');
  if (full.length <= limit) return full;
  const noteRoom = 400 + where.length;
  const budget = limit - noteRoom;
  let out = cutMarkdown(head, budget);
  let sections = 0;
  for (const b of blocks) {
    const room = budget - out.length - 2;
    if (room <= 0) {
      sections++;
      continue;
    }
    const part = cutMarkdown(b, room);
    if (part !== b) sections++;
    if (part) out += `\n\n${part}`;
  }
  const left = Math.max(0, full.length - out.length);
  const note = `\n\n> ✂️ **Shortened to fit GitHub's ${limit.toLocaleString('en-US')}-character limit**: about ${left.toLocaleString('en-US')} characters of ${sections} section(s) were left out. ${where}`;
  return out + note;
}

export interface DocumentOptions {
  runUrl?: string;
  limit?: number;
  /** Markdown of the specs that failed validation (they were not planned), shown before the plans. */
  validationFailures?: string;
}

/** The PR comment (or job summary) for the plans of one or more specs: marker, overview per spec, each stage's plan. */
export function renderPlanDocument(plans: ClusterPlan[], opts: DocumentOptions = {}): string {
  const parts = plans.map((p) => overview(p, true, plans.length > 1 ? `${p.spec} · ` : ''));
  const verdicts = parts.map((p) => p.verdict);
  const tally = [...new Set(verdicts)].map((v) => `${verdicts.filter((x) => x === v).length} ${v}`);
  const lead = !plans.length
    ? 'No cluster spec is affected by this change.'
    : verdicts.every((v) => v === 'no changes')
      ? `**No changes** in ${plans.length === 1 ? 'the cluster' : `all ${plans.length} clusters`}.`
      : `Clusters: ${tally.join(', ')}.`;
  const run = opts.runUrl ? ` [Run](${opts.runUrl}).` : '';
  const head = [
    PLAN_MARKER,
    heading('bcmkube plan', 2),
    `${lead} Nothing was changed: every stage that ran was in plan mode.${run}`,
    ...(opts.validationFailures?.trim()
      ? [heading('❌ Spec validation failed: nothing was planned', 3), opts.validationFailures.trim()]
      : []),
    ...parts.map((p) => p.head),
  ].join('\n\n');
  const where = opts.runUrl
    ? `The full plan is in the job summaries of [the run](${opts.runUrl}).`
    : 'The full plan is in the job summaries.';
  return fitToLimit(
    head,
    parts.flatMap((p) => p.blocks),
    opts.limit ?? COMMENT_LIMIT,
    where,
  );
}

export interface RunSummaryInput {
  spec: string;
  /** Job results by pipeline key (success | failure | cancelled | skipped), from the workflow's `needs`. */
  results: Record<string, string>;
  reports: StageReport[];
  /** The last inventory the run produced, for the node table. */
  inventory?: Inventory;
  runUrl?: string;
  runId?: string;
  limit?: number;
}

const FLOW_OF: Record<string, FlowOutcome> = { success: 'ok', failure: 'failed', cancelled: 'failed', skipped: 'skipped' };

function nodeRows(nodes: InventoryNode[]): string {
  const rows = nodes
    .slice(0, NODE_ROWS)
    .map((n) => [
      n.hostname,
      n.roles.join(', '),
      n.address,
      n.status,
      n.facts ? n.facts.os.prettyName : '',
      n.facts ? String(n.facts.gpus.length) : '',
      n.facts?.driverVersion ?? '',
    ]);
  const more = nodes.length > rows.length ? `\n\n… and ${nodes.length - rows.length} more (all are in the inventory artifact).` : '';
  return `${table(['node', 'roles', 'address', 'BCM status', 'OS', 'GPUs', 'driver'], rows)}${more}`;
}

/** The deploy workflow's one summary: stages with outcome and time, a picture, the nodes, and where to go next. */
export function renderRunSummary(input: RunSummaryInput): string {
  const reports = ordered(input.reports);
  const byKey = new Map(reports.map((r) => [r.facts.key, r]));
  const cluster = input.inventory?.cluster ?? reports[0]?.facts.cluster;
  const rows = PIPELINE.map((s) => {
    const r = byKey.get(s.key);
    const result = input.results[s.key] ?? (r ? (r.facts.ok ? 'success' : 'failure') : 'not run');
    const detail = r
      ? r.facts.ok
        ? [stageVerdict(r, false), countsText(r.facts.counts)].filter(Boolean).join(': ')
        : firstLine(r.facts.error ?? '')
      : '';
    return [s.key, result, detail, r ? r.facts.seconds.toFixed(1) : ''];
  });
  const total = reports.reduce((sum, r) => sum + r.facts.seconds, 0);
  const flow = mermaidFlow(
    PIPELINE.map((s, i) => {
      const result = input.results[s.key];
      const r = byKey.get(s.key);
      const outcome: FlowOutcome | undefined =
        result === 'success' && r?.facts.changes === false
          ? 'unchanged'
          : result
            ? FLOW_OF[result]
            : r
              ? r.facts.ok
                ? 'ok'
                : 'failed'
              : 'skipped';
      return {
        id: s.key,
        label: `${s.key}: ${result ?? stageVerdict(r, false)}`,
        needs: i ? [PIPELINE[i - 1]!.key] : [],
        ...(outcome ? { outcome } : {}),
      };
    }),
  );
  const links = [
    input.runUrl ? `[This run](${input.runUrl}) (each stage's full summary is on its job).` : '',
    input.runId && input.inventory ? `To start a later run from this run's inventory: \`inventory-run-id: ${input.runId}\`.` : '',
  ].filter(Boolean);
  const parts = [
    heading(`bcmkube deploy: ${cluster ? `cluster \`${cluster}\` ` : ''}(\`${input.spec}\`)`, 2),
    table(['stage', 'job', 'result', 'seconds'], [...rows, ['**total**', '', '', `**${total.toFixed(1)}**`]]),
    flow,
    input.inventory
      ? `${heading(`Nodes (${input.inventory.nodes.length})`, 3)}\n\n${nodeRows(input.inventory.nodes)}`
      : '_No inventory was produced in this run._',
    ...(links.length ? [links.map((l) => `- ${l}`).join('\n')] : []),
  ];
  return fitToLimit(parts.join('\n\n'), [], input.limit ?? SUMMARY_LIMIT, links[0] ?? '');
}

/**
 * One ClusterPlan per spec: the expected specs first (a note where none of its reports arrived), then any other.
 * When a job ran more than once, each step's newest report counts (see ordered()).
 */
export function latestPlans(reports: StageReport[], specs: string[] = []): ClusterPlan[] {
  const bySpec = new Map<string, StageReport[]>();
  for (const r of reports) bySpec.set(r.facts.spec, [...(bySpec.get(r.facts.spec) ?? []), { facts: r.facts, markdown: r.markdown }]);
  const names = [...specs, ...[...bySpec.keys()].filter((s) => !specs.includes(s)).sort()];
  return names.map((spec) => {
    const found = bySpec.get(spec) ?? [];
    if (!found.length)
      return {
        spec,
        reports: [],
        note: 'No plan arrived for this spec: its plan job was skipped, or failed before the first stage (see the run).',
      };
    return { spec, reports: ordered(found) };
  });
}
