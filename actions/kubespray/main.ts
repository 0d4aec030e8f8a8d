import '../lib/util/cjs-shim.ts';
import { runAction } from '../lib/report/run-action.ts';
import { STAGES } from '../lib/stages/catalog.ts';
import { pendingStage } from '../lib/stages/pending.ts';

await runAction((inputs, reporter) =>
  pendingStage(
    STAGES.find((s) => s.action === 'kubespray')!,
    inputs,
    reporter,
  ),
);
