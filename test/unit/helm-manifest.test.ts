import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dependencyOrder, loadPlatformManifest, parsePlatformManifest } from '../../actions/lib/helm/manifest.ts';

const text = readFileSync('helm/platform.yaml', 'utf8');

describe('helm/platform.yaml', () => {
  it('pins every release the predecessor installed, with its namespace and timeout', () => {
    const m = loadPlatformManifest('helm/platform.yaml');
    const got = Object.fromEntries(m.releases.map((r) => [r.name, `${r.version} ${r.namespace} ${r.timeoutSeconds}`]));
    assert.deepEqual(got, {
      'local-path-provisioner': '0.0.26 local-path-storage 300',
      'ingress-nginx': '4.9.0 ingress-nginx 300',
      'gpu-operator': 'v25.3.3 gpu-operator 900',
      'kube-prometheus-stack': '77.6.2 prometheus 600',
      'prometheus-adapter': '5.1.0 prometheus 300',
      'metrics-server': '3.13.0 kube-system 300',
      lws: 'v0.7.0 lws-system 300',
      'knative-operator': 'v1.16.0 knative-operator 600',
    });
    assert.equal(m.releases.find((r) => r.name === 'gpu-operator')!.namespaceLabels['pod-security.kubernetes.io/enforce'], 'privileged');
    assert.equal(m.releases.find((r) => r.name === 'lws')!.repo, 'oci://registry.k8s.io/lws/charts');
  });

  it('refuses a values file on a Run:ai chart, whose values the runai action generates, and requires one elsewhere', () => {
    assert.throws(
      () =>
        parsePlatformManifest(
          text.replace('    timeoutSeconds: 1200\n', '    timeoutSeconds: 1200\n    values: values/runai-backend.yaml\n'),
          'p.yaml',
        ),
      /runai\[0\]\.values: the runai action generates Run:ai's values from the spec; remove this key/,
    );
    assert.throws(
      () => parsePlatformManifest(text.replace('    values: values/lws.yaml\n', ''), 'p.yaml'),
      /releases\[\d\]\.values: must be non-empty text/,
    );
  });

  it('orders releases after their needs', () => {
    const order = dependencyOrder(loadPlatformManifest('helm/platform.yaml').releases).map((r) => r.name);
    assert.ok(order.indexOf('kube-prometheus-stack') < order.indexOf('prometheus-adapter'));
    assert.ok(order.indexOf('local-path-provisioner') < order.indexOf('ingress-nginx'));
  });

  it('refuses unpinned versions, unknown needs and cycles, naming the release', () => {
    assert.throws(
      () => parsePlatformManifest(text.replace('version: 4.9.0', 'version: latest'), 'p.yaml'),
      /releases\[1\]\.version: 'latest' must be a pinned version/,
    );
    assert.throws(
      () => parsePlatformManifest(text.replace('needs: [kube-prometheus-stack]', 'needs: [prometheus]'), 'p.yaml'),
      /prometheus-adapter needs 'prometheus', which is not a release/,
    );
    const cyclic = text.replace(
      'namespace: local-path-storage\n    namespaceLabels: {}\n    needs: []',
      'namespace: local-path-storage\n    namespaceLabels: {}\n    needs: [ingress-nginx]',
    );
    assert.throws(
      () => parsePlatformManifest(cyclic, 'p.yaml'),
      /dependency cycle (local-path-provisioner → ingress-nginx → local-path-provisioner|ingress-nginx → local-path-provisioner → ingress-nginx)/,
    );
    assert.throws(
      () => parsePlatformManifest(text.replace('repo: https://charts.containeroo.ch', 'repo: http://charts.containeroo.ch'), 'p.yaml'),
      /releases\[0\]\.repo: .* must start with https:\/\/ or oci:\/\//,
    );
  });
});
