// The pipeline's steps in order: the jobs of .github/workflows/deploy.yml and the steps of `bcmkube deploy|plan`.
// Run:ai runs twice, phase 2 behind the approval gate.

export interface PipelineStep {
  /** Job id in deploy.yml, file name under <out-dir>/plan/, artifact name part. */
  key: string;
  action: string;
  phase?: 'backend' | 'cluster';
}

export const PIPELINE: readonly PipelineStep[] = [
  { key: 'discover-nodes', action: 'discover-nodes' },
  { key: 'prepare-nodes', action: 'prepare-nodes' },
  { key: 'kubespray', action: 'kubespray' },
  { key: 'helm-platform', action: 'helm-platform' },
  { key: 'runai-backend', action: 'runai', phase: 'backend' },
  { key: 'runai-cluster', action: 'runai', phase: 'cluster' },
];

/** The step an action run with these inputs is, e.g. runai + phase cluster → runai-cluster; undefined for an unknown phase. */
export function pipelineStepOf(action: string, phase: string): PipelineStep | undefined {
  return PIPELINE.find((s) => s.action === action && (s.phase === undefined || s.phase === phase));
}
