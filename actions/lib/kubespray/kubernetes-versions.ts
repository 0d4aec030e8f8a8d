// The Kubernetes versions a Kubespray release can install: Kubespray looks up the kubelet and kubeadm checksum of
// the exact kube_version (roles/kubespray-defaults/defaults/main/checksums.yml) and fails on any other. The list
// per Kubespray version is data (kubernetes-versions.json), generated from that file by
// kubernetesVersionsFromChecksums; the upstream suite checks it still equals the real file.
import * as yaml from 'js-yaml';
import * as semver from 'semver';
import data from './kubernetes-versions.json' with { type: 'json' };

/** The architecture the lists are for: DGX H100/H200 nodes are x86_64. */
export const CHECKSUM_ARCH = 'amd64';

/** Versions with both a kubelet and a kubeadm checksum for CHECKSUM_ARCH, oldest first. */
export function kubernetesVersionsFromChecksums(checksumsYaml: string): string[] {
  const doc = yaml.load(checksumsYaml) as Record<string, Record<string, Record<string, unknown>> | undefined>;
  const versions = (name: string) =>
    Object.entries(doc[name]?.[CHECKSUM_ARCH] ?? {})
      .filter(([, sum]) => typeof sum === 'string' && /^[0-9a-f]{64}$/.test(sum))
      .map(([v]) => v);
  const kubeadm = new Set(versions('kubeadm_checksums'));
  return versions('kubelet_checksums')
    .filter((v) => kubeadm.has(v) && semver.valid(v))
    .sort(semver.compare);
}

/** The versions Kubespray `kubesprayVersion` has checksums for; undefined when our data has no list for it. */
export function supportedKubernetesVersions(kubesprayVersion: string): string[] | undefined {
  return (data.kubespray as Record<string, string[]>)[kubesprayVersion];
}

/** The supported versions nearest to `version`: the highest below and the lowest above it (at most one each). */
export function nearestVersions(version: string, supported: string[]): string[] {
  const below = supported.filter((v) => semver.lt(v, version)).at(-1);
  const above = supported.find((v) => semver.gt(v, version));
  return [below, above].filter((v): v is string => v !== undefined);
}
