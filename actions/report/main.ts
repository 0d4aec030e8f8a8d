import '../lib/util/cjs-shim.ts';
import { reportRun } from '../lib/report/report-run.ts';
import { runAction } from '../lib/report/run-action.ts';

await runAction((inputs, reporter) => reportRun(inputs, reporter));
