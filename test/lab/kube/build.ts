// The lab's real control plane binaries: built once from upstream Go modules by scripts/build-kube.sh into
// .tools/kube/<component>-<version>/ (the script is the one place that names the versions).
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../../..');

export interface KubeBinaries {
  etcd: string;
  etcdctl: string;
  etcdutl: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
}

let built: Promise<KubeBinaries> | undefined;

/** Builds what is missing (minutes, the first time) and returns every binary's path. */
export function ensureKubeBinaries(): Promise<KubeBinaries> {
  built ??= (async () => {
    let stdout: string;
    try {
      ({ stdout } = await run('bash', [join(REPO, 'scripts/build-kube.sh')], { maxBuffer: 64 << 20 }));
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? err).trim();
      // the script's own one-line reason (Go missing) or the tail of the compiler's output
      throw new Error(`lab: building the control plane failed: ${stderr.split('\n').slice(-5).join(' | ')}`);
    }
    const dirs = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    const { etcd, kubernetes, kwok } = dirs;
    if (!etcd || !kubernetes || !kwok) throw new Error(`lab: scripts/build-kube.sh printed no folders: ${stdout}`);
    return {
      etcd: join(etcd, 'etcd'),
      etcdctl: join(etcd, 'etcdctl'),
      etcdutl: join(etcd, 'etcdutl'),
      kubeApiserver: join(kubernetes, 'kube-apiserver'),
      kubeControllerManager: join(kubernetes, 'kube-controller-manager'),
      kubeScheduler: join(kubernetes, 'kube-scheduler'),
      kwok: join(kwok, 'kwok'),
    };
  })();
  return built;
}
