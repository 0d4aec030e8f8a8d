// Which function runs each stage; the actions and the CLI both come through here.
import type { InputSource } from '../report/inputs.ts';
import type { Reporter } from '../report/reporter.ts';
import { withStageReport } from '../report/stage-report.ts';
import { STAGES, type StageDef } from './catalog.ts';
import { discoverStage } from './discover.ts';
import { kubesprayStage } from './kubespray.ts';
import { pendingStage } from './pending.ts';
import { platformStage } from './platform.ts';
import { prepareStage } from './prepare.ts';
import { runaiStage } from './runai.ts';

export type StageRunner = (inputs: InputSource, reporter: Reporter) => Promise<unknown>;

const BUILT: Record<string, StageRunner> = {
  'discover-nodes': discoverStage,
  'prepare-nodes': prepareStage,
  kubespray: kubesprayStage,
  runai: runaiStage,
  'helm-platform': platformStage,
};

/**
 * The stage's runner; every input the catalog marks secret is masked before the stage reads anything, and the
 * stage's summaries and facts are kept under <out-dir>/plan/ (plan mode) or <out-dir>/report/ (stage-report.ts).
 */
export function stageRunner(def: StageDef): StageRunner {
  const run = BUILT[def.action] ?? ((inputs: InputSource, reporter: Reporter) => pendingStage(def, inputs, reporter));
  return (inputs, reporter) => {
    for (const input of def.inputs) if (input.secret) reporter.secret(inputs.get(input.name));
    return withStageReport(def, inputs, reporter, run);
  };
}

export function actionRunner(action: string): StageRunner {
  const def = STAGES.find((s) => s.action === action);
  if (!def) throw new Error(`no stage '${action}' in the catalog`);
  return stageRunner(def);
}
