import '../lib/util/cjs-shim.ts';
import { runAction } from '../lib/report/run-action.ts';
import { actionRunner } from '../lib/stages/registry.ts';
import { discoverStage } from '../lib/stages/discover.ts';

await runAction(actionRunner('discover-nodes', discoverStage));
