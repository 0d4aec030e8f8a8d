// How a stage function becomes a runner: secrets masked first, a stage report written whatever happens.
// Each action's entry names its own stage function, so its bundle carries only that stage; the CLI takes
// them all from all-stages.ts.
import type { InputSource } from '../report/inputs.ts';
import type { Reporter } from '../report/reporter.ts';
import { withStageReport } from '../report/stage-report.ts';
import { STAGES, type StageDef } from './catalog.ts';
import { pendingStage } from './pending.ts';

export type StageRunner = (inputs: InputSource, reporter: Reporter) => Promise<unknown>;

/**
 * The stage's runner; every input the catalog marks secret is masked before the stage reads anything, and the
 * stage's summaries and facts are kept under <out-dir>/plan/ (plan mode) or <out-dir>/report/ (stage-report.ts).
 * Without a function the stage is one not built yet, which says so and changes nothing.
 */
export function stageRunner(def: StageDef, stage: StageRunner | undefined): StageRunner {
  const run = stage ?? ((inputs: InputSource, reporter: Reporter) => pendingStage(def, inputs, reporter));
  return (inputs, reporter) => {
    for (const input of def.inputs) if (input.secret) reporter.secret(inputs.get(input.name));
    return withStageReport(def, inputs, reporter, run);
  };
}

export function actionRunner(action: string, stage: StageRunner): StageRunner {
  const def = STAGES.find((s) => s.action === action);
  if (!def) throw new Error(`no stage '${action}' in the catalog`);
  return stageRunner(def, stage);
}
