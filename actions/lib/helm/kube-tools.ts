// helm and kubectl as the stages run them: against the fetched kubeconfig, with Helm's home folders in the
// stage's private work folder (shared or NFS homes break Helm's file locks), never through a shell.
import { join } from 'node:path';
import type { StageContext } from '../stages/context.ts';
import { installKubeBinaries } from '../tools/kube-binaries.ts';
import { runProcess, type ProcessOptions, type ProcessResult } from '../util/process.ts';
import type { WorkDir } from '../util/work-dir.ts';

export interface KubeTools {
  helm: string;
  kubectl: string;
  kubeconfig: string;
  env: NodeJS.ProcessEnv;
}

/**
 * The helm and kubectl binaries for this stage: pinned versions, SHA-256-verified into the tool cache
 * (mirrors.tools for air-gapped sites), with Helm's home folders in the stage's private work folder.
 */
export async function openKubeTools(ctx: StageContext, work: WorkDir, kubeconfig: string): Promise<KubeTools> {
  const home = join(work.path, 'helm');
  const env = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  const bins = await installKubeBinaries(ctx.spec, work.path, env);
  for (const note of bins.notes) ctx.reporter.info(note);
  return { helm: bins.helm, kubectl: bins.kubectl, kubeconfig, env };
}

export function runHelm(t: KubeTools, args: string[], opts: Omit<ProcessOptions, 'env'> = {}): Promise<ProcessResult> {
  return runProcess(t.helm, ['--kubeconfig', t.kubeconfig, ...args], {
    missingHint: 'the helm binary in the tool cache is gone; run again',
    ...opts,
    env: t.env,
  });
}

export function runKubectl(t: KubeTools, args: string[], opts: Omit<ProcessOptions, 'env'> = {}): Promise<ProcessResult> {
  return runProcess(t.kubectl, ['--kubeconfig', t.kubeconfig, ...args], {
    missingHint: 'the kubectl binary in the tool cache is gone; run again',
    ...opts,
    env: t.env,
  });
}

export interface ReleaseInstall {
  name: string;
  /** A pulled chart archive (.tgz) or a repo/chart reference. */
  chart: string;
  version: string;
  namespace: string;
  timeoutSeconds: number;
  /** Applied in order; later files win. Values never go on the command line. */
  valuesFiles: string[];
}

/** `helm upgrade --install` for one pinned release: atomic (a failure rolls back), waits, bounded by its timeout. */
export function upgradeInstallArgs(r: ReleaseInstall): string[] {
  return [
    'upgrade',
    '--install',
    r.name,
    r.chart,
    '--namespace',
    r.namespace,
    '--version',
    r.version,
    '--atomic',
    '--wait',
    '--timeout',
    `${r.timeoutSeconds}s`,
    ...r.valuesFiles.flatMap((f) => ['--values', f]),
  ];
}
