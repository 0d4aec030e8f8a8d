// What helm-platform installs for a spec: overrides, derived values, off releases and what needs them, the
// plan per release (install / upgrade / unchanged) and the values files' content.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { findInlineSecrets } from '../../actions/lib/config/semantics.ts';
import { parseSpec } from '../../actions/lib/config/load.ts';
import type { ClusterSpec } from '../../actions/lib/config/types.ts';
import { namespaceConflicts, planChange, sameChartVersion } from '../../actions/lib/helm/changes.ts';
import { canonicalJson } from '../../actions/lib/util/canonical-json.ts';
import { chartSource, repoName } from '../../actions/lib/helm/charts.ts';
import { allocatableGpus, defaultClassChanges, workloadsOf } from '../../actions/lib/helm/cluster.ts';
import { loadPlatformManifest } from '../../actions/lib/helm/manifest.ts';
import { mergeValues, platformSteps, selectPlatform, type Values } from '../../actions/lib/helm/selection.ts';
import { grafanaSecretRef } from '../../actions/lib/stages/platform.ts';

const manifest = loadPlatformManifest('helm/platform.yaml');
const readValues = (f: string) => (yaml.load(readFileSync(join('helm', f), 'utf8')) ?? {}) as Values;
const baseSpec = readFileSync('clusters/example.yaml', 'utf8');

/** The example spec with `extra` (YAML) merged over it. */
function spec(extra = ''): ClusterSpec {
  const doc = mergeValues(yaml.load(baseSpec) as Values, (extra ? yaml.load(extra) : {}) as Values);
  return parseSpec(yaml.dump(doc), 'spec.yaml').spec;
}
const select = (extra = '') => selectPlatform(manifest, spec(extra), readValues);

