// The lab's control plane is built at versions Kubespray v2.27.1 itself deploys (its checksums file lists what
// it can download): the etcd it pins and a Kubernetes release it knows, the same release as the lab's kubectl.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { KUBECTL_VERSION } from '../lab/repo/binaries.ts';
import { readUpstream } from './upstream.ts';

type Checksums = Record<string, { amd64: Record<string, string | number> }>;
const checksums = yaml.load(readUpstream('kubespray-v2.27.1/roles/kubespray-defaults/defaults/main/checksums.yml')) as Checksums;
const script = readFileSync('scripts/build-kube.sh', 'utf8');
const defaultOf = (name: string) => new RegExp(`^${name}=\\$\\{${name}:-(v[\\d.]+)\\}$`, 'm').exec(script)?.[1];

describe('the versions scripts/build-kube.sh builds, against Kubespray v2.27.1', () => {
  it('etcd is the newest etcd Kubespray v2.27.1 downloads for amd64', () => {
    const versions = Object.keys(checksums.etcd_binary_checksums!.amd64);
    assert.equal(defaultOf('ETCD_VERSION'), versions[0]);
    assert.match(String(checksums.etcd_binary_checksums!.amd64[versions[0]!]), /^[0-9a-f]{64}$/);
  });

  it('Kubernetes is a release Kubespray v2.27.1 deploys, and the lab kubectl is the same release', () => {
    const kube = defaultOf('KUBE_VERSION')!;
    for (const tool of ['kubelet_checksums', 'kubectl_checksums', 'kubeadm_checksums'])
      assert.match(String(checksums[tool]!.amd64[kube]), /^[0-9a-f]{64}$/, `${tool} ${kube}`);
    assert.equal(KUBECTL_VERSION, kube);
  });
});
