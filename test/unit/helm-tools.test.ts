// Where helm and kubectl come from: upstream layouts (get.helm.sh, dl.k8s.io) or a mirror with the same
// layout, each with its published checksum file; the pins match what the lab mirror serves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { upgradeInstallArgs } from '../../actions/lib/helm/kube-tools.ts';
import { goArch, HELM_VERSION, helmArtifact, KUBECTL_VERSION, kubectlArtifact } from '../../actions/lib/tools/kube-binaries.ts';
import { HELM_VERSION as LAB_HELM, KUBECTL_VERSION as LAB_KUBECTL } from '../lab/repo/binaries.ts';

describe('helm and kubectl downloads', () => {
  it('use the upstream layout with its published checksum files, or the same layout under mirrors.tools', () => {
    assert.deepEqual(helmArtifact('v3.17.3', undefined, 'amd64'), {
      tool: 'helm',
      version: '3.17.3',
      url: 'https://get.helm.sh/helm-v3.17.3-linux-amd64.tar.gz',
      checksumUrl: 'https://get.helm.sh/helm-v3.17.3-linux-amd64.tar.gz.sha256sum',
      pinKey: 'helm-v3.17.3-linux-amd64.tar.gz',
    });
    assert.deepEqual(kubectlArtifact('v1.31.9', 'https://mirror.example/tools/', 'arm64'), {
      tool: 'kubectl',
      version: '1.31.9',
      url: 'https://mirror.example/tools/kubectl/release/v1.31.9/bin/linux/arm64/kubectl',
      checksumUrl: 'https://mirror.example/tools/kubectl/release/v1.31.9/bin/linux/arm64/kubectl.sha256',
      pinKey: 'kubectl-v1.31.9-linux-arm64',
      binary: 'kubectl',
    });
    assert.equal(
      helmArtifact('v3.17.3', 'https://mirror.example/tools', 'amd64').url,
      'https://mirror.example/tools/helm/helm-v3.17.3-linux-amd64.tar.gz',
    );
  });

  it('are pinned (the lab mirror serves exactly these versions) and refuse a runner CPU without builds', () => {
    assert.equal(HELM_VERSION, LAB_HELM);
    assert.equal(KUBECTL_VERSION, LAB_KUBECTL);
    assert.equal(goArch('x64'), 'amd64');
    assert.throws(() => goArch('ppc64'), /no helm\/kubectl builds for a ppc64 runner/);
  });

  it('helm upgrade --install is atomic, waits, pins the version, bounds the time and takes values only from files', () => {
    assert.deepEqual(
      upgradeInstallArgs({
        name: 'gpu-operator',
        chart: '/w/charts/gpu-operator/gpu-operator-v25.3.3.tgz',
        version: 'v25.3.3',
        namespace: 'gpu-operator',
        timeoutSeconds: 900,
        valuesFiles: ['helm/values/gpu-operator.yaml', '/w/values/gpu-operator.yaml'],
      }),
      [
        'upgrade',
        '--install',
        'gpu-operator',
        '/w/charts/gpu-operator/gpu-operator-v25.3.3.tgz',
        '--namespace',
        'gpu-operator',
        '--version',
        'v25.3.3',
        '--atomic',
        '--wait',
        '--timeout',
        '900s',
        '--values',
        'helm/values/gpu-operator.yaml',
        '--values',
        '/w/values/gpu-operator.yaml',
      ],
    );
  });
});
