import '../lib/util/cjs-shim.ts';
import { runAction } from '../lib/report/run-action.ts';
import { actionRunner } from '../lib/stages/registry.ts';
import { prepareStage } from '../lib/stages/prepare.ts';

await runAction(actionRunner('prepare-nodes', prepareStage));
