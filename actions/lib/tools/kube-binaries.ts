// helm and kubectl at pinned versions, from get.helm.sh / dl.k8s.io or a mirror with the same layout
// (mirrors.tools), SHA-256-verified into the tool cache, then asked for their version before first use.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterSpec } from '../config/types.ts';
import { StageError } from '../util/errors.ts';
import { runProcess } from '../util/process.ts';
import { installTool, type Artifact } from './install.ts';

/** helm 3 (Run:ai 2.21 needs ≥ 3.14); kubectl within one minor of the clusters Kubespray v2.27 deploys (1.29–1.31). */
export const HELM_VERSION = 'v3.17.3';
export const KUBECTL_VERSION = 'v1.31.9';

/** Go's name for the runner's CPU, as used in upstream file names. */
export function goArch(arch: string = process.arch): string {
  const known: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
  const go = known[arch];
  if (!go) throw new StageError(`no helm/kubectl builds for a ${arch} runner: use an amd64 or arm64 runner`);
  return go;
}

const base = (mirror: string | undefined, tool: string, upstream: string) => (mirror ? `${mirror.replace(/\/$/, '')}/${tool}` : upstream);

/** get.helm.sh/helm-<v>-linux-<arch>.tar.gz with its published .sha256sum. */
export function helmArtifact(version: string, mirror?: string, arch = goArch()): Artifact {
  const file = `helm-${version}-linux-${arch}.tar.gz`;
  const url = `${base(mirror, 'helm', 'https://get.helm.sh')}/${file}`;
  return { tool: 'helm', version: version.replace(/^v/, ''), url, checksumUrl: `${url}.sha256sum`, pinKey: file };
}

/** dl.k8s.io/release/<v>/bin/linux/<arch>/kubectl with its published .sha256. */
export function kubectlArtifact(version: string, mirror?: string, arch = goArch()): Artifact {
  const url = `${base(mirror, 'kubectl', 'https://dl.k8s.io')}/release/${version}/bin/linux/${arch}/kubectl`;
  return {
    tool: 'kubectl',
    version: version.replace(/^v/, ''),
    url,
    checksumUrl: `${url}.sha256`,
    pinKey: `kubectl-${version}-linux-${arch}`,
    binary: 'kubectl',
  };
}

export interface KubeBinaries {
  helm: string;
  kubectl: string;
  /** One line per tool: where it came from and how it was verified. */
  notes: string[];
}

/** The version a binary reports, checked against the pin (a mirror serving the wrong build is refused). */
async function checkVersion(bin: string, args: string[], want: string, env: NodeJS.ProcessEnv): Promise<void> {
  const r = await runProcess(bin, args, { env });
  const got = /v\d+\.\d+\.\d+/.exec(r.stdout)?.[0];
  if (r.code !== 0 || got !== want)
    throw new StageError(
      `${bin} ${args.join(' ')} reports ${got ?? `nothing (exit ${r.code}: ${r.stderr.trim().slice(0, 120)})`}, expected ${want}: the mirror serves another build`,
    );
}

/** helm and kubectl for this run; both are fetched at once, each only when the tool cache lacks it. */
export async function installKubeBinaries(spec: ClusterSpec, workDir: string, env: NodeJS.ProcessEnv): Promise<KubeBinaries> {
  const opts = {
    ...(spec.mirrors.ca_file ? { ca: readFileSync(spec.mirrors.ca_file, 'utf8') } : {}),
    pins: spec.mirrors.sha256,
  };
  const [helm, kubectl] = await Promise.all([
    installTool(helmArtifact(HELM_VERSION, spec.mirrors.tools), join(workDir, 'download'), opts),
    installTool(kubectlArtifact(KUBECTL_VERSION, spec.mirrors.tools), join(workDir, 'download'), opts),
  ]);
  const bins = { helm: join(helm.dir, `linux-${goArch()}`, 'helm'), kubectl: join(kubectl.dir, 'kubectl') };
  await Promise.all([
    checkVersion(bins.helm, ['version', '--short'], HELM_VERSION, env),
    checkVersion(bins.kubectl, ['version', '--client', '-o', 'json'], KUBECTL_VERSION, env),
  ]);
  const note = (name: string, version: string, r: { cached: boolean; verifiedBy?: string }) =>
    `${name} ${version}: ${r.cached ? 'from the tool cache' : `downloaded, SHA-256 ${r.verifiedBy}`}`;
  return { ...bins, notes: [note('helm', HELM_VERSION, helm), note('kubectl', KUBECTL_VERSION, kubectl)] };
}
