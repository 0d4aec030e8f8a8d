// Which function runs each stage; the actions and the CLI both come through here.
import type { InputSource } from '../report/inputs.ts';
import type { Reporter } from '../report/reporter.ts';
import type { StageDef } from './catalog.ts';
import { discoverStage } from './discover.ts';
import { pendingStage } from './pending.ts';

export type StageRunner = (inputs: InputSource, reporter: Reporter) => Promise<unknown>;

const BUILT: Record<string, StageRunner> = {
  'discover-nodes': discoverStage,
};

export function stageRunner(def: StageDef): StageRunner {
  return BUILT[def.action] ?? ((inputs, reporter) => pendingStage(def, inputs, reporter));
}
