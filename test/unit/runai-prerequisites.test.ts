// Before either Run:ai phase: Kubernetes in range, the releases the chart needs deployed (from the inventory),
// each missing piece named with what to run; the admin password against Run:ai's policy.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSpec } from '../../actions/lib/config/load.ts';
import { loadPlatformManifest } from '../../actions/lib/helm/manifest.ts';
import type { Inventory, ReleaseState } from '../../actions/lib/inventory/types.ts';
import {
  gpuOperatorFindings,
  ingressClassProblems,
  knativeProblems,
  passwordPolicyProblems,
  prerequisiteProblems,
} from '../../actions/lib/runai/prerequisites.ts';
import compat from '../../actions/lib/config/compat.json' with { type: 'json' };

const manifest = loadPlatformManifest('helm/platform.yaml');
const platform = new Set(manifest.releases.map((r) => r.name));
const backend = manifest.runai.find((r) => r.name === 'runai-backend')!;
const cluster = manifest.runai.find((r) => r.name === 'runai-cluster')!;
const spec = (extra = '') => parseSpec(readFileSync('clusters/example.yaml', 'utf8') + extra, 'example.yaml').spec;
const deployed = (names: string[], status = 'deployed'): ReleaseState[] =>
  names.map((name) => ({
    name,
    chart: name,
    version: manifest.releases.find((r) => r.name === name)?.version ?? '1.0.0',
    namespace: name,
    status,
  }));
const inventory = (over: Partial<Inventory> = {}): Inventory => ({
  schemaVersion: 1,
  cluster: 'x',
  specHash: '',
  bcm: { endpoint: 'https://bcm' },
  nodes: [],
  history: [],
  kubernetes: { version: 'v1.31.9', apiServer: 'https://10.0.0.1:6443', registeredNodes: [] },
  platform: { releases: deployed([...platform]) },
  ...over,
});

describe('Run:ai prerequisites', () => {
  it('none missing on a cluster with every platform release deployed', () => {
    assert.deepEqual(prerequisiteProblems(inventory(), spec(), backend, platform), []);
    assert.deepEqual(prerequisiteProblems(inventory(), spec(), cluster, platform), []);
  });

  it('names the stage to run when the platform or Kubernetes was never deployed', () => {
    const { platform: _p, kubernetes: _k, ...bare } = inventory();
    assert.deepEqual(prerequisiteProblems(bare as Inventory, spec(), backend, platform), [
      'Kubernetes: the inventory has no kubernetes section; run the kubespray stage (bcmkube kubespray) first',
      'platform releases (ingress-nginx, kube-prometheus-stack, prometheus-adapter, gpu-operator): the inventory has no platform section; run the helm-platform stage (bcmkube platform) first',
    ]);
  });

  it("Kubernetes outside Run:ai 2.21's range 1.29-1.32", () => {
    const inv = inventory({ kubernetes: { version: 'v1.28.6', apiServer: '', registeredNodes: [] } });
    assert.deepEqual(prerequisiteProblems(inv, spec(), backend, platform), [
      "Kubernetes v1.28.6 is outside Run:ai 2.21.63's supported range 1.29-1.32",
    ]);
  });

  it('each missing, failed or switched-off release is named; Knative only matters to the cluster phase', () => {
    const releases = deployed([...platform].filter((n) => !['gpu-operator', 'knative-operator', 'kube-prometheus-stack'].includes(n)));
    releases.push(...deployed(['kube-prometheus-stack'], 'failed'));
    const inv = inventory({ platform: { releases } });
    assert.deepEqual(prerequisiteProblems(inv, spec(), backend, platform), [
      'Prometheus (release kube-prometheus-stack) is failed, not deployed; fix it and re-run the helm-platform stage',
      "the NVIDIA GPU Operator (release gpu-operator) is not in the inventory's platform releases; run the helm-platform stage",
    ]);
    assert.match(
      prerequisiteProblems(inv, spec(), cluster, platform).join('\n'),
      /Knative \(release knative-operator\) is not in the inventory/,
    );
    const off = spec('platform:\n  releases:\n    lws: { enabled: false }\n');
    assert.deepEqual(prerequisiteProblems(inventory(), off, cluster, platform), [
      'LeaderWorkerSet (release lws) is switched off in the spec (platform.releases.lws.enabled: false), and runai-cluster needs it',
    ]);
  });

  it("with platform.ingress: none the user's own ingress is assumed", () => {
    const inv = inventory({ platform: { releases: deployed([...platform].filter((n) => n !== 'ingress-nginx')) } });
    assert.deepEqual(prerequisiteProblems(inv, spec('platform:\n  ingress: none\n'), backend, platform), []);
  });

  it("checks the admin password against Run:ai's policy", () => {
    assert.deepEqual(passwordPolicyProblems('Abcd!234'), []);
    assert.deepEqual(passwordPolicyProblems('abc'), [
      "the Run:ai admin password needs at least 8 characters, a digit, an upper-case letter, a symbol (Run:ai's password policy)",
    ]);
    assert.deepEqual(passwordPolicyProblems('ABCDEFGH1!'), [
      "the Run:ai admin password needs a lower-case letter (Run:ai's password policy)",
    ]);
  });
});

