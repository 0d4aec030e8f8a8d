// The platform's GPU dashboards for Grafana, built from the DCGM exporter's metrics as the platform scrapes them
// (job gpu-metrics, the node as kubernetes_node, the GPU index as gpu): one for the cluster, one per node.

/** A time series panel: one PromQL query, its legend and unit, on a 24-column grid. */
interface PanelSpec {
  title: string;
  expr: string;
  legend: string;
  unit: string;
  /** 'stat' for a single number, 'table' for a list of current values, else a time series. */
  type?: 'timeseries' | 'stat' | 'table';
  width?: number;
}

const BY_GPU = '{{kubernetes_node}} GPU {{gpu}}';

/** The panels of both dashboards; `sel` is the label selector inside {…} ('' for the whole cluster). */
function gpuPanels(sel: string, cluster: boolean): PanelSpec[] {
  const m = (name: string) => `${name}{${sel}}`;
  return [
    ...(cluster
      ? [
          {
            title: 'GPUs reporting',
            expr: `count(${m('DCGM_FI_DEV_GPU_TEMP')})`,
            legend: 'GPUs',
            unit: 'none',
            type: 'stat' as const,
            width: 6,
          },
          {
            title: 'Mean GPU utilisation',
            expr: `avg(${m('DCGM_FI_DEV_GPU_UTIL')})`,
            legend: 'cluster',
            unit: 'percent',
            type: 'stat' as const,
            width: 6,
          },
          {
            title: 'Total GPU power',
            expr: `sum(${m('DCGM_FI_DEV_POWER_USAGE')})`,
            legend: 'cluster',
            unit: 'watt',
            type: 'stat' as const,
            width: 6,
          },
          {
            title: 'GPUs per node',
            expr: `count by (kubernetes_node) (${m('DCGM_FI_DEV_GPU_TEMP')})`,
            legend: '{{kubernetes_node}}',
            unit: 'none',
            type: 'table' as const,
            width: 6,
          },
        ]
      : []),
    { title: 'GPU utilisation', expr: m('DCGM_FI_DEV_GPU_UTIL'), legend: BY_GPU, unit: 'percent' },
    { title: 'Memory copy utilisation', expr: m('DCGM_FI_DEV_MEM_COPY_UTIL'), legend: BY_GPU, unit: 'percent' },
    {
      title: 'Framebuffer memory used',
      expr: `${m('DCGM_FI_DEV_FB_USED')} / (${m('DCGM_FI_DEV_FB_USED')} + ${m('DCGM_FI_DEV_FB_FREE')}) * 100`,
      legend: BY_GPU,
      unit: 'percent',
    },
    { title: 'Framebuffer memory used (MiB)', expr: m('DCGM_FI_DEV_FB_USED'), legend: BY_GPU, unit: 'mbytes' },
    { title: 'Power draw', expr: m('DCGM_FI_DEV_POWER_USAGE'), legend: BY_GPU, unit: 'watt' },
    { title: 'GPU temperature', expr: m('DCGM_FI_DEV_GPU_TEMP'), legend: BY_GPU, unit: 'celsius' },
    { title: 'Memory temperature', expr: m('DCGM_FI_DEV_MEMORY_TEMP'), legend: BY_GPU, unit: 'celsius' },
    {
      title: 'Last XID error (0: none)',
      expr: `max by (kubernetes_node, gpu) (${m('DCGM_FI_DEV_XID_ERRORS')})`,
      legend: BY_GPU,
      unit: 'none',
      type: 'table',
    },
    {
      title: 'Uncorrectable ECC errors (rows remapped, 1h)',
      expr: `increase(${m('DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS')}[1h])`,
      legend: BY_GPU,
      unit: 'none',
    },
    {
      title: 'Correctable ECC errors (rows remapped, 1h)',
      expr: `increase(${m('DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS')}[1h])`,
      legend: BY_GPU,
      unit: 'none',
    },
    { title: 'Row remapping failed (1: yes)', expr: m('DCGM_FI_DEV_ROW_REMAP_FAILURE'), legend: BY_GPU, unit: 'none', type: 'table' },
    { title: 'PCIe replays (5m rate)', expr: `rate(${m('DCGM_FI_DEV_PCIE_REPLAY_COUNTER')}[5m])`, legend: BY_GPU, unit: 'ops' },
  ];
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function panelJson(p: PanelSpec, id: number, x: number, y: number): object {
  const type = p.type ?? 'timeseries';
  return {
    id,
    type,
    title: p.title,
    datasource: DATASOURCE,
    gridPos: { x, y, w: p.width ?? 12, h: type === 'stat' ? 4 : 8 },
    fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
    options: type === 'table' ? { showHeader: true } : {},
    targets: [
      {
        refId: 'A',
        datasource: DATASOURCE,
        expr: p.expr,
        legendFormat: p.legend,
        ...(type === 'timeseries' ? {} : { instant: true, format: type === 'table' ? 'table' : 'time_series' }),
      },
    ],
  };
}

function dashboard(uid: string, title: string, panels: PanelSpec[], variables: object[]): Record<string, unknown> {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const laid = panels.map((p, i) => {
    const w = p.width ?? 12;
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const json = panelJson(p, i + 1, x, y);
    x += w;
    rowHeight = Math.max(rowHeight, p.type === 'stat' ? 4 : 8);
    return json;
  });
  return {
    uid,
    title,
    tags: ['gpu', 'dcgm', 'bcmkube'],
    editable: false,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }, ...variables],
    },
    panels: laid,
  };
}

/** The dashboards, by file name: the cluster's GPUs, and one node's GPUs (pick the node at the top). */
export function gpuDashboards(): Record<string, Record<string, unknown>> {
  return {
    'gpu-cluster.json': dashboard('bcmkube-gpu-cluster', 'GPUs: cluster', gpuPanels('', true), []),
    'gpu-node.json': dashboard('bcmkube-gpu-node', 'GPUs: node', gpuPanels('kubernetes_node="$node"', false), [
      {
        name: 'node',
        label: 'Node',
        type: 'query',
        datasource: DATASOURCE,
        query: { query: 'label_values(DCGM_FI_DEV_GPU_TEMP, kubernetes_node)', refId: 'node' },
        definition: 'label_values(DCGM_FI_DEV_GPU_TEMP, kubernetes_node)',
        refresh: 2,
        current: {},
        hide: 0,
      },
    ]),
  };
}

/** Every PromQL query of a dashboard, panels and template variables. */
export function dashboardQueries(d: Record<string, unknown>): string[] {
  const panels = (d.panels ?? []) as Array<{ targets?: Array<{ expr?: string }> }>;
  const vars = ((d.templating as { list?: Array<{ definition?: string }> } | undefined)?.list ?? []).flatMap((v) =>
    v.definition ? [v.definition] : [],
  );
  return [...panels.flatMap((p) => (p.targets ?? []).flatMap((t) => (t.expr ? [t.expr] : []))), ...vars];
}
