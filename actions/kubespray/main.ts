import '../lib/util/cjs-shim.ts';
import { runAction } from '../lib/report/run-action.ts';
import { actionRunner } from '../lib/stages/registry.ts';
import { kubesprayStage } from '../lib/stages/kubespray.ts';

await runAction(actionRunner('kubespray', kubesprayStage));
