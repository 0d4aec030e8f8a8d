// GPU observability as helm-platform installs it after kube-prometheus-stack: the dashboards as ConfigMaps that
// Grafana's sidecar loads (the label our kube-prometheus-stack values give it) and the alert rules as one
// PrometheusRule with the label the chart's Prometheus selects rules by (release: <release name>).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import type { Inventory } from '../inventory/types.ts';
import { gpuDashboards } from './observability-dashboards.ts';
import { expectedGpus, gpuAlertRules } from './observability-rules.ts';
import type { PlatformSelection, Values } from './selection.ts';

export const OBSERVABILITY_NAME = 'bcmkube-gpu';

/** The DCGM exporter metrics we use, checked against the exporter version the GPU Operator pins (the file's header). */
export function dcgmMetrics(helmDir: string): { exporter: string; metrics: Record<string, string> } {
  return yaml.load(readFileSync(join(helmDir, 'observability', 'dcgm-metrics.yaml'), 'utf8')) as {
    exporter: string;
    metrics: Record<string, string>;
  };
}

/** Where Grafana's sidecar looks for dashboards, from kube-prometheus-stack's values; undefined when it looks nowhere. */
export function dashboardLabel(sel: PlatformSelection): { label: string; value: string } | undefined {
  const kps = sel.releases.find((r) => r.release.name === 'kube-prometheus-stack');
  const grafana = kps?.values.grafana as Values | undefined;
  const dashboards = ((grafana?.sidecar as Values | undefined)?.dashboards ?? {}) as Values;
  if (!grafana || grafana.enabled === false || dashboards.enabled !== true || typeof dashboards.label !== 'string') return undefined;
  return { label: dashboards.label, value: String(dashboards.labelValue ?? '') };
}

export interface ObservabilityPlan {
  manifests: object[];
  /** What it installs, for the summary. */
  label: string;
  warnings: string[];
}

/** The ConfigMaps and the PrometheusRule for this selection and inventory (kube-prometheus-stack on). */
export function observabilityManifests(sel: PlatformSelection, inv: Inventory): ObservabilityPlan {
  const kps = sel.releases.find((r) => r.release.name === 'kube-prometheus-stack')!;
  const namespace = kps.release.namespace;
  const labels = { 'app.kubernetes.io/managed-by': 'bcmkube', 'app.kubernetes.io/part-of': 'gpu-observability' };
  const rules = gpuAlertRules(inv);
  const manifests: object[] = [
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: OBSERVABILITY_NAME, namespace, labels: { ...labels, release: kps.release.name } },
      spec: { groups: [{ name: 'bcmkube-gpu', rules }] },
    },
  ];
  const warnings: string[] = [];
  const gpuNodes = inv.nodes.filter((n) => n.roles.includes('gpu_worker'));
  const counted = expectedGpus(inv).map((n) => n.node);
  const unprobed = gpuNodes.filter((n) => !counted.includes(n.hostname)).map((n) => n.hostname);
  if (unprobed.length)
    warnings.push(
      `GPU count alerts: no GPU facts for ${unprobed.join(', ')} in the inventory (run prepare-nodes), so no rule checks their GPU count`,
    );
  const where = dashboardLabel(sel);
  if (where)
    for (const [file, dashboard] of Object.entries(gpuDashboards()))
      manifests.push({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `${OBSERVABILITY_NAME}-${file.replace(/\.json$/, '')}`,
          namespace,
          labels: { ...labels, [where.label]: where.value },
        },
        data: { [file]: JSON.stringify(dashboard, null, 1) },
      });
  else warnings.push('GPU dashboards: not installed (Grafana or its dashboard sidecar is off in kube-prometheus-stack values)');
  const dashboards = manifests.length - 1;
  return {
    manifests,
    label: `GPU alert rules (${rules.length}, ${counted.length} GPU node(s) counted)${dashboards ? ` and ${dashboards} Grafana dashboards` : ''}`,
    warnings,
  };
}
