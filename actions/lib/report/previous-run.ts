// Where discover-nodes starts from in CI: the last inventory that the previous successful run of the calling
// workflow left for the same cluster, found through the REST API (actions: read). Discovery then carries each node's
// facts and history forward and the plan shows the inventory diff, as it does on a workstation.

/** The fields of a workflow run this uses (GET /repos/{owner}/{repo}/actions/workflows/{id}/runs). */
export interface WorkflowRun {
  id: number;
  run_number?: number;
  html_url?: string;
  updated_at?: string;
}

/** The fields of an artifact this uses (GET /repos/{owner}/{repo}/actions/runs/{id}/artifacts). */
export interface RunArtifact {
  name: string;
  expired?: boolean;
}

/** The three calls the search needs, so it can be tested on recorded answers. */
export interface RunsApi {
  /** The workflow (id) a run belongs to: the caller's workflow for a called one. */
  workflowOf(runId: number): Promise<number>;
  /** One page (1-based) of the workflow's successful runs, newest first. */
  successfulRuns(workflow: number | string, page: number, perPage: number): Promise<WorkflowRun[]>;
  /** The artifacts of a run (the first 100; a deploy run has 2 per stage job). */
  artifactsOf(runId: number): Promise<RunArtifact[]>;
}

/** How many earlier successful runs are searched (one API call each): other clusters' runs share the workflow. */
export const RUNS_SEARCHED = 30;

export interface PreviousInventory {
  run: WorkflowRun;
  artifacts: string[];
}

/** inventory_<key>_… : the names deploy.yml gives the inventories of one cluster (scripts/artifact-key.sh). */
export function inventoryArtifactPrefix(clusterKey: string): string {
  return `inventory_${clusterKey}_`;
}

/** The newest successful run before this one that left an unexpired inventory of this cluster, or undefined. */
export async function findPreviousInventory(
  api: RunsApi,
  target: { currentRunId: number; clusterKey: string; runsSearched?: number; workflow?: string },
): Promise<PreviousInventory | undefined> {
  const limit = target.runsSearched ?? RUNS_SEARCHED;
  const prefix = inventoryArtifactPrefix(target.clusterKey);
  // the calling workflow's own runs, or those of the workflow named (plan.yml: the caller's deploy workflow)
  const workflowId = target.workflow || (await api.workflowOf(target.currentRunId));
  const perPage = Math.min(limit, 100);
  let searched = 0;
  for (let page = 1; searched < limit; page++) {
    const runs = await api.successfulRuns(workflowId, page, perPage);
    for (const run of runs) {
      if (run.id === target.currentRunId) continue;
      if (searched++ >= limit) return undefined;
      const names = (await api.artifactsOf(run.id)).filter((a) => !a.expired && a.name.startsWith(prefix)).map((a) => a.name);
      if (names.length) return { run, artifacts: names };
    }
    if (runs.length < perPage) break;
  }
  return undefined;
}

export function previousInventorySummary(
  clusterKey: string,
  found: PreviousInventory | undefined,
  opts: { given?: string; workflow?: string } = {},
): string {
  const head = '### Where discover-nodes starts from\n\n';
  if (opts.given) return `${head}The inventory of run ${opts.given} (input inventory-run-id), cluster key \`${clusterKey}\`.`;
  const of = opts.workflow ? `workflow ${opts.workflow}` : 'this workflow';
  if (!found)
    return `${head}No earlier successful run of ${of} (the last ${RUNS_SEARCHED} searched) left an inventory for cluster key \`${clusterKey}\`: discovery starts fresh, with no facts or history to carry forward and no inventory diff.`;
  const { run } = found;
  const label = run.run_number ? `#${run.run_number} (id ${run.id})` : `id ${run.id}`;
  const link = run.html_url ? `[run ${label}](${run.html_url})` : `run ${label}`;
  return `${head}The last inventory of ${link}${run.updated_at ? `, finished ${run.updated_at}` : ''}: the previous successful run of ${of} for cluster key \`${clusterKey}\` (${found.artifacts.length} inventory artifact(s)).`;
}
