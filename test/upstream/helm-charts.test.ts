// The platform against the real charts we pin (../shared/upstream/charts: each chart's values.yaml, its
// subcharts' values and its render with defaults and CRDs): the stage parses every real render; every
// values key we set (values files plus what the stage derives for clusters/example.yaml) exists in the
// chart or is in ALLOWED with the template line that reads it; every custom resource we create validates
// against the real CRD with unknown fields refused; the claims in our values files' comments hold.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv, type AnySchema } from 'ajv';
import * as yaml from 'js-yaml';
import { loadSpecFile } from '../../actions/lib/config/load.ts';
import { knativeServingManifests } from '../../actions/lib/helm/knative.ts';
import { loadPlatformManifest } from '../../actions/lib/helm/manifest.ts';
import { parseRendered, type RenderedObject } from '../../actions/lib/helm/rendered.ts';
import { mergeValues, selectPlatform, type Values } from '../../actions/lib/helm/selection.ts';
import { closed } from './crd.ts';
import { readUpstream, upstreamPath } from './upstream.ts';

const manifest = loadPlatformManifest('helm/platform.yaml');
const readValues = (f: string) => (yaml.load(readFileSync(join('helm', f), 'utf8')) ?? {}) as Values;
const selection = selectPlatform(manifest, loadSpecFile('clusters/example.yaml').spec, readValues);
const CHARTS = readdirSync(upstreamPath('charts')).filter((c) => existsSync(upstreamPath('charts', c, 'values.yaml')));
const chartValues = (...p: string[]) => (yaml.load(readUpstream('charts', ...p)) ?? {}) as Values;
const renders = new Map(
  CHARTS.map((c) => [c, parseRendered(readUpstream('charts', c, 'render-defaults.yaml'), `${c}/render-defaults.yaml`)]),
);
const isMap = (v: unknown): v is Values => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/**
 * Keys a chart's templates read that its values.yaml does not list (a path here allows everything below it).
 * Each with the template line that reads it (checked by hand against the chart at the pinned tag) and why.
 */
const ALLOWED: Array<{ chart: string; path: string; template: string; why: string }> = [
  {
    chart: 'gpu-operator',
    path: 'validator.driver',
    template:
      'templates/clusterpolicy.yaml: {{- if .Values.validator.driver.env }} env: {{ toYaml .Values.validator.driver.env | nindent 8 }}',
    why: 'DISABLE_DEV_CHAR_SYMLINK_CREATION for the driver validation on DGX OS (driver preinstalled); the values file lists only validator.plugin',
  },
  {
    chart: 'kube-prometheus-stack',
    path: 'grafana.grafana.ini.server',
    template:
      'grafana chart templates/_config.tpl: {{- range $key, $value := index .Values "grafana.ini" }} (every section and key becomes grafana.ini)',
    why: "grafana.ini is Grafana's own configuration, free-form: root_url and serve_from_sub_path serve Grafana under /grafana/",
  },
];
const allowed = (chart: string, path: string) =>
  ALLOWED.some((a) => a.chart === chart && (path === a.path || path.startsWith(`${a.path}.`)));

/** The values a chart knows: its values.yaml, each subchart's under its key (the parent's settings over it). */
function knownValues(chart: string): Values {
  const top = chartValues(chart, 'values.yaml');
  const dir = upstreamPath('charts', chart, 'subcharts');
  if (!existsSync(dir)) return top;
  const subs = Object.fromEntries(
    readdirSync(dir).map((s) => [s, mergeValues(chartValues(chart, 'subcharts', s, 'values.yaml'), (top[s] ?? {}) as Values)]),
  );
  return { ...top, ...subs };
}

/**
 * Every key path of `ours` the chart does not know: absent from `known` (where known is a non-empty map),
 * or a map where the chart has a scalar or list. An empty map or null in the chart is free-form.
 */
function unknownKeys(chart: string, ours: Values, known: Values, at = ''): string[] {
  return Object.entries(ours).flatMap(([k, v]) => {
    const path = at ? `${at}.${k}` : k;
    if (!at && k === 'global') return [];
    if (allowed(chart, path)) return [];
    if (!(k in known)) return [`${chart}: ${path} is not in the chart's values.yaml`];
    const theirs = known[k];
    if (theirs === null || theirs === undefined || !isMap(v)) return [];
    if (!isMap(theirs)) return [`${chart}: ${path} is a mapping in our values, but ${JSON.stringify(theirs).slice(0, 40)} in the chart's`];
    return Object.keys(theirs).length ? unknownKeys(chart, v, theirs, path) : [];
  });
}

