// GPU observability as helm-platform installs it: the dashboards parse and read only DCGM metrics the pinned
// exporter exports; the alert rules, generated from the inventory, pass promtool's checker and fire on sample
// series (promtool's rule unit tests, built from the Prometheus module by scripts/build-promtool.sh).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { parseSpec } from '../../actions/lib/config/load.ts';
import { loadPlatformManifest } from '../../actions/lib/helm/manifest.ts';
import { dashboardLabel, dcgmMetrics, observabilityManifests } from '../../actions/lib/helm/observability.ts';
import { dashboardQueries, gpuDashboards } from '../../actions/lib/helm/observability-dashboards.ts';
import { gpuAlertRules } from '../../actions/lib/helm/observability-rules.ts';
import { mergeValues, selectPlatform, type Values } from '../../actions/lib/helm/selection.ts';
import type { Inventory, InventoryNode } from '../../actions/lib/inventory/types.ts';
import { gpuNodeFacts } from '../gpu-facts.ts';
import { tempDir } from '../temp-dirs.ts';

const manifest = loadPlatformManifest('helm/platform.yaml');
const readValues = (f: string) => (yaml.load(readFileSync(join('helm', f), 'utf8')) ?? {}) as Values;
const select = (extra = '') =>
  selectPlatform(
    manifest,
    parseSpec(
      yaml.dump(mergeValues(yaml.load(readFileSync('clusters/example.yaml', 'utf8')) as Values, (extra ? yaml.load(extra) : {}) as Values)),
      's.yaml',
    ).spec,
    readValues,
  );

function node(hostname: string, gpus: number, roles: InventoryNode['roles'] = ['worker', 'gpu_worker']): InventoryNode {
  return {
    hostname,
    uuid: `uuid-${hostname}`,
    mac: '00:11:22:33:44:55',
    status: 'UP',
    roles,
    address: '127.0.1.5',
    network: 'dgxnet',
    addresses: [],
    ...(gpus >= 0 ? { facts: gpuNodeFacts(gpus) } : {}),
    history: [],
  };
}

const inventory = (nodes: InventoryNode[]): Inventory => ({
  schemaVersion: 1,
  cluster: 'lab',
  specHash: 'abc',
  bcm: { endpoint: 'https://127.0.1.254:8081' },
  nodes,
  history: [],
});

const lab = inventory([node('dgx-01', 8), node('dgx-02', 8), node('cpu-01', 0, ['control_plane', 'etcd'])]);

