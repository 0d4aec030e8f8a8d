// Every built stage, for the CLI, which runs any of them and chains them all.
import type { StageDef } from './catalog.ts';
import { discoverStage } from './discover.ts';
import { etcdStage } from './etcd.ts';
import { kubesprayStage } from './kubespray.ts';
import { platformStage } from './platform.ts';
import { prepareStage } from './prepare.ts';
import { stageRunner, type StageRunner } from './registry.ts';
import { runaiStage } from './runai.ts';

const BUILT: Record<string, StageRunner> = {
  'discover-nodes': discoverStage,
  'prepare-nodes': prepareStage,
  kubespray: kubesprayStage,
  runai: runaiStage,
  'helm-platform': platformStage,
  etcd: etcdStage,
};

export function builtStageRunner(def: StageDef): StageRunner {
  return stageRunner(def, BUILT[def.action]);
}
