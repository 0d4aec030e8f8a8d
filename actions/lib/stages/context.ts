// What every stage starts with: the validated spec, plan mode, where files go, and the reporter.
import { join } from 'node:path';
import { loadSpecFile } from '../config/load.ts';
import type { ClusterSpec } from '../config/types.ts';
import { readInventory } from '../inventory/document.ts';
import type { Inventory } from '../inventory/types.ts';
import { booleanInput, outDirInput, requiredInput, type InputSource } from '../report/inputs.ts';
import type { Reporter } from '../report/reporter.ts';
import { UsageError } from '../util/errors.ts';

export interface StageContext {
  spec: ClusterSpec;
  specPath: string;
  specHash: string;
  plan: boolean;
  outDir: string;
  inputs: InputSource;
  reporter: Reporter;
}

export function openStage(inputs: InputSource, reporter: Reporter): StageContext {
  const specPath = requiredInput(inputs, 'spec', 'the path of the cluster spec, e.g. clusters/prod.yaml');
  const loaded = loadSpecFile(specPath);
  for (const w of loaded.problems) reporter.warning(`${w.path || '(spec)'}: ${w.message}`, `cluster spec ${specPath}`);
  const plan = booleanInput(inputs, 'plan', false);
  const outDir = outDirInput(inputs, loaded.spec.name);
  return { spec: loaded.spec, specPath, specHash: loaded.hash, plan, outDir, inputs, reporter };
}

export function inventoryPathOf(ctx: StageContext): string {
  return ctx.inputs.get('inventory').trim() || join(ctx.outDir, 'inventory.json');
}

/** The inventory the previous stage wrote, refused when it belongs to another cluster. */
export function readStageInventory(ctx: StageContext): { inventoryPath: string; inv: Inventory } {
  const inventoryPath = inventoryPathOf(ctx);
  const inv = readInventory(inventoryPath);
  if (inv.cluster !== ctx.spec.name)
    throw new UsageError(`${inventoryPath} is for cluster '${inv.cluster}', not '${ctx.spec.name}': pass the inventory of this cluster`);
  return { inventoryPath, inv };
}
