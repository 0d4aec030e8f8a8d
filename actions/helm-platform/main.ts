import '../lib/util/cjs-shim.ts';
import { runAction } from '../lib/report/run-action.ts';
import { actionRunner } from '../lib/stages/registry.ts';
import { platformStage } from '../lib/stages/platform.ts';

await runAction(actionRunner('helm-platform', platformStage));
