// The `report` action: puts the stage reports of a workflow run together — the plan (job summary, and the one PR
// comment) or the deploy run's summary (stages, outcomes, timings, nodes, links).
import { context, getOctokit } from '@actions/github';
import { existsSync } from 'node:fs';
import { readInventory } from '../inventory/document.ts';
import type { Inventory } from '../inventory/types.ts';
import { PIPELINE } from '../stages/pipeline.ts';
import { errorMessage, UsageError } from '../util/errors.ts';
import { booleanInput, choiceInput, requiredInput, type InputSource } from './inputs.ts';
import { COMMENT_LIMIT, latestPlans, PLAN_MARKER, planHasNoChanges, renderPlanDocument, renderRunSummary, SUMMARY_LIMIT } from './plan.ts';
import { octokitComments, upsertComment, type CommentsApi } from './pr-comment.ts';
import type { Reporter } from './reporter.ts';
import { readStageReports } from './stage-report.ts';

export interface ReportDeps {
  /** The comments of the pull request the run is for (default: through @actions/github and the token). */
  comments?: (token: string, issue: number) => CommentsApi;
  env?: NodeJS.ProcessEnv;
}

function runUrl(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: id, GITHUB_RUN_ATTEMPT: attempt } = env;
  if (!server || !repo || !id) return undefined;
  return `${server}/${repo}/actions/runs/${id}${attempt && attempt !== '1' ? `/attempts/${attempt}` : ''}`;
}

function jsonInput(inputs: InputSource, name: string, what: string): unknown {
  const text = inputs.get(name).trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${inputs.label(name)} must be ${what}: ${errorMessage(err)}`);
  }
}

function specList(inputs: InputSource): string[] {
  const v = jsonInput(inputs, 'specs', 'a JSON list of spec paths');
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw new UsageError(`${inputs.label('specs')} must be a JSON list of spec paths, e.g. ["clusters/prod.yaml"]`);
  return v;
}

/** Job results by pipeline step from `toJSON(needs)`: { "kubespray": { "result": "success" }, … }. */
function jobResults(inputs: InputSource): Record<string, string> {
  const v = jsonInput(inputs, 'results', 'the JSON of the needs context, toJSON(needs)');
  const out: Record<string, string> = {};
  if (v && typeof v === 'object')
    for (const s of PIPELINE) {
      const job = (v as Record<string, unknown>)[s.key];
      if (job && typeof job === 'object' && typeof (job as { result?: unknown }).result === 'string')
        out[s.key] = (job as { result: string }).result;
    }
  return out;
}

function defaultComments(token: string, issue: number): CommentsApi {
  return octokitComments(getOctokit(token), { ...context.repo, issue });
}

export async function reportRun(inputs: InputSource, reporter: Reporter, deps: ReportDeps = {}): Promise<void> {
  const env = deps.env ?? process.env;
  const kind = choiceInput(inputs, 'kind', ['plan', 'deploy'] as const, 'plan');
  const dir = requiredInput(inputs, 'reports', 'the folder the stage report artifacts were downloaded to');
  const reports = readStageReports(dir);
  const url = runUrl(env);
  if (kind === 'deploy') {
    const spec = requiredInput(inputs, 'spec', 'the cluster spec the run deployed');
    const inventoryPath = inputs.get('inventory').trim();
    let inventory: Inventory | undefined;
    if (inventoryPath && existsSync(inventoryPath)) inventory = readInventory(inventoryPath);
    reporter.summary(
      renderRunSummary({
        spec,
        results: jobResults(inputs),
        reports: reports.filter((r) => r.facts.spec === spec),
        ...(inventory ? { inventory } : {}),
        ...(url ? { runUrl: url } : {}),
        ...(env.GITHUB_RUN_ID ? { runId: env.GITHUB_RUN_ID } : {}),
      }),
    );
    return;
  }
  const specs = specList(inputs);
  const one = inputs.get('spec').trim();
  if (!specs.length && one) specs.push(one);
  const plans = latestPlans(reports, specs);
  const noChanges = plans.length > 0 && plans.every((p) => planHasNoChanges(p.reports));
  reporter.output('no-changes', String(noChanges));
  reporter.summary(renderPlanDocument(plans, { ...(url ? { runUrl: url } : {}), limit: SUMMARY_LIMIT }));
  if (!booleanInput(inputs, 'comment', false)) return;
  const token = inputs.get('github-token').trim();
  if (!token) throw new UsageError(`${inputs.label('github-token')} is required to comment: pass \${{ github.token }}`);
  reporter.secret(token);
  const issueText = inputs.get('pull-request').trim() || String(context.payload.pull_request?.number ?? '');
  const issue = Number(issueText);
  if (!Number.isInteger(issue) || issue <= 0)
    throw new UsageError(`no pull request to comment on: run on pull_request, or pass ${inputs.label('pull-request')} (the number)`);
  const body = renderPlanDocument(plans, { ...(url ? { runUrl: url } : {}), limit: COMMENT_LIMIT });
  try {
    const done = await upsertComment((deps.comments ?? defaultComments)(token, issue), PLAN_MARKER, body);
    reporter.output('comment-url', done.url);
    reporter.info(`plan comment ${done.action}: ${done.url}`);
  } catch (err) {
    const status = (err as { status?: number }).status;
    throw new Error(
      status === 403 || status === 404
        ? `cannot comment on pull request #${issue} (HTTP ${status}): the token needs pull-requests: write, and a pull request from a fork gets a read-only token; the plan is in this job's summary`
        : `commenting on pull request #${issue} failed: ${errorMessage(err)}`,
    );
  }
}
