// The `report` action: puts the stage reports of a workflow run together — the plan (job summary, and the one PR
// comment) or the deploy run's summary (stages, outcomes, timings, nodes, links) — and does the workflows' other
// GitHub-side steps: the approval gate check (kind gate) and the run discover-nodes starts from (previous-inventory).
import { context, getOctokit } from '@actions/github';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readInventory } from '../inventory/document.ts';
import type { Inventory } from '../inventory/types.ts';
import { PIPELINE } from '../stages/pipeline.ts';
import { errorMessage, UsageError } from '../util/errors.ts';
import { gateDecision, type EnvironmentAnswer } from './gate.ts';
import { booleanInput, choiceInput, requiredInput, type InputSource } from './inputs.ts';
import { COMMENT_LIMIT, latestPlans, PLAN_MARKER, planHasNoChanges, renderPlanDocument, renderRunSummary, SUMMARY_LIMIT } from './plan.ts';
import { octokitComments, upsertComment, type CommentsApi } from './pr-comment.ts';
import { findPreviousInventory, previousInventorySummary, type RunsApi } from './previous-run.ts';
import type { Reporter } from './reporter.ts';
import { readStageReports } from './stage-report.ts';

export interface ReportDeps {
  /** The comments of the pull request the run is for (default: through @actions/github and the token). */
  comments?: (token: string, issue: number) => CommentsApi;
  /** GET /repos/{owner}/{repo}/environments/{name} of the run's repository (default: through Octokit). */
  environment?: (token: string, name: string) => Promise<EnvironmentAnswer>;
  /** The workflow-runs calls of the run's repository (default: through Octokit). */
  runs?: (token: string) => RunsApi;
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

/**
 * The validation.md plan.yml writes when a spec fails validation: straight in the folder (download-artifact v5 and
 * later, one artifact matched) or in validation_<run>_<attempt>/ (v4, or several attempts: the newest counts).
 */
function validationFailures(dir: string): { validationFailures?: string } {
  if (!dir || !existsSync(dir)) return {};
  const attempt = (name: string) => Number(/_(\d+)$/.exec(name)?.[1] ?? 0);
  const newest = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'validation.md')))
    .map((e) => e.name)
    .sort((a, b) => attempt(a) - attempt(b))
    .pop();
  const file = existsSync(join(dir, 'validation.md')) ? join(dir, 'validation.md') : newest && join(dir, newest, 'validation.md');
  return file ? { validationFailures: readFileSync(file, 'utf8') } : {};
}

function defaultComments(token: string, issue: number): CommentsApi {
  return octokitComments(getOctokit(token), { ...context.repo, issue });
}

async function defaultEnvironment(token: string, name: string): Promise<EnvironmentAnswer> {
  try {
    const res = await getOctokit(token).rest.repos.getEnvironment({ ...context.repo, environment_name: name });
    return { status: res.status, body: res.data };
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    if (typeof status !== 'number') throw err;
    return { status, body: (err as { response?: { data?: unknown } }).response?.data };
  }
}

function defaultRuns(token: string): RunsApi {
  const { actions } = getOctokit(token).rest;
  const repo = context.repo;
  return {
    workflowOf: async (runId) => (await actions.getWorkflowRun({ ...repo, run_id: runId })).data.workflow_id,
    successfulRuns: async (workflowId, page, perPage) =>
      (await actions.listWorkflowRuns({ ...repo, workflow_id: workflowId, status: 'success', per_page: perPage, page })).data.workflow_runs,
    artifactsOf: async (runId) => (await actions.listWorkflowRunArtifacts({ ...repo, run_id: runId, per_page: 100 })).data.artifacts,
  };
}

function tokenInput(inputs: InputSource, reporter: Reporter, what: string): string {
  const token = inputs.get('github-token').trim();
  if (!token) throw new UsageError(`${inputs.label('github-token')} is required ${what}: pass \${{ github.token }}`);
  reporter.secret(token);
  return token;
}

