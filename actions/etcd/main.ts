import '../lib/util/cjs-shim.ts';
import { runAction } from '../lib/report/run-action.ts';
import { actionRunner } from '../lib/stages/registry.ts';
import { etcdStage } from '../lib/stages/etcd.ts';

await runAction(actionRunner('etcd', etcdStage));