describe('platform selection', () => {
  it('by default installs every release of the manifest in dependency order, plus the default StorageClass, KnativeServing and the GPU alerts and dashboards', () => {
    const sel = select();
    const names = sel.releases.map((r) => r.release.name);
    assert.equal(names.length, 8);
    for (const r of sel.releases) for (const n of r.release.needs) assert.ok(names.indexOf(n) < names.indexOf(r.release.name));
    assert.deepEqual(
      sel.extras.map((e) => `${e.name}<${e.needs.join(',')}`),
      ['default-storageclass<local-path-provisioner', 'knative-serving<knative-operator', 'gpu-observability<kube-prometheus-stack'],
    );
    assert.equal(sel.knativeServingVersion, '1.16');
    assert.deepEqual(sel.off, []);
    assert.equal(platformSteps(sel).length, 11);
  });

  it('derives values from the spec: GPU driver, ingress HTTPS port = runai.ingress_port (443: host ports on every node)', () => {
    const sel = select(
      'platform:\n  gpu_driver: true\n  releases:\n    kube-prometheus-stack: { enabled: false }\n    prometheus-adapter: { enabled: false }\nrunai:\n  ingress_port: 31443\n',
    );
    const gpu = sel.releases.find((r) => r.release.name === 'gpu-operator')!;
    assert.deepEqual(gpu.overrides, { driver: { enabled: true } });
    assert.equal((gpu.values.driver as Values).enabled, true);
    assert.deepEqual((gpu.values.driver as Values).rdma, { enabled: false }, 'the values file survives the merge');
    const ingress = sel.releases.find((r) => r.release.name === 'ingress-nginx')!;
    assert.deepEqual(((ingress.values.controller as Values).service as Values).nodePorts, { http: 30080, https: 31443 });
    const onDefault = select().releases.find((r) => r.release.name === 'ingress-nginx')!;
    assert.deepEqual(onDefault.overrides, {
      controller: { kind: 'DaemonSet', hostPort: { enabled: true, ports: { http: 80, https: 443 } } },
    });
    assert.equal((((onDefault.values.controller as Values).service as Values).nodePorts as Values).https, undefined, 'no NodePort 443');
    assert.equal((select().releases.find((r) => r.release.name === 'gpu-operator')!.overrides.driver as Values).enabled, false);
  });

  it('DCGM metrics reach Prometheus through one path: the gpu-metrics scrape job, never also the operator’s ServiceMonitor', () => {
    const gpu = select().releases.find((r) => r.release.name === 'gpu-operator')!.values as any;
    const kps = select().releases.find((r) => r.release.name === 'kube-prometheus-stack')!.values as any;
    assert.deepEqual([gpu.dcgmExporter.enabled, gpu.dcgmExporter.serviceMonitor.enabled], [true, false]);
    const jobs = kps.prometheus.prometheusSpec.additionalScrapeConfigs;
    assert.deepEqual(
      jobs.map((j: any) => j.job_name),
      ['gpu-metrics'],
    );
    assert.ok(
      jobs[0].relabel_configs.some((r: any) => r.action === 'keep' && r.regex === 'nvidia-dcgm-exporter'),
      'only the DCGM exporter endpoints',
    );
    assert.ok(jobs[0].relabel_configs.some((r: any) => r.target_label === 'kubernetes_node'));
  });

  it("the spec's version and values override the manifest's; lists are replaced, maps merged (Helm's rule)", () => {
    const sel = select(
      "platform:\n  releases:\n    metrics-server:\n      version: 3.12.2\n      values:\n        replicas: 3\n        defaultArgs: ['--cert-dir=/tmp']\n",
    );
    const ms = sel.releases.find((r) => r.release.name === 'metrics-server')!;
    assert.equal(ms.release.version, '3.12.2');
    assert.equal(ms.versionFrom, 'spec');
    assert.equal(ms.values.replicas, 3);
    assert.deepEqual(ms.values.defaultArgs, ['--cert-dir=/tmp']);
    assert.equal(ms.values.containerPort, 4443);
    assert.deepEqual(mergeValues({ a: { b: 1, c: [1, 2] } }, { a: { c: [3], d: null } }), { a: { b: 1, c: [3], d: null } });
  });

  it('platform.ingress: none turns ingress-nginx off and says Run:ai will need an ingress', () => {
    const sel = select('platform:\n  ingress: none\n');
    assert.deepEqual(sel.off, [{ name: 'ingress-nginx', why: 'platform.ingress: none' }]);
    assert.ok(!sel.releases.some((r) => r.release.name === 'ingress-nginx'));
    assert.equal(sel.warnings.length, 2);
    assert.match(sel.warnings[0]!, /runai-backend \(runai stage\) needs ingress-nginx, which is off here.*retired upstream in March 2026/);
    assert.deepEqual(select('platform:\n  ingress: none\nrunai:\n  enabled: false\n').warnings, []);
  });

  it('refuses a release that needs one that is off, naming both and the fix; nothing is selected', () => {
    assert.throws(
      () => select('platform:\n  releases:\n    local-path-provisioner: { enabled: false }\n'),
      (e: Error) =>
        /ingress-nginx needs local-path-provisioner, which is off \(platform\.releases\.local-path-provisioner\.enabled: false\): turn ingress-nginx off too/.test(
          e.message,
        ) && /kube-prometheus-stack needs local-path-provisioner/.test(e.message),
    );
    const ok = select(
      'platform:\n  releases:\n    local-path-provisioner: { enabled: false }\n    ingress-nginx: { enabled: false }\n    kube-prometheus-stack: { enabled: false }\n    prometheus-adapter: { enabled: false }\n',
    );
    assert.deepEqual(
      ok.extras.map((e) => e.name),
      ['knative-serving'],
      'no default StorageClass step without local-path',
    );
  });

  it('refuses unknown release names (with a suggestion), unpinned versions, ingress both none and on, and Knative outside Run:ai’s range', () => {
    assert.throws(
      () => select('platform:\n  releases:\n    gpu-operater: { enabled: false }\n'),
      /platform\.releases\.gpu-operater: no release 'gpu-operater' in helm\/platform\.yaml \(did you mean gpu-operator\?\)/,
    );
    assert.throws(
      () => select('platform:\n  releases:\n    lws: { version: latest }\n'),
      /platform\.releases\.lws\.version: 'latest' must be a pinned chart version/,
    );
    assert.throws(
      () => select('platform:\n  ingress: none\n  releases:\n    ingress-nginx: { enabled: true }\n'),
      /platform\.releases\.ingress-nginx\.enabled is true but platform\.ingress is none/,
    );
    assert.throws(
      () => select('platform:\n  releases:\n    knative-operator: { version: v1.19.2 }\n'),
      /knative-operator v1\.19\.2 installs Knative Serving 1\.19, but Run:ai 2\.21 supports Serving 1\.11–1\.16/,
    );
    assert.equal(
      select('platform:\n  releases:\n    knative-operator: { version: v1.19.2 }\nrunai:\n  enabled: false\n').knativeServingVersion,
      '1.19',
    );
    assert.doesNotThrow(
      () => select('platform:\n  releases:\n    runai-backend: { values: { a: 1 } }\n'),
      'Run:ai releases are known names',
    );
  });

  it('refuses a values file that holds a secret, naming the file and key', () => {
    const leaky = (f: string) => (f === 'values/kube-prometheus-stack.yaml' ? { grafana: { adminPassword: 'admin' } } : readValues(f));
    assert.throws(
      () => selectPlatform(manifest, spec(), leaky),
      /helm\/values\/kube-prometheus-stack\.yaml: grafana\.adminPassword holds a value; secrets never go in values files/,
    );
  });

  it("Grafana's login comes from the Secret the values name; turning the reference off is refused", () => {
    assert.deepEqual(grafanaSecretRef(select()), {
      namespace: 'prometheus',
      name: 'grafana-admin',
      userKey: 'admin-user',
      passwordKey: 'admin-password',
    });
    assert.equal(
      grafanaSecretRef(select('platform:\n  releases:\n    kube-prometheus-stack: { values: { grafana: { enabled: false } } }\n')),
      undefined,
    );
    assert.throws(
      () =>
        grafanaSecretRef(
          select("platform:\n  releases:\n    kube-prometheus-stack: { values: { grafana: { admin: { existingSecret: '' } } } }\n"),
        ),
      /grafana\.admin\.existingSecret is empty/,
    );
  });
});