/** Kind gate: fails unless the environment has required reviewers, or the caller accepted an unprotected one. */
async function checkGate(inputs: InputSource, reporter: Reporter, deps: ReportDeps, env: NodeJS.ProcessEnv): Promise<void> {
  const environment = inputs.get('environment').trim();
  const allowUnprotected = booleanInput(inputs, 'allow-unprotected', false);
  const token = tokenInput(inputs, reporter, 'to read the environment');
  const answer = environment ? await (deps.environment ?? defaultEnvironment)(token, environment) : undefined;
  const decision = gateDecision({
    environment,
    repository: env.GITHUB_REPOSITORY ?? 'this repository',
    answer,
    allowUnprotected,
    allowLabel: 'allow-unprotected-environment',
  });
  reporter.summary(decision.summary);
  reporter.output('protected', String(decision.protected));
  if (!decision.pass) throw new UsageError(decision.message);
  if (decision.protected) reporter.info(decision.message);
  else reporter.warning(decision.message, 'approval gate not enforced');
}

/** Kind previous-inventory: the run whose last inventory of this cluster discover-nodes starts from. */
async function previousInventory(inputs: InputSource, reporter: Reporter, deps: ReportDeps, env: NodeJS.ProcessEnv): Promise<void> {
  const clusterKey = requiredInput(inputs, 'cluster-key', 'the cluster key of the artifact names (scripts/artifact-key.sh)');
  const given = inputs.get('run-id').trim();
  if (given) {
    if (!/^\d+$/.test(given)) throw new UsageError(`${inputs.label('run-id')} must be a workflow run id (digits), got '${given}'`);
    reporter.output('run-id', given);
    reporter.summary(previousInventorySummary(clusterKey, undefined, { given }));
    return;
  }
  const currentRunId = Number(env.GITHUB_RUN_ID);
  if (!Number.isInteger(currentRunId) || currentRunId <= 0)
    throw new UsageError('GITHUB_RUN_ID is not set: run this inside a workflow run');
  const workflow = inputs.get('workflow').trim();
  const token = tokenInput(inputs, reporter, 'to list the earlier runs');
  let found;
  try {
    found = await findPreviousInventory((deps.runs ?? defaultRuns)(token), { currentRunId, clusterKey, ...(workflow ? { workflow } : {}) });
  } catch (err) {
    const status = (err as { status?: number }).status;
    throw new Error(
      status === 403 || status === 404
        ? `cannot list the earlier runs of ${workflow ? `workflow '${workflow}'` : 'this workflow'} (HTTP ${status}): the job needs permissions: actions: read${workflow ? ', and the workflow must exist in this repository' : ''}`
        : `listing the earlier runs of this workflow failed: ${errorMessage(err)}`,
    );
  }
  reporter.output('run-id', found ? String(found.run.id) : '');
  reporter.output('run-url', found?.run.html_url ?? '');
  const summary = previousInventorySummary(clusterKey, found, workflow ? { workflow } : {});
  reporter.summary(summary);
  reporter.info(summary.replace(/^### .*\n\n/, ''));
}

export async function reportRun(inputs: InputSource, reporter: Reporter, deps: ReportDeps = {}): Promise<void> {
  const env = deps.env ?? process.env;
  const kind = choiceInput(inputs, 'kind', ['plan', 'deploy', 'gate', 'previous-inventory'] as const, 'plan');
  if (kind === 'gate') return checkGate(inputs, reporter, deps, env);
  if (kind === 'previous-inventory') return previousInventory(inputs, reporter, deps, env);
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
  const failures = validationFailures(inputs.get('validation').trim());
  reporter.summary(renderPlanDocument(plans, { ...(url ? { runUrl: url } : {}), ...failures, limit: SUMMARY_LIMIT }));
  if (!booleanInput(inputs, 'comment', false)) return;
  const token = tokenInput(inputs, reporter, 'to comment');
  const issueText = inputs.get('pull-request').trim() || String(context.payload.pull_request?.number ?? '');
  const issue = Number(issueText);
  if (!Number.isInteger(issue) || issue <= 0)
    throw new UsageError(`no pull request to comment on: run on pull_request, or pass ${inputs.label('pull-request')} (the number)`);
  const body = renderPlanDocument(plans, { ...(url ? { runUrl: url } : {}), ...failures, limit: COMMENT_LIMIT });
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
