// GPU observability against the real charts we pin: the PrometheusRule we apply validates against the real
// PrometheusRule CRD (kube-prometheus-stack 77.6.2's render) with unknown fields refused; the rule label is the
// one that chart's Prometheus selects rules by; the dashboard label is the one its Grafana sidecar watches; and
// our DCGM metric list is for the exporter version the GPU Operator we pin runs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv, type AnySchema } from 'ajv';
import * as yaml from 'js-yaml';
import { loadSpecFile } from '../../actions/lib/config/load.ts';
import { loadPlatformManifest } from '../../actions/lib/helm/manifest.ts';
import { dcgmMetrics, observabilityManifests } from '../../actions/lib/helm/observability.ts';
import { parseRendered } from '../../actions/lib/helm/rendered.ts';
import { selectPlatform, type Values } from '../../actions/lib/helm/selection.ts';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { gpuNodeFacts } from '../gpu-facts.ts';
import { closed, goRegExp, translated } from './crd.ts';
import { readUpstream } from './upstream.ts';

const manifest = loadPlatformManifest('helm/platform.yaml');
const readValues = (f: string) => (yaml.load(readFileSync(join('helm', f), 'utf8')) ?? {}) as Values;
const selection = selectPlatform(manifest, loadSpecFile('clusters/example.yaml').spec, readValues);
const render = parseRendered(
  readUpstream('charts', 'kube-prometheus-stack', 'render-defaults.yaml'),
  'kube-prometheus-stack/render-defaults.yaml',
);

const inv: Inventory = {
  schemaVersion: 1,
  cluster: 'lab',
  specHash: 'x',
  bcm: { endpoint: 'https://127.0.0.1:8081' },
  nodes: ['dgx-01', 'dgx-02'].map((hostname) => ({
    hostname,
    uuid: hostname,
    mac: '',
    status: 'UP',
    roles: ['worker', 'gpu_worker'],
    address: '',
    network: '',
    addresses: [],
    facts: gpuNodeFacts(8),
    history: [],
  })),
  history: [],
};

describe('GPU observability against the real kube-prometheus-stack', () => {
  const obs = observabilityManifests(selection, inv);
  const rule = obs.manifests.find((m: any) => m.kind === 'PrometheusRule') as any;

  it('the PrometheusRule validates against the real PrometheusRule CRD (v1), unknown fields refused, its Go regexes honoured', () => {
    const crd = render.objects.find(
      (o) => o.kind === 'CustomResourceDefinition' && (o.body?.spec as any)?.names?.kind === 'PrometheusRule',
    );
    assert.ok(crd?.body, 'the render holds the PrometheusRule CRD');
    const v = ((crd.body.spec as any).versions as any[]).find((x) => x.name === 'v1' && x.served);
    assert.equal(rule.apiVersion, `monitoring.coreos.com/${v.name}`);
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp: goRegExp } });
    const validate = ajv.compile(closed(structuredClone(v.schema.openAPIV3Schema)) as AnySchema);
    assert.ok(validate(rule), JSON.stringify(validate.errors));
    assert.ok(translated.length > 0, 'the schema has a (?i) pattern (translated, not ignored)');
    const typo = structuredClone(rule);
    typo.spec.groups[0].rules[0].annotation = typo.spec.groups[0].rules[0].annotations;
    assert.equal(validate(typo), false, 'a misspelt field is refused');
    const badFor = structuredClone(rule);
    badFor.spec.groups[0].rules[0].for = '5 minutes';
    assert.equal(validate(badFor), false, "a duration Prometheus can't read is refused by the CRD's pattern");
  });

  it("the rule label is the one the chart's Prometheus selects rules by, and the namespace is one it searches", () => {
    const prom = render.objects.find((o) => o.kind === 'Prometheus');
    const spec = prom!.body!.spec as any;
    for (const [k, val] of Object.entries(spec.ruleSelector.matchLabels as Record<string, string>))
      assert.equal(rule.metadata.labels[k], val, `PrometheusRule label ${k}`);
    assert.deepEqual(spec.ruleNamespaceSelector, {}, 'every namespace');
  });

  it("the dashboard ConfigMaps carry the label the chart's Grafana sidecar watches, in a namespace it searches", () => {
    const kpsValues = yaml.load(readUpstream('charts', 'kube-prometheus-stack', 'values.yaml')) as any;
    const sidecar = kpsValues.grafana.sidecar.dashboards;
    const maps = obs.manifests.filter((m: any) => m.kind === 'ConfigMap') as any[];
    assert.equal(maps.length, 2);
    for (const m of maps) assert.equal(m.metadata.labels[sidecar.label], String(sidecar.labelValue));
    assert.equal(sidecar.searchNamespace, 'ALL');
  });

  it('our DCGM metric list is for the exporter version the pinned GPU Operator runs', () => {
    const gpuOperator = yaml.load(readUpstream('charts', 'gpu-operator', 'values.yaml')) as any;
    assert.equal(dcgmMetrics('helm').exporter, gpuOperator.dcgmExporter.version);
  });
});