describe('plan per release', () => {
  const sel = select();
  const ms = sel.releases.find((r) => r.release.name === 'metrics-server')!;
  const deployed = { name: 'metrics-server', namespace: 'kube-system', chart: 'metrics-server-3.13.0', status: 'deployed', revision: 2 };

  it('install when absent, unchanged when version, values and status match, upgrade saying why otherwise', () => {
    assert.deepEqual(planChange(ms, undefined, undefined), { action: 'install' });
    assert.deepEqual(planChange(ms, deployed, JSON.parse(JSON.stringify(ms.values))), { action: 'unchanged', version: '3.13.0' });
    assert.deepEqual(planChange(ms, { ...deployed, chart: 'metrics-server-3.12.1' }, ms.values), {
      action: 'upgrade',
      from: '3.12.1',
      to: '3.13.0',
      why: ['chart 3.12.1 → 3.13.0'],
    });
    assert.deepEqual(planChange(ms, { ...deployed, status: 'failed' }, { ...ms.values, replicas: 1 }), {
      action: 'upgrade',
      from: '3.13.0',
      to: '3.13.0',
      why: ['values changed', 'last status failed'],
    });
    const gpu = sel.releases.find((r) => r.release.name === 'gpu-operator')!;
    assert.equal(planChange(gpu, { ...deployed, name: 'gpu-operator', chart: 'gpu-operator-v25.3.3' }, gpu.values).action, 'unchanged');
    assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] }), canonicalJson({ a: [{ c: 2, d: 1 }], b: 1 }));
  });

  it('compares versions as charts report them: pinned v1.16.0 is the knative-operator archive’s 1.16.0 (unchanged, no upgrade every run)', () => {
    const kn = sel.releases.find((r) => r.release.name === 'knative-operator')!;
    assert.equal(kn.release.version, 'v1.16.0');
    const at = { name: 'knative-operator', namespace: 'knative-operator', status: 'deployed', revision: 1 };
    assert.deepEqual(planChange(kn, { ...at, chart: 'knative-operator-1.16.0' }, kn.values), { action: 'unchanged', version: '1.16.0' });
    assert.deepEqual(planChange(kn, { ...at, chart: 'knative-operator-1.15.2' }, kn.values), {
      action: 'upgrade',
      from: '1.15.2',
      to: 'v1.16.0',
      why: ['chart 1.15.2 → v1.16.0'],
    });
    assert.ok(sameChartVersion('v25.3.3', '25.3.3') && sameChartVersion('1.0.0', '1.0.0'));
    assert.ok(!sameChartVersion('1.16.0', '1.16.1') && !sameChartVersion('1.0.0+a', '1.0.0+b') && !sameChartVersion('1.0.0-rc.1', '1.0.0'));
  });

  it('refuses a release Helm has in another namespace, saying how to fix it', () => {
    assert.throws(
      () => namespaceConflicts(sel.releases, [{ ...deployed, namespace: 'monitoring' }]),
      /metrics-server is installed in namespace monitoring, but helm\/platform\.yaml puts it in kube-system: uninstall it first \(helm uninstall metrics-server -n monitoring\)/,
    );
  });

  it('charts come from the mirror when set (one repository), else from each release’s repository; OCI stays OCI', () => {
    const lws = sel.releases.find((r) => r.release.name === 'lws')!;
    assert.deepEqual(chartSource(lws), { ref: 'oci://registry.k8s.io/lws/charts/lws' });
    assert.deepEqual(chartSource(ms), {
      ref: 'kubernetes-sigs-github-io-metrics-server/metrics-server',
      repo: { name: 'kubernetes-sigs-github-io-metrics-server', url: 'https://kubernetes-sigs.github.io/metrics-server' },
    });
    assert.deepEqual(chartSource(lws, 'https://mirror.example/charts/'), {
      ref: 'bcmkube-mirror/lws',
      repo: { name: 'bcmkube-mirror', url: 'https://mirror.example/charts' },
    });
    assert.deepEqual(chartSource(ms, 'oci://harbor.example/platform'), { ref: 'oci://harbor.example/platform/metrics-server' });
    assert.equal(repoName('https://charts.containeroo.ch'), 'charts-containeroo-ch');
  });
});

