// A stage whose issue has not landed yet says so and changes nothing (no silent success).
import { UsageError } from '../util/errors.ts';
import type { InputSource } from '../report/inputs.ts';
import type { Reporter } from '../report/reporter.ts';
import type { StageDef } from './catalog.ts';
import { openStage } from './context.ts';

export async function pendingStage(def: StageDef, inputs: InputSource, reporter: Reporter): Promise<never> {
  const ctx = openStage(inputs, reporter);
  throw new UsageError(`${def.action} is not built yet (${def.pending ?? 'planned'}); nothing was changed on cluster '${ctx.spec.name}'.`);
}
