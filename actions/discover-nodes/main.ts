import '../lib/util/cjs-shim.ts';
import { runAction } from '../lib/report/run-action.ts';
import { discoverStage } from '../lib/stages/discover.ts';

await runAction(discoverStage);
