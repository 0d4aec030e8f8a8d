// The platform's GPU alert rules, generated from the inventory: what DCGM reports about a GPU's health (XID
// errors, uncorrectable ECC errors, row remapping, temperature, power), an exporter that stopped answering on a
// GPU node, and what no off-the-shelf rule knows: a node showing fewer GPUs than prepare-nodes counted on it.
import type { Inventory } from '../inventory/types.ts';

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'critical' | 'warning'; kubernetes_node?: string };
  annotations: { summary: string; description: string; runbook: string };
}

export interface GpuLimits {
  /** GPU core temperature (°C) that alerts after 5 minutes. */
  gpuTempC: number;
  /** HBM temperature (°C). */
  memoryTempC: number;
}

export const GPU_LIMITS: GpuLimits = { gpuTempC: 85, memoryTempC: 95 };

/**
 * Board power (W) by GPU model, as prepare-nodes reads the name from nvidia-smi: the SXM parts' maximum power
 * limit. A node whose GPUs match none gets DEFAULT_POWER_WATTS.
 */
export const GPU_POWER_WATTS: ReadonlyArray<{ model: RegExp; watts: number }> = [
  { model: /B200/i, watts: 1000 },
  { model: /H200|H100 80GB HBM3|H100 SXM/i, watts: 700 },
  { model: /H100 NVL/i, watts: 400 },
  { model: /H100 PCIe/i, watts: 350 },
  { model: /A100-SXM|A100 SXM/i, watts: 400 },
  { model: /A100/i, watts: 300 },
];
export const DEFAULT_POWER_WATTS = 700;

/** XIDs after which the GPU needs attention (NVIDIA's XID catalogue), besides 79, which has its own rule. */
export const CRITICAL_XIDS: Readonly<Record<number, string>> = {
  48: 'double-bit ECC error',
  74: 'NVLink error',
  92: 'high single-bit ECC error rate',
  94: 'contained ECC error',
  95: 'uncontained ECC error',
  119: 'GSP RPC timeout',
  120: 'GSP error',
};

/** The GPU nodes of the inventory with the GPU count prepare-nodes probed. */
export function expectedGpus(inv: Inventory): Array<{ node: string; gpus: number; model: string }> {
  return inv.nodes
    .filter((n) => n.roles.includes('gpu_worker') && (n.facts?.gpus.length ?? 0) > 0)
    .map((n) => ({ node: n.hostname, gpus: n.facts!.gpus.length, model: n.facts!.gpus[0]!.name }))
    .sort((a, b) => a.node.localeCompare(b.node));
}

const quoted = (s: string) => JSON.stringify(s);
const GPU = '{{ $labels.kubernetes_node }} GPU {{ $labels.gpu }}';

function powerWatts(model: string): number {
  return GPU_POWER_WATTS.find((p) => p.model.test(model))?.watts ?? DEFAULT_POWER_WATTS;
}

