import '../lib/util/cjs-shim.ts';
import { runAction } from '../lib/report/run-action.ts';
import { actionRunner } from '../lib/stages/registry.ts';
import { runaiStage } from '../lib/stages/runai.ts';

await runAction(actionRunner('runai', runaiStage));
