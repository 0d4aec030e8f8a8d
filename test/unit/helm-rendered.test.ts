// Helm's output as the stage reads it (helm template, helm get manifest): document by document, never
// crashing on YAML that Go accepts; and the Knative Serving the stage applies and waits for.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { knativeServingManifests, RUNAI_KNATIVE_FEATURES, waitForKnativeServing } from '../../actions/lib/helm/knative.ts';
import { indentQuotedContinuations, parseRendered } from '../../actions/lib/helm/rendered.ts';
import { tempDir } from '../temp-dirs.ts';

// As the real knative-operator v1.16.0 chart renders its CRDs: a quoted description continued at the
// key's own indentation (Go's YAML accepts it; js-yaml says "deficient indentation").
const KNATIVE_LIKE = `---
# Source: knative-operator/templates/operator.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: knativeservings.operator.knative.dev
spec:
  versions:
    - schema:
        openAPIV3Schema:
          properties:
            initialDelaySeconds:
              description: 'Number of seconds after the container has
              started before liveness probes are initiated. It''s
              "quoted" here'
              type: integer
            other:
              description: "a \\"double\\" one
              continued"
              type: string
---
# Source: only/a/comment.yaml
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: with-anchors
rules: &rules
  - apiGroups: [""]
    resources: [pods]
    verbs: [get]
aggregated: *rules
`;

describe('reading Helm output', () => {
  it('reads a CRD whose quoted description continues at the key’s indentation, with the value Go would read', () => {
    const r = parseRendered(KNATIVE_LIKE, 'knative-operator: helm template');
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(
      r.objects.map((o) => `${o.kind}/${o.name}`),
      ['CustomResourceDefinition/knativeservings.operator.knative.dev', 'ClusterRole/with-anchors'],
      'the comment-only document is no object',
    );
    const props = (r.objects[0]!.body as any).spec.versions[0].schema.openAPIV3Schema.properties;
    assert.equal(
      props.initialDelaySeconds.description,
      'Number of seconds after the container has started before liveness probes are initiated. It\'s "quoted" here',
    );
    assert.equal(props.other.description, 'a "double" one continued');
    assert.deepEqual((r.objects[1]!.body as any).aggregated, (r.objects[1]!.body as any).rules, 'anchors, as charts use them');
    assert.equal(indentQuotedContinuations('a: b\nc: d\n'), 'a: b\nc: d\n', 'other text is left alone');
  });

  it('a document no parser accepts keeps its kind, name and namespace, with a warning naming it; the rest are read in full', () => {
    const text = `kind: ConfigMap\nmetadata:\n  name: broken\n  namespace: ns1\n  labels: {a: [}\n---\nkind: Service\nmetadata:\n  name: fine\n`;
    const r = parseRendered(text, 'x: helm template');
    assert.deepEqual(
      r.objects.map((o) => [o.kind, o.name, o.namespace, Boolean(o.body)]),
      [
        ['ConfigMap', 'broken', 'ns1', false],
        ['Service', 'fine', undefined, true],
      ],
    );
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /^x: helm template: document 1 \(ConfigMap\/broken\) read only for its kind, name and namespace: /);
  });
});

describe('Knative Serving for Run:ai', () => {
  it('KnativeServing uses Kourier (not Istio), its ingress class, and Run:ai’s feature flags and scale-to-zero', () => {
    const [ns, ks] = knativeServingManifests('1.16') as any[];
    assert.equal(ns.metadata.name, 'knative-serving');
    assert.deepEqual(ks.spec.ingress, { kourier: { enabled: true } });
    assert.equal(ks.spec.config.network['ingress-class'], 'kourier.ingress.networking.knative.dev');
    assert.equal(ks.spec.config.features['kubernetes.podspec-schedulername'], 'enabled');
    assert.equal(Object.keys(RUNAI_KNATIVE_FEATURES).length, 11);
    assert.deepEqual(ks.spec.config.autoscaler, { 'enable-scale-to-zero': 'true' });
  });

  it('waits for Ready; on a timeout names it and keeps the resource for inspection', async () => {
    const dir = tempDir('knative-');
    const kubectl = join(dir, 'kubectl');
    writeFileSync(
      kubectl,
      `#!/bin/sh\necho "$@" > ${dir}/argv\necho 'error: timed out waiting for the condition on knativeservings/knative-serving' >&2\nexit 1\n`,
    );
    chmodSync(kubectl, 0o755);
    const t = { helm: 'helm', kubectl, kubeconfig: join(dir, 'kc'), env: process.env };
    await assert.rejects(
      waitForKnativeServing(t, 7),
      /KnativeServing knative-serving\/knative-serving was not Ready within 7s \(platform\.verify\.timeout_seconds\): error: timed out waiting for the condition.*; it is kept for inspection: kubectl -n knative-serving get knativeserving\/knative-serving -o yaml/,
    );
    assert.match(
      readFileSync(join(dir, 'argv'), 'utf8'),
      /wait knativeserving\/knative-serving --namespace knative-serving --for=condition=Ready --timeout=7s/,
    );
  });
});