/** The rules for this inventory's GPU nodes (rules about GPUs that exist need no inventory). */
export function gpuAlertRules(inv: Inventory, limits: GpuLimits = GPU_LIMITS): AlertRule[] {
  const nodes = expectedGpus(inv);
  const rules: AlertRule[] = [
    {
      alert: 'GpuFellOffTheBus',
      expr: 'max by (kubernetes_node, gpu) (DCGM_FI_DEV_XID_ERRORS) == 79',
      for: '0m',
      labels: { severity: 'critical' },
      annotations: {
        summary: `${GPU} fell off the bus (XID 79)`,
        description: 'The driver lost the GPU on the PCIe bus; jobs on it have failed and it usually vanishes from the node.',
        runbook:
          'Drain the node (kubectl drain), check dmesg for NVRM Xid 79 and the BMC log for power or thermal events, reseat or replace the GPU; a reboot brings it back only until the next time.',
      },
    },
    {
      alert: 'GpuCriticalXid',
      expr: Object.keys(CRITICAL_XIDS)
        .map((x) => `max by (kubernetes_node, gpu) (DCGM_FI_DEV_XID_ERRORS) == ${x}`)
        .join(' or '),
      for: '0m',
      labels: { severity: 'critical' },
      annotations: {
        summary: `${GPU} reported XID {{ $value }}`,
        description: `XIDs ${Object.entries(CRITICAL_XIDS)
          .map(([x, what]) => `${x} ${what}`)
          .join(', ')}.`,
        runbook:
          'Look the XID up in NVIDIA’s XID catalogue, drain the node, run dcgmi diag -r 3 on it; ECC and GSP XIDs that come back after a GPU reset mean an RMA.',
      },
    },
    {
      alert: 'GpuDoubleBitEccErrors',
      expr: 'increase(DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS[15m]) > 0',
      for: '0m',
      labels: { severity: 'critical' },
      annotations: {
        summary: `${GPU} had uncorrectable (double-bit) ECC errors`,
        description:
          'Uncorrectable ECC errors in GPU memory remapped {{ $value }} row(s) in 15 minutes; the work on the GPU saw corrupt memory.',
        runbook:
          'Drain the node and reset the GPU (nvidia-smi -r) so the remapping takes effect, then run dcgmi diag -r 3; repeated errors or a remapping failure mean an RMA.',
      },
    },
    {
      alert: 'GpuRowRemapFailure',
      expr: 'max by (kubernetes_node, gpu) (DCGM_FI_DEV_ROW_REMAP_FAILURE) > 0',
      for: '0m',
      labels: { severity: 'critical' },
      annotations: {
        summary: `${GPU} failed to remap a memory row`,
        description: 'The GPU ran out of spare rows for its memory errors: it can no longer hide them.',
        runbook:
          'Drain the node, keep the GPU out of service (cordon, or disable it with nvidia-smi) and open an RMA with the GPU’s serial.',
      },
    },
    {
      alert: 'GpuTemperatureHigh',
      expr: `max by (kubernetes_node, gpu) (DCGM_FI_DEV_GPU_TEMP) > ${limits.gpuTempC} or max by (kubernetes_node, gpu) (DCGM_FI_DEV_MEMORY_TEMP) > ${limits.memoryTempC}`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `${GPU} is at {{ $value }} °C`,
        description: `Above ${limits.gpuTempC} °C (GPU) or ${limits.memoryTempC} °C (memory) for 5 minutes: the GPU throttles and, hotter still, shuts down.`,
        runbook:
          'Check the node’s fans and inlet temperature in BCM (cmsh: device; latestmetricdata) and the rack’s cooling; move work off the node if it keeps rising.',
      },
    },
  ];
  const byWatts = new Map<number, string[]>();
  for (const n of nodes) byWatts.set(powerWatts(n.model), [...(byWatts.get(powerWatts(n.model)) ?? []), n.node]);
  const power = [...byWatts].map(
    ([watts, names]) => `max by (kubernetes_node, gpu) (DCGM_FI_DEV_POWER_USAGE{kubernetes_node=~${quoted(names.join('|'))}}) > ${watts}`,
  );
  if (power.length)
    rules.push({
      alert: 'GpuPowerOverLimit',
      expr: power.join(' or '),
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `${GPU} draws {{ $value }} W, over its board limit`,
        description: `Over the board power of the node's GPU model (${[...byWatts].map(([w, ns]) => `${ns.join(', ')}: ${w} W`).join('; ')}) for 5 minutes.`,
        runbook:
          'Check the power limit the driver enforces (nvidia-smi -q -d POWER) and the node’s power supplies in BCM; a GPU over its limit points at a failing sensor or a wrong limit.',
      },
    });
  for (const n of nodes) {
    const node = quoted(n.node);
    rules.push(
      {
        alert: 'DcgmExporterDown',
        expr: `absent(up{job="gpu-metrics", kubernetes_node=${node}} == 1)`,
        for: '5m',
        labels: { severity: 'warning', kubernetes_node: n.node },
        annotations: {
          summary: `no GPU metrics from ${n.node}`,
          description: `The DCGM exporter on GPU node ${n.node} has not been scraped for 5 minutes: none of its GPU alerts can fire.`,
          runbook: `kubectl -n gpu-operator get pods -o wide --field-selector spec.nodeName=${n.node}; look at the nvidia-dcgm-exporter pod's log and the node's nvidia.com/gpu.deploy.dcgm-exporter label.`,
        },
      },
      {
        alert: 'GpuCountBelowInventory',
        expr: `(count(DCGM_FI_DEV_GPU_TEMP{kubernetes_node=${node}}) or vector(0)) < ${n.gpus}`,
        for: '10m',
        labels: { severity: 'critical', kubernetes_node: n.node },
        annotations: {
          summary: `${n.node} shows {{ $value }} of its ${n.gpus} GPUs`,
          description: `prepare-nodes counted ${n.gpus} GPUs on ${n.node} (${n.model}); DCGM reports fewer: a GPU fell off the bus, failed, or the driver does not see it.`,
          runbook: `On ${n.node}: nvidia-smi -L and dmesg | grep -i xid; then the BMC's hardware log. Drain the node before a reset; rerun prepare-nodes after a hardware change so the inventory counts again.`,
        },
      },
      {
        alert: 'GpuAllocatableBelowInventory',
        expr: `(max(kube_node_status_allocatable{node=${node}, resource="nvidia_com_gpu"}) or vector(0)) < ${n.gpus}`,
        for: '10m',
        labels: { severity: 'warning', kubernetes_node: n.node },
        annotations: {
          summary: `${n.node} offers {{ $value }} of its ${n.gpus} GPUs to the scheduler`,
          description: `Kubernetes allocates fewer nvidia.com/gpu on ${n.node} than prepare-nodes counted (${n.gpus}).`,
          runbook: `kubectl describe node ${n.node} (Capacity/Allocatable), then the nvidia-device-plugin pod's log on it; a GPU the plugin marks unhealthy also shows here.`,
        },
      },
    );
  }
  return rules;
}