let promtoolPath: string | undefined;
/** promtool at the pinned version, built once into .tools/ (the build prints one line and exits 3 without Go). */
function promtool(args: string[], cwd: string): { code: number; out: string } {
  promtoolPath ??= execFileSync('bash', ['scripts/build-promtool.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const r = spawnSync(promtoolPath, args, { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const rulesFile = (dir: string, inv: Inventory) => {
  writeFileSync(join(dir, 'rules.yaml'), yaml.dump({ groups: [{ name: 'bcmkube-gpu', rules: gpuAlertRules(inv) }] }));
  return 'rules.yaml';
};

/** The DCGM metric names a PromQL expression reads. */
const dcgmNames = (expr: string) => [...expr.matchAll(/\bDCGM_FI_[A-Z0-9_]+\b/g)].map((m) => m[0]);

describe('GPU observability', () => {
  const metrics = dcgmMetrics('helm');

  it('dashboards: two, parse as Grafana JSON, every panel has a query, and they read only metrics the pinned DCGM exporter exports (all of them used)', () => {
    const obs = observabilityManifests(select(), lab);
    const maps = obs.manifests.filter((m: any) => m.kind === 'ConfigMap') as any[];
    assert.deepEqual(
      maps.map((m) => m.metadata.name),
      ['bcmkube-gpu-gpu-cluster', 'bcmkube-gpu-gpu-node'],
    );
    const used = new Set<string>();
    for (const m of maps) {
      assert.equal(m.metadata.namespace, 'prometheus');
      assert.equal(m.metadata.labels.grafana_dashboard, '1', 'the label and value our kube-prometheus-stack values give the sidecar');
      const [file, text] = Object.entries(m.data as Record<string, string>)[0]!;
      const d = JSON.parse(text);
      assert.match(file, /\.json$/);
      assert.ok(d.uid && d.title && d.panels.length >= 10, `${file}: uid, title and panels`);
      for (const p of d.panels) assert.ok(p.targets?.[0]?.expr, `${file}: panel '${p.title}' has a query`);
      for (const q of dashboardQueries(d)) {
        assert.ok(dcgmNames(q).length > 0, `${file}: '${q}' reads a DCGM metric`);
        for (const n of dcgmNames(q)) {
          assert.ok(n in metrics.metrics, `${file}: ${n} is not a metric the DCGM exporter ${metrics.exporter} exports by default`);
          used.add(n);
        }
      }
    }
    for (const n of gpuAlertRules(lab).flatMap((r) => dcgmNames(r.expr))) {
      assert.ok(n in metrics.metrics, `alert rules: ${n} is not exported by DCGM exporter ${metrics.exporter}`);
      used.add(n);
    }
    assert.deepEqual(
      [...used].sort(),
      Object.keys(metrics.metrics).sort(),
      'helm/observability/dcgm-metrics.yaml lists exactly what we use',
    );
    const node = JSON.parse(Object.values(maps[1].data as Record<string, string>)[0]!);
    assert.ok(
      dashboardQueries(node).every((q) => q.includes('kubernetes_node="$node"') || q.startsWith('label_values')),
      'the node dashboard shows the chosen node only',
    );
  });

  it('dashboards are left out, with a warning, when Grafana is off', () => {
    const obs = observabilityManifests(select('platform: {releases: {kube-prometheus-stack: {values: {grafana: {enabled: false}}}}}'), lab);
    assert.deepEqual(
      obs.manifests.map((m: any) => m.kind),
      ['PrometheusRule'],
    );
    assert.match(obs.warnings.join('\n'), /GPU dashboards: not installed/);
  });

  it('the PrometheusRule carries the label the chart’s Prometheus selects rules by, and every rule has a summary and a runbook', () => {
    const sel = select();
    assert.ok(dashboardLabel(sel));
    const rule = observabilityManifests(sel, lab).manifests[0] as any;
    assert.equal(rule.kind, 'PrometheusRule');
    assert.equal(rule.metadata.labels.release, 'kube-prometheus-stack');
    for (const r of rule.spec.groups[0].rules) {
      assert.ok(r.annotations.summary && r.annotations.runbook.length > 30, `${r.alert}: summary and runbook`);
      assert.match(r.labels.severity, /^(critical|warning)$/);
    }
  });

  it('count rules come from the inventory: one per GPU node with its probed count; a GPU node without facts is named', () => {
    const inv = inventory([node('dgx-01', 8), node('dgx-02', 4), node('dgx-03', -1), node('cpu-01', 0, ['worker'])]);
    const rules = gpuAlertRules(inv).filter((r) => r.alert === 'GpuCountBelowInventory');
    assert.deepEqual(
      rules.map((r) => r.expr),
      [
        '(count(DCGM_FI_DEV_GPU_TEMP{kubernetes_node="dgx-01"}) or vector(0)) < 8',
        '(count(DCGM_FI_DEV_GPU_TEMP{kubernetes_node="dgx-02"}) or vector(0)) < 4',
      ],
    );
    assert.match(observabilityManifests(select(), inv).warnings.join('\n'), /no GPU facts for dgx-03/);
    assert.equal(observabilityManifests(select(), inv).label, 'GPU alert rules (12, 2 GPU node(s) counted) and 2 Grafana dashboards');
  });

  it('helm-platform installs it after kube-prometheus-stack, and not without it', () => {
    assert.deepEqual(select().extras.find((e) => e.name === 'gpu-observability')?.needs, ['kube-prometheus-stack']);
    const off = select('platform: {releases: {kube-prometheus-stack: {enabled: false}, prometheus-adapter: {enabled: false}}}');
    assert.equal(
      off.extras.find((e) => e.name === 'gpu-observability'),
      undefined,
    );
  });

  it('promtool check rules accepts the rules and every dashboard query', () => {
    const dir = tempDir('obs-');
    const check = promtool(['check', 'rules', rulesFile(dir, lab)], dir);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /SUCCESS: \d+ rules found/);
    const queries = Object.values(gpuDashboards()).flatMap((d) => dashboardQueries(d).filter((q) => !q.startsWith('label_values')));
    writeFileSync(
      join(dir, 'dashboards.yaml'),
      yaml.dump({
        groups: [{ name: 'q', rules: queries.map((q, i) => ({ record: `dashboard:q${i}`, expr: q.replaceAll('$node', 'dgx-01') })) }],
      }),
    );
    const dq = promtool(['check', 'rules', 'dashboards.yaml'], dir);
    assert.equal(dq.code, 0, dq.out);
  });

  it('the rules fire on sample series: 7 of 8 GPUs, exporter gone, XID 79, uncorrectable ECC, remap failure, heat, power; a healthy node fires nothing', () => {
    const dir = tempDir('obs-');
    const up = (n: string, v: string) => ({ series: `up{job="gpu-metrics", kubernetes_node="${n}"}`, values: v });
    const gauge = (name: string, n: string, g: number, v: string) => ({
      series: `${name}{job="gpu-metrics", kubernetes_node="${n}", gpu="${g}"}`,
      values: v,
    });
    const eightOn = (n: string, name = 'DCGM_FI_DEV_GPU_TEMP', v = '40x30') => Array.from({ length: 8 }, (_, g) => gauge(name, n, g, v));
    const tests = {
      rule_files: [rulesFile(dir, lab)],
      evaluation_interval: '1m',
      tests: [
        {
          // dgx-01 healthy; dgx-02 shows 7 GPUs
          interval: '1m',
          input_series: [up('dgx-01', '1x30'), up('dgx-02', '1x30'), ...eightOn('dgx-01'), ...eightOn('dgx-02').slice(0, 7)],
          alert_rule_test: [
            {
              eval_time: '15m',
              alertname: 'GpuCountBelowInventory',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', kubernetes_node: 'dgx-02' },
                  exp_annotations: alertText(lab, 'GpuCountBelowInventory', 'dgx-02', '7'),
                },
              ],
            },
            { eval_time: '15m', alertname: 'DcgmExporterDown', exp_alerts: [] },
            { eval_time: '15m', alertname: 'GpuTemperatureHigh', exp_alerts: [] },
          ],
        },
        {
          // dgx-02's exporter is gone: no scrape, no GPUs
          interval: '1m',
          input_series: [up('dgx-01', '1x30'), ...eightOn('dgx-01')],
          alert_rule_test: [
            {
              eval_time: '10m',
              alertname: 'DcgmExporterDown',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', kubernetes_node: 'dgx-02' },
                  exp_annotations: alertText(lab, 'DcgmExporterDown', 'dgx-02'),
                },
              ],
            },
          ],
        },
        {
          interval: '1m',
          input_series: [
            up('dgx-01', '1x30'),
            gauge('DCGM_FI_DEV_XID_ERRORS', 'dgx-01', 3, '0 0 79x10'),
            gauge('DCGM_FI_DEV_XID_ERRORS', 'dgx-01', 4, '0 0 94x10'),
            gauge('DCGM_FI_DEV_XID_ERRORS', 'dgx-01', 5, '0 0 13x10'),
            gauge('DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', 'dgx-01', 1, '0 0 1x10'),
            gauge('DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', 'dgx-01', 2, '0 5 9x10'),
            gauge('DCGM_FI_DEV_ROW_REMAP_FAILURE', 'dgx-01', 6, '0 0 1x10'),
            gauge('DCGM_FI_DEV_GPU_TEMP', 'dgx-01', 7, '80 90x10'),
            gauge('DCGM_FI_DEV_POWER_USAGE', 'dgx-01', 0, '650 720x10'),
            gauge('DCGM_FI_DEV_POWER_USAGE', 'dgx-01', 1, '650x10'),
          ],
          alert_rule_test: [
            { eval_time: '5m', alertname: 'GpuFellOffTheBus', exp_alerts: [gpuAlert('GpuFellOffTheBus', 'dgx-01', 3, 'critical', '79')] },
            { eval_time: '5m', alertname: 'GpuCriticalXid', exp_alerts: [gpuAlert('GpuCriticalXid', 'dgx-01', 4, 'critical', '94')] },
            {
              eval_time: '5m',
              alertname: 'GpuDoubleBitEccErrors',
              exp_alerts: [gpuAlert('GpuDoubleBitEccErrors', 'dgx-01', 1, 'critical', '1', { job: 'gpu-metrics' })],
            },
            {
              eval_time: '5m',
              alertname: 'GpuRowRemapFailure',
              exp_alerts: [gpuAlert('GpuRowRemapFailure', 'dgx-01', 6, 'critical', '1')],
            },
            {
              eval_time: '7m',
              alertname: 'GpuTemperatureHigh',
              exp_alerts: [gpuAlert('GpuTemperatureHigh', 'dgx-01', 7, 'warning', '90')],
            },
            { eval_time: '7m', alertname: 'GpuPowerOverLimit', exp_alerts: [gpuAlert('GpuPowerOverLimit', 'dgx-01', 0, 'warning', '720')] },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'tests.yaml'), yaml.dump(tests));
    const r = promtool(['test', 'rules', 'tests.yaml'], dir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it('promtool’s rule tests catch a wrong expectation (the harness can fail): 8 of 8 GPUs does not fire', () => {
    const dir = tempDir('obs-');
    const series = Array.from({ length: 8 }, (_, g) => ({
      series: `DCGM_FI_DEV_GPU_TEMP{job="gpu-metrics", kubernetes_node="dgx-01", gpu="${g}"}`,
      values: '40x30',
    }));
    const one = inventory([node('dgx-01', 8)]);
    const expectFiring = {
      rule_files: [rulesFile(dir, one)],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: series,
          alert_rule_test: [
            {
              eval_time: '15m',
              alertname: 'GpuCountBelowInventory',
              exp_alerts: [{ exp_labels: { severity: 'critical', kubernetes_node: 'dgx-01' } }],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'tests.yaml'), yaml.dump(expectFiring));
    const r = promtool(['test', 'rules', 'tests.yaml'], dir);
    assert.notEqual(r.code, 0, 'a full node must not fire GpuCountBelowInventory');
    assert.match(r.out, /alertname: GpuCountBelowInventory[\s\S]*got:\s*\[\]/);
  });
});

/** An expected alert on one GPU: its labels and its annotations rendered for that GPU and value. */
function gpuAlert(alert: string, n: string, g: number, severity: string, value: string, extraLabels: Record<string, string> = {}) {
  const r = gpuAlertRules(lab).find((x) => x.alert === alert)!;
  const render = (v: string) =>
    v.replaceAll('{{ $value }}', value).replaceAll('{{ $labels.kubernetes_node }}', n).replaceAll('{{ $labels.gpu }}', String(g));
  return {
    exp_labels: { severity, kubernetes_node: n, gpu: String(g), ...extraLabels },
    exp_annotations: Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, render(v)])),
  };
}

/** The summary and description a node's rule renders, with $value filled in. */
function alertText(inv: Inventory, alert: string, n: string, value = '1') {
  const r = gpuAlertRules(inv).find((x) => x.alert === alert && x.expr.includes(`"${n}"`))!;
  return Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, v.replaceAll('{{ $value }}', value)]));
}