describe('cluster checks (pure parts)', () => {
  it('local-path becomes the only default StorageClass', () => {
    assert.deepEqual(
      defaultClassChanges(
        [
          { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
          { name: 'local-path', annotations: {} },
        ],
        'local-path',
      ),
      [
        { name: 'standard', value: 'false' },
        { name: 'local-path', value: 'true' },
      ],
    );
    assert.deepEqual(
      defaultClassChanges([{ name: 'local-path', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }], 'local-path'),
      [],
    );
    assert.throws(() => defaultClassChanges([], 'local-path'), /StorageClass local-path does not exist/);
  });

  it('finds the workloads of a release manifest (Prometheus and Alertmanager too: their StatefulSets come from the operator) and the GPUs each node advertises', () => {
    const manifestText =
      'kind: Deployment\nmetadata: {name: a}\n---\nkind: Service\nmetadata: {name: s}\n---\nkind: DaemonSet\nmetadata: {name: d, namespace: other}\n' +
      '---\n# Source: kube-prometheus-stack/templates/prometheus/prometheus.yaml\nkind: Prometheus\nmetadata:\n  name: kps-prometheus\n  namespace: prometheus\n' +
      '---\nkind: Alertmanager\nmetadata: {name: kps-alertmanager}\n---\nkind: StatefulSet\nmetadata: {name: st}\n';
    assert.deepEqual(workloadsOf(manifestText, 'ns'), [
      { kind: 'deployment', name: 'a', namespace: 'ns', how: 'rollout' },
      { kind: 'daemonset', name: 'd', namespace: 'other', how: 'rollout' },
      { kind: 'prometheuses.monitoring.coreos.com', name: 'kps-prometheus', namespace: 'prometheus', how: 'available' },
      { kind: 'alertmanagers.monitoring.coreos.com', name: 'kps-alertmanager', namespace: 'ns', how: 'available' },
      { kind: 'statefulset', name: 'st', namespace: 'ns', how: 'rollout' },
    ]);
    const nodes = JSON.stringify({
      items: [
        { metadata: { name: 'dgx-05' }, status: { allocatable: { 'nvidia.com/gpu': '8' } } },
        { metadata: { name: 'dgx-06' }, status: { allocatable: {} } },
      ],
    });
    assert.deepEqual(allocatableGpus(nodes, ['dgx-05', 'dgx-06', 'dgx-07']), { 'dgx-05': 8, 'dgx-06': 0, 'dgx-07': undefined });
  });
});

describe('helm/values', () => {
  const files = readdirSync('helm/values').filter((f) => f.endsWith('.yaml') && !f.startsWith('runai-'));

  it('one values file per platform release, none holding a secret', () => {
    assert.deepEqual(files.sort(), manifest.releases.map((r) => r.values.replace('values/', '')).sort());
    for (const f of files) assert.deepEqual(findInlineSecrets(readValues(`values/${f}`)), [], f);
  });

  it("carries what the predecessor needed: GPU Operator's DCGM, CDI, MIG and volume-mounts pairing; Prometheus on local-path; metrics-server args; tolerations", () => {
    const gpu = readValues('values/gpu-operator.yaml') as any;
    assert.deepEqual(
      [gpu.cdi.enabled, gpu.cdi.default, gpu.mig.strategy, gpu.dcgmExporter.enabled, gpu.toolkit.enabled],
      [true, false, 'single', true, true],
    );
    assert.deepEqual(gpu.devicePlugin.env, [{ name: 'DEVICE_LIST_STRATEGY', value: 'volume-mounts' }]);
    assert.ok(gpu.toolkit.env.some((e: any) => e.name === 'ACCEPT_NVIDIA_VISIBLE_DEVICES_AS_VOLUME_MOUNTS' && e.value === 'true'));
    const kps = readValues('values/kube-prometheus-stack.yaml') as any;
    assert.equal(kps.prometheus.prometheusSpec.retention, '15d');
    assert.equal(kps.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName, 'local-path');
    assert.equal(kps.grafana.admin.existingSecret, 'grafana-admin');
    assert.ok(!JSON.stringify(kps).includes('adminPassword'));
    const ms = readValues('values/metrics-server.yaml') as any;
    assert.ok(ms.defaultArgs.includes('--kubelet-insecure-tls'));
    const lp = readValues('values/local-path-provisioner.yaml') as any;
    assert.deepEqual([lp.storageClass.defaultClass, lp.storageClass.name], [true, 'local-path']);
    const ingress = readValues('values/ingress-nginx.yaml') as any;
    assert.deepEqual([ingress.controller.service.type, ingress.controller.service.nodePorts.http], ['NodePort', 30080]);
    assert.equal(ingress.controller.ingressClassResource.default, true, 'Run:ai needs a default IngressClass');
    assert.deepEqual(lp.helperImage, { repository: 'docker.io/library/busybox', tag: '1.37.0' }, 'a pinned helper image, not latest');
    assert.deepEqual(
      [kps.kubeProxy.enabled, kps.kubeEtcd.enabled],
      [false, false],
      'Kubespray: kube-proxy metrics on 127.0.0.1, etcd on the host',
    );
    assert.deepEqual(kps['prometheus-node-exporter'].prometheus.monitor.relabelings, [
      { sourceLabels: ['__meta_kubernetes_pod_node_name'], action: 'replace', targetLabel: 'kubernetes_node' },
    ]);
    for (const f of ['prometheus-adapter', 'metrics-server', 'lws', 'local-path-provisioner'])
      assert.ok(
        (readValues(`values/${f}.yaml`) as any).tolerations.some((t: any) => t.key === 'node-role.kubernetes.io/control-plane'),
        `${f} tolerates the control-plane taint`,
      );
  });
});