/** Every key path in a values tree (maps only), dotted. */
const keyPaths = (v: Values, at = ''): string[] =>
  Object.entries(v).flatMap(([k, x]) => [`${at}${k}`, ...(isMap(x) ? keyPaths(x, `${at}${k}.`) : [])]);

const released = (name: string) => selection.releases.find((r) => r.release.name === name)!;

/** A CRD's schema for `kind` (served version) with every object refusing fields it does not declare. */
function crdSchema(chart: string, kind: string, version?: string): Values {
  const crd = renders
    .get(chart)!
    .objects.find(
      (o) =>
        o.kind === 'CustomResourceDefinition' && (o.body?.spec as Values | undefined)?.names && (o.body!.spec as any).names.kind === kind,
    );
  assert.ok(crd?.body, `${chart}: the render holds the ${kind} CRD, parsed in full`);
  const versions = (crd.body.spec as any).versions as Array<{ name: string; served: boolean; schema: { openAPIV3Schema: Values } }>;
  const v = versions.find((x) => (version ? x.name === version : x.served))!;
  return closed(structuredClone(v.schema.openAPIV3Schema));
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
function schemaErrors(schema: Values, doc: unknown): string[] {
  const validate = ajv.compile(schema as AnySchema);
  return validate(doc)
    ? []
    : (validate.errors ?? []).map(
        (e) =>
          `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` '${e.params.additionalProperty}'` : ''}`,
      );
}

describe('the real charts at our pinned versions', () => {
  it('our pins are the real charts: every upstream chart folder is a release of helm/platform.yaml at its version', () => {
    for (const c of CHARTS) {
      const r = manifest.releases.find((x) => x.chart === c);
      assert.ok(r, `${c} is in helm/platform.yaml`);
      const reported = String((yaml.load(readUpstream('charts', c, 'Chart.yaml')) as Values).version);
      assert.equal(reported.replace(/^v/, ''), r.version.replace(/^v/, ''), `${c} pinned at the version its Chart.yaml reports`);
    }
    assert.deepEqual(CHARTS.sort(), [
      'gpu-operator',
      'ingress-nginx',
      'knative-operator',
      'kube-prometheus-stack',
      'metrics-server',
      'prometheus-adapter',
    ]);
  });

  it("every render-defaults.yaml goes through the stage's own render parsing: every document, kind and name, no warnings", () => {
    for (const [c, r] of renders) {
      const text = readUpstream('charts', c, 'render-defaults.yaml');
      const sources = text.match(/^# Source: /gm)?.length ?? 0;
      assert.deepEqual(r.warnings, [], c);
      assert.ok(r.objects.length >= sources * 0.9 && r.objects.length > 5, `${c}: ${r.objects.length} objects for ${sources} sources`);
      assert.ok(
        r.objects.every((o) => o.kind && o.name && o.body),
        `${c}: every object has a kind and a name`,
      );
    }
    const knativeCrds = renders.get('knative-operator')!.objects.filter((o) => o.kind === 'CustomResourceDefinition');
    assert.deepEqual(knativeCrds.map((o) => o.name).sort(), [
      'knativeeventings.operator.knative.dev',
      'knativeservings.operator.knative.dev',
    ]);
  });

  it("every key our values files and the stage's overrides set exists in the chart's values.yaml (or a subchart's), or is allowed with its template line", () => {
    const problems = CHARTS.flatMap((c) =>
      unknownKeys(c, released(manifest.releases.find((r) => r.chart === c)!.name).values, knownValues(c)),
    );
    assert.deepEqual(problems, []);
    for (const a of ALLOWED) {
      assert.ok(a.template && a.why, `${a.chart} ${a.path}: allowed with the template line and why`);
      const release = manifest.releases.find((r) => r.chart === a.chart)!.name;
      const ours = keyPaths(released(release).values).some((p) => p === a.path || p.startsWith(`${a.path}.`));
      assert.ok(ours, `${a.chart} ${a.path}: an allowlist entry we use (remove it when the values no longer set it)`);
    }
  });

  it('a misspelled key fails the check, naming the chart and the key path (in a subchart too)', () => {
    const ingress = released('ingress-nginx').values;
    const typo = mergeValues(ingress, { controller: { ingressClassResource: { defualt: true } } });
    assert.deepEqual(unknownKeys('ingress-nginx', typo, knownValues('ingress-nginx')), [
      "ingress-nginx: controller.ingressClassResource.defualt is not in the chart's values.yaml",
    ]);
    const kps = mergeValues(released('kube-prometheus-stack').values, { grafana: { admin: { existingSecrett: 'x' } } });
    assert.deepEqual(unknownKeys('kube-prometheus-stack', kps, knownValues('kube-prometheus-stack')), [
      "kube-prometheus-stack: grafana.admin.existingSecrett is not in the chart's values.yaml",
    ]);
    const gpu = mergeValues(released('gpu-operator').values, { driver: { enabled: { x: 1 } } });
    assert.deepEqual(unknownKeys('gpu-operator', gpu, knownValues('gpu-operator')), [
      "gpu-operator: driver.enabled is a mapping in our values, but true in the chart's",
    ]);
    const knative = { knative_operator: { knative_operator: { tolerations: [] } }, tolerations: [] };
    assert.deepEqual(unknownKeys('knative-operator', knative, knownValues('knative-operator')), [
      "knative-operator: knative_operator.knative_operator.tolerations is not in the chart's values.yaml",
      "knative-operator: tolerations is not in the chart's values.yaml",
    ]);
  });

  it('the node-exporter ServiceMonitor relabelings in our values validate against the real ServiceMonitor CRD (snake_case refused)', () => {
    const endpoint = (crdSchema('kube-prometheus-stack', 'ServiceMonitor') as any).properties.spec.properties.endpoints.items;
    const relabelings = endpoint.properties.relabelings as Values;
    const ours = (released('kube-prometheus-stack').values as any)['prometheus-node-exporter'].prometheus.monitor.relabelings;
    assert.ok(ours.length > 0);
    assert.deepEqual(schemaErrors(relabelings, ours), []);
    assert.deepEqual(
      schemaErrors(relabelings, [{ source_labels: ['__meta_kubernetes_pod_node_name'], action: 'replace', target_label: 'n' }]),
      ["/0 must NOT have additional properties 'source_labels'", "/0 must NOT have additional properties 'target_label'"],
    );
  });

  it("our Prometheus and Alertmanager settings are fields of the real CRDs' spec (the chart copies prometheusSpec/alertmanagerSpec into them)", () => {
    const kps = released('kube-prometheus-stack').values as any;
    // storageSpec becomes spec.storage; additionalScrapeConfigs becomes a Secret the chart references.
    const renamed: Record<string, string | undefined> = { storageSpec: 'storage', additionalScrapeConfigs: undefined };
    for (const [kind, ours] of [
      ['Prometheus', kps.prometheus.prometheusSpec],
      ['Alertmanager', kps.alertmanager.alertmanagerSpec],
    ] as const) {
      const spec = (crdSchema('kube-prometheus-stack', kind) as any).properties.spec;
      const fields = Object.fromEntries(
        Object.entries(ours as Values).flatMap(([k, v]) => (k in renamed ? (renamed[k] ? [[renamed[k], v]] : []) : [[k, v]])),
      );
      assert.deepEqual(schemaErrors(spec, fields), [], kind);
    }
  });

  it('the KnativeServing we apply validates against the real CRD (v1beta1) with unknown fields refused: Kourier, its ingress class, the feature flags', () => {
    const ks = knativeServingManifests('1.16')[1] as Values;
    const schema = crdSchema('knative-operator', 'KnativeServing', 'v1beta1');
    assert.deepEqual(schemaErrors(schema, ks), []);
    assert.deepEqual(schemaErrors(schema, { ...ks, spec: { ...(ks.spec as Values), ingress: { kurier: { enabled: true } } } }), [
      "/spec/ingress must NOT have additional properties 'kurier'",
    ]);
    const spec = ks.spec as any;
    assert.equal(spec.ingress.kourier.enabled, true);
    assert.equal(spec.config.network['ingress-class'], 'kourier.ingress.networking.knative.dev');
    assert.equal(spec.config.features['kubernetes.podspec-schedulername'], 'enabled');
  });

  it("the values files' comments hold against the real charts", () => {
    const find = (c: string, kind: string, name: string): RenderedObject | undefined =>
      renders.get(c)!.objects.find((o) => o.kind === kind && o.name === name);
    // ingress-nginx: controller.service.type NodePort with nodePorts http/https; on 443 (the default front door) a
    // DaemonSet with host ports http/https; ingressClassResource nginx, default.
    const ingress = knownValues('ingress-nginx') as any;
    assert.deepEqual(Object.keys(ingress.controller.service.nodePorts).slice(0, 2), ['http', 'https']);
    assert.deepEqual([ingress.controller.kind, ingress.controller.hostPort.ports], ['Deployment', { http: 80, https: 443 }]);
    assert.equal(ingress.controller.ingressClassResource.name, 'nginx');
    assert.equal(ingress.controller.ingressClassResource.default, false, 'the chart does not make it the default: we do');
    const ours = released('ingress-nginx').values as any;
    assert.deepEqual(
      [ours.controller.kind, ours.controller.hostPort, ours.controller.service.type, ours.controller.service.nodePorts.http],
      ['DaemonSet', { enabled: true, ports: { http: 80, https: 443 } }, 'NodePort', 30080],
    );
    assert.equal(ours.controller.ingressClassResource.default, true);
    // Grafana reads its admin login from admin.existingSecret with these key names.
    const grafana = knownValues('kube-prometheus-stack').grafana as any;
    const kps = released('kube-prometheus-stack').values as any;
    assert.deepEqual([grafana.admin.userKey, grafana.admin.passwordKey], [kps.grafana.admin.userKey, kps.grafana.admin.passwordKey]);
    assert.ok('existingSecret' in grafana.admin);
    // prometheus-adapter's URL is the real kube-prometheus-stack Prometheus Service, port 9090.
    const svc = find('kube-prometheus-stack', 'Service', 'kube-prometheus-stack-prometheus');
    assert.ok(svc, 'the Service kube-prometheus-stack-prometheus');
    assert.ok(((svc.body!.spec as any).ports as Array<{ port: number }>).some((p) => p.port === 9090));
    const adapter = released('prometheus-adapter').values as any;
    assert.equal(adapter.prometheus.url, `http://${svc.name}.${released('kube-prometheus-stack').release.namespace}.svc`);
    assert.equal(adapter.prometheus.port, 9090);
    // DCGM: Prometheus selects ServiceMonitors by the release label, which the GPU Operator's does not carry
    // (its values add none by default); we keep the ServiceMonitor off and the gpu-metrics job on.
    const prom = find('kube-prometheus-stack', 'Prometheus', 'kube-prometheus-stack-prometheus')!;
    assert.deepEqual((prom.body!.spec as any).serviceMonitorSelector, { matchLabels: { release: 'kube-prometheus-stack' } });
    assert.deepEqual((knownValues('gpu-operator') as any).dcgmExporter.serviceMonitor.additionalLabels, {});
    const gpu = released('gpu-operator').values as any;
    assert.equal(gpu.dcgmExporter.serviceMonitor.enabled, false);
    const jobs = kps.prometheus.prometheusSpec.additionalScrapeConfigs as Array<any>;
    assert.deepEqual(
      jobs.map((j) => j.job_name),
      ['gpu-metrics'],
    );
    // kube-proxy and etcd monitors off: the keys are the chart's, on by default.
    const known = knownValues('kube-prometheus-stack') as any;
    assert.deepEqual(
      [known.kubeProxy.enabled, known.kubeEtcd.enabled, kps.kubeProxy.enabled, kps.kubeEtcd.enabled],
      [true, true, false, false],
    );
    // knative-operator v1.16.0 reads no tolerations: none in its values or on its Deployments.
    assert.ok(!readUpstream('charts', 'knative-operator', 'values.yaml').includes('tolerations'));
    for (const d of renders.get('knative-operator')!.objects.filter((o) => o.kind === 'Deployment'))
      assert.equal((d.body as any).spec.template.spec.tolerations, undefined, d.name);
    assert.deepEqual(released('knative-operator').values, {});
  });
});