describe('Run:ai prerequisites the docs give as versions and settings (config/compat.json)', () => {
  it('GPU Operator: the pinned v25.3.3 is supported by one 2.21-era source and not the other: a warning naming both', () => {
    const pinned = manifest.releases.find((r) => r.name === 'gpu-operator')!.version;
    const { problems, warnings } = gpuOperatorFindings('2.21.63', pinned);
    assert.deepEqual(problems, []);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      new RegExp(
        `GPU Operator ${pinned.replace(/\./g, '\\.')} is supported for Run:ai 2\\.21\\.63 by 24\\.9-25\\.3 .* but not by 22\\.9-24\\.6 .*the docs disagree`,
      ),
    );
    for (const version of ['v24.9.2', 'v23.9.1']) {
      const f = gpuOperatorFindings('2.21.63', version);
      assert.deepEqual([f.problems.length, f.warnings.length], [0, 1], version);
    }
  });

  it('GPU Operator outside every documented range stops the phase, named with the ranges', () => {
    assert.match(
      gpuOperatorFindings('2.21.63', 'v26.3.0').problems[0]!,
      /v26\.3\.0 is outside every range documented for Run:ai 2\.21\.63: 22\.9-24\.6 .*; 24\.9-25\.3/,
    );
    const inv = inventory({
      platform: { releases: deployed([...platform]).map((r) => (r.name === 'gpu-operator' ? { ...r, version: 'v26.3.0' } : r)) },
    });
    assert.ok(prerequisiteProblems(inv, spec(), cluster, platform).some((p) => /GPU Operator v26\.3\.0 is outside/.test(p)));
  });

  it('Knative: every feature flag and the autoscaler setting Run:ai asks for, read from the KnativeServing', () => {
    const wanted = compat.runai.lines['2.21'].knativeFeatures;
    const full = { spec: { config: { autoscaler: { ...wanted.autoscaler }, features: { ...wanted.features } } } };
    assert.deepEqual(knativeProblems('2.21.63', full), []);
    const partial = structuredClone(full);
    delete (partial.spec.config.features as Record<string, string>)['kubernetes.podspec-schedulername'];
    partial.spec.config.autoscaler['enable-scale-to-zero'] = 'false';
    assert.deepEqual(knativeProblems('2.21.63', partial), [
      'Knative: KnativeServing knative-serving lacks what Run:ai needs for inference, in spec.config: autoscaler.enable-scale-to-zero: "true", features.kubernetes.podspec-schedulername: enabled',
    ]);
    assert.match(knativeProblems('2.21.63', undefined)[0]!, /no KnativeServing knative-serving\/knative-serving/);
  });

  it('a default IngressClass, by its annotation', () => {
    const nginx = (isDefault?: string) => ({
      metadata: { name: 'nginx', ...(isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': isDefault } } : {}) },
    });
    assert.deepEqual(ingressClassProblems([nginx('true')]), []);
    assert.match(ingressClassProblems([nginx()])[0]!, /no default IngressClass .* among nginx: Run:ai needs one/);
    assert.match(ingressClassProblems([])[0]!, /among none/);
  });
});
