// Stage 4, helm-platform: the releases of helm/platform.yaml as a dependency graph — pinned charts pulled and
// rendered before anything changes, `helm upgrade --install --atomic --wait` per release (independent ones
// in parallel, a failure skipping only its dependents), what Helm does not do, then checks that it all runs.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { describeChange, namespaceConflicts, planChange, type ReleaseChange } from '../helm/changes.ts';
import { mapLimit, pullCharts, renderChart, writeOverrides, type PulledChart, type RenderResult } from '../helm/charts.ts';
import {
  applyGrafanaSecret,
  applyManifests,
  cudaSmoke,
  deployedValues,
  ensureDefaultStorageClass,
  ensureNamespace,
  listReleases,
  secretExists,
  upgradeInstall,
  verifyRollout,
  waitForGpus,
  type DeployedRelease,
  type GrafanaSecretRef,
  type SmokeResult,
} from '../helm/cluster.ts';
import { runDag, type StepResult } from '../helm/dag.ts';
import { knativeServingManifests, waitForKnativeServing } from '../helm/knative.ts';
import { observabilityManifests } from '../helm/observability.ts';
import { openKubeTools, type KubeTools } from '../helm/kube-tools.ts';
import { loadPlatformManifest, platformDir } from '../helm/manifest.ts';
import { platformSteps, selectPlatform, type PlatformSelection, type SelectedRelease, type Values } from '../helm/selection.ts';
import { mergeInventory, writeInventory } from '../inventory/document.ts';
import type { Inventory, ReleaseState } from '../inventory/types.ts';
import { integerInput, secretInput, type InputSource } from '../report/inputs.ts';
import { bullets, heading, mermaidFlow, table, timingsTable, type FlowOutcome, type TimedPhase } from '../report/markdown.ts';
import type { Reporter } from '../report/reporter.ts';
import { errorMessage, StageError, UsageError } from '../util/errors.ts';
import { openWorkDir, type WorkDir } from '../util/work-dir.ts';
import { openClusterAccess, type ClusterAccess } from './access.ts';
import { openStage, readStageInventory, type StageContext } from './context.ts';
import { timed } from './timing.ts';

export type Outcome = 'installed' | 'upgraded' | 'unchanged' | 'applied' | 'failed' | 'skipped' | 'off' | 'planned';

export interface StepReport {
  name: string;
  kind: 'release' | 'step';
  /** chart@version for releases, what it does for steps. */
  what: string;
  namespace: string;
  needs: string[];
  change?: string;
  outcome: Outcome;
  seconds?: number;
  detail?: string;
}

export interface PlatformResult {
  plan: boolean;
  steps: StepReport[];
  verification: string[];
  inventoryPath?: string;
}

export const VERIFY_DEFAULTS = { timeout_seconds: 300, smoke_test: true, smoke_image: 'nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04' };

/** The Secret kube-prometheus-stack's Grafana reads its admin login from, or undefined when Grafana is off. */
export function grafanaSecretRef(sel: PlatformSelection): GrafanaSecretRef | undefined {
  const kps = sel.releases.find((r) => r.release.name === 'kube-prometheus-stack');
  const grafana = kps?.values.grafana as Values | undefined;
  if (!kps || !grafana || grafana.enabled === false) return undefined;
  const admin = (grafana.admin ?? {}) as Record<string, unknown>;
  if (typeof admin.existingSecret !== 'string' || !admin.existingSecret)
    throw new UsageError(
      'kube-prometheus-stack: grafana.admin.existingSecret is empty, so Grafana would start with the chart’s default password; keep the Secret reference of helm/values/kube-prometheus-stack.yaml (the password comes from input grafana-admin-password)',
    );
  return {
    namespace: kps.release.namespace,
    name: admin.existingSecret,
    userKey: typeof admin.userKey === 'string' ? admin.userKey : 'admin-user',
    passwordKey: typeof admin.passwordKey === 'string' ? admin.passwordKey : 'admin-password',
  };
}

const FLOW: Record<Outcome, FlowOutcome> = {
  installed: 'ok',
  upgraded: 'ok',
  applied: 'ok',
  unchanged: 'unchanged',
  failed: 'failed',
  skipped: 'skipped',
  off: 'skipped',
  planned: 'planned',
};

function stepsTable(steps: StepReport[], plan: boolean): string {
  return table(
    plan ? ['release', 'chart', 'namespace', 'change', 'render'] : ['release / step', 'chart', 'namespace', 'outcome', 'seconds', 'detail'],
    steps.map((s) =>
      plan
        ? [s.name, s.what, s.namespace, s.change ?? '', s.detail ?? '']
        : [
            s.name,
            s.what,
            s.namespace,
            s.outcome,
            s.seconds === undefined ? '' : s.seconds.toFixed(1),
            [s.outcome === 'upgraded' ? s.change : '', s.detail].filter(Boolean).join('; '),
          ],
    ),
  );
}

function graph(steps: StepReport[]): string {
  return mermaidFlow(
    steps
      .filter((s) => s.outcome !== 'off')
      .map((s) => ({
        id: s.name,
        label: `${s.name}${s.kind === 'release' ? ` ${s.what.split('@')[1] ?? ''}` : ''}: ${s.outcome}${s.seconds === undefined ? '' : ` ${s.seconds.toFixed(0)}s`}`,
        needs: s.needs,
        outcome: FLOW[s.outcome],
      })),
  );
}

export function readValuesFile(dir: string): (file: string) => Values {
  return (file) => {
    const doc = yaml.load(readFileSync(join(dir, file), 'utf8'), { filename: file, maxAliases: 0 });
    if (doc === null || doc === undefined) return {};
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`${file}: must be a mapping of values`);
    return doc as Values;
  };
}

interface Prepared {
  charts: Map<string, PulledChart>;
  valuesFiles: Map<string, string[]>;
  renders: RenderResult[];
}

/** Pulls every enabled chart and renders it with its values (the real helm template + lint), changing nothing. */
async function prepareCharts(
  ctx: StageContext,
  t: KubeTools,
  sel: PlatformSelection,
  work: WorkDir,
  helmDir: string,
  concurrency: number,
  lint: boolean,
): Promise<Prepared> {
  const pulled = await pullCharts(t, sel.releases, join(work.path, 'charts'), {
    ...(ctx.spec.mirrors.charts ? { chartsMirror: ctx.spec.mirrors.charts } : {}),
    ...(ctx.spec.mirrors.ca_file ? { caFile: ctx.spec.mirrors.ca_file } : {}),
    concurrency,
  });
  const charts = new Map(pulled.map((p) => [p.release, p]));
  const valuesFiles = new Map(
    sel.releases.map((r) => [r.release.name, [join(helmDir, r.release.values), writeOverrides(join(work.path, 'values'), r)]]),
  );
  const renders = await mapLimit(sel.releases, concurrency, (r) =>
    renderChart(t, r, charts.get(r.release.name)!.archive, valuesFiles.get(r.release.name)!, ctx.spec.kubernetes.version, lint),
  );
  for (const w of renders.flatMap((r) => r.warnings)) ctx.reporter.warning(w, 'helm-platform');
  return { charts, valuesFiles, renders };
}

/** What Helm has deployed for the selected releases, and the change each one needs. */
async function planChanges(t: KubeTools, sel: PlatformSelection, concurrency: number): Promise<Map<string, ReleaseChange>> {
  const deployed = await listReleases(t);
  namespaceConflicts(sel.releases, deployed);
  const find = (r: SelectedRelease): DeployedRelease | undefined =>
    deployed.find((d) => d.name === r.release.name && d.namespace === r.release.namespace);
  const changes = await mapLimit(sel.releases, concurrency, async (r) => {
    const d = find(r);
    return [r.release.name, planChange(r, d, d ? await deployedValues(t, d.name, d.namespace) : undefined)] as const;
  });
  return new Map(changes);
}

function offRows(
  sel: PlatformSelection,
  manifestRelease: (n: string) => { chart: string; version: string; namespace: string },
): StepReport[] {
  return sel.off.map((o) => {
    const r = manifestRelease(o.name);
    return {
      name: o.name,
      kind: 'release',
      what: `${r.chart}@${r.version}`,
      namespace: r.namespace,
      needs: [],
      outcome: 'off',
      detail: o.why,
    };
  });
}

async function planStage(
  ctx: StageContext,
  sel: PlatformSelection,
  work: WorkDir,
  inv: Inventory,
  helmDir: string,
  concurrency: number,
  offReports: StepReport[],
): Promise<PlatformResult> {
  const { reporter } = ctx;
  const phases: TimedPhase[] = [];
  let access: ClusterAccess | undefined;
  let clusterNote: string;
  try {
    access = await timed(phases, 'fetch kubeconfig', () => openClusterAccess(ctx, inv, work));
    clusterNote = `API server ${access.apiServer}`;
  } catch (err) {
    clusterNote = `cluster state not read (${errorMessage(err).split('\n')[0]}): every release is shown as an install`;
  }
  const t = await timed(phases, 'helm and kubectl', () => openKubeTools(ctx, work, access?.kubeconfig ?? join(work.path, 'no-kubeconfig')));
  const prep = await timed(phases, 'pull, render and lint charts', () => prepareCharts(ctx, t, sel, work, helmDir, concurrency, true));
  let changes = new Map<string, ReleaseChange>();
  if (access) {
    try {
      changes = await timed(phases, 'read deployed releases', () => planChanges(t, sel, concurrency));
    } catch (err) {
      if (err instanceof UsageError) throw err;
      clusterNote = `no cluster answered (${errorMessage(err).split('\n')[0]}): every release is shown as an install`;
    }
  }
  const steps: StepReport[] = [
    ...sel.releases.map((r): StepReport => {
      const change = changes.get(r.release.name) ?? { action: 'install' as const };
      const render = prep.renders.find((x) => x.release === r.release.name)!;
      return {
        name: r.release.name,
        kind: 'release',
        what: `${r.release.chart}@${r.release.version}`,
        namespace: r.release.namespace,
        needs: r.release.needs,
        change: describeChange(change),
        outcome: change.action === 'unchanged' ? 'unchanged' : 'planned',
        detail: render.ok ? `ok (${render.objects.length} objects)` : `**error**: ${render.error}`,
      };
    }),
    ...sel.extras.map((e): StepReport => ({
      name: e.name,
      kind: 'step',
      what: e.kind === 'gpu-observability' ? observabilityManifests(sel, inv).label : e.label,
      namespace: '',
      needs: e.needs,
      change: 'apply',
      outcome: 'planned',
    })),
  ];
  const bad = prep.renders.filter((r) => !r.ok);
  const counts = ['install', 'upgrade', 'unchanged'].map(
    (a) => `${[...sel.releases].filter((r) => (changes.get(r.release.name)?.action ?? 'install') === a).length} ${a}`,
  );
  reporter.output(
    'releases',
    JSON.stringify(
      sel.releases.map((r) => ({
        name: r.release.name,
        version: r.release.version,
        outcome: changes.get(r.release.name)?.action ?? 'install',
      })),
    ),
  );
  reporter.summary(
    [
      heading(`helm-platform: plan for cluster ${ctx.spec.name}`),
      `Cluster: ${clusterNote}. Would change: ${counts.join(', ')}. Nothing was changed.`,
      ...(sel.warnings.length ? [bullets(sel.warnings.map((w) => `⚠ ${w}`))] : []),
      stepsTable([...steps, ...offReports], true),
      graph(steps),
      timingsTable(phases),
    ].join('\n\n'),
  );
  if (bad.length)
    throw new StageError(
      `${bad.length} chart(s) do not render with their values`,
      bad.map((b) => `${b.release}: ${b.error}`),
    );
  return { plan: true, steps: [...steps, ...offReports], verification: [] };
}

export async function platformStage(inputs: InputSource, reporter: Reporter): Promise<PlatformResult> {
  const ctx = openStage(inputs, reporter);
  const { spec } = ctx;
  const { inv } = readStageInventory(ctx);
  const concurrency = integerInput(inputs, 'concurrency', 4, 1, 32);
  const helmDir = platformDir();
  const manifest = loadPlatformManifest(join(helmDir, 'platform.yaml'));
  const sel = selectPlatform(manifest, spec, readValuesFile(helmDir));
  for (const w of sel.warnings) reporter.warning(w, 'helm-platform');
  const manifestRelease = (n: string) => manifest.releases.find((r) => r.name === n)!;
  const offReports = offRows(sel, manifestRelease);
  const grafana = grafanaSecretRef(sel);
  const verify = { ...VERIFY_DEFAULTS, ...spec.platform.verify };
  const work = openWorkDir('helm-platform');
  try {
    if (ctx.plan) return await planStage(ctx, sel, work, inv, helmDir, concurrency, offReports);
    const phases: TimedPhase[] = [];
    const password = secretInput(inputs, 'grafana-admin-password', reporter);
    const access = await timed(phases, 'fetch kubeconfig', () => openClusterAccess(ctx, inv, work));
    const t = await timed(phases, 'helm and kubectl', () => openKubeTools(ctx, work, access.kubeconfig));
    const prep = await timed(phases, 'pull and render charts', () => prepareCharts(ctx, t, sel, work, helmDir, concurrency, false));
    const bad = prep.renders.filter((r) => !r.ok);
    if (bad.length)
      throw new StageError(
        `${bad.length} chart(s) do not render with their values; nothing was changed`,
        bad.map((b) => `${b.release}: ${b.error}`),
      );
    const changes = await timed(phases, 'read deployed releases', () => planChanges(t, sel, concurrency));
    let grafanaNote = '';
    const byName = new Map(sel.releases.map((r) => [r.release.name, r]));
    const extras = new Map(sel.extras.map((e) => [e.name, e]));

    const runRelease = async (r: SelectedRelease): Promise<{ ok: boolean; value: { outcome: Outcome; detail?: string } }> => {
      const name = r.release.name;
      const change = changes.get(name)!;
      await ensureNamespace(t, r.release.namespace, r.release.namespaceLabels);
      if (grafana && name === 'kube-prometheus-stack') {
        if (password) {
          await applyGrafanaSecret(t, grafana, 'admin', password);
          grafanaNote = `Grafana admin password: from ${inputs.label('grafana-admin-password')}, in Secret ${grafana.namespace}/${grafana.name}.`;
        } else if (await secretExists(t, grafana.namespace, grafana.name)) {
          grafanaNote = `Grafana admin password: kept (Secret ${grafana.namespace}/${grafana.name} exists; pass ${inputs.label('grafana-admin-password')} to set it).`;
        } else {
          const generated = randomBytes(18).toString('base64url');
          reporter.secret(generated);
          await applyGrafanaSecret(t, grafana, 'admin', generated);
          grafanaNote = `Grafana admin password: generated into Secret ${grafana.namespace}/${grafana.name} (read it with kubectl -n ${grafana.namespace} get secret ${grafana.name} -o jsonpath='{.data.${grafana.passwordKey}}' | base64 -d).`;
        }
      }
      if (change.action === 'unchanged') return { ok: true, value: { outcome: 'unchanged' } };
      reporter.info(`${name}: ${describeChange(change)}`);
      const res = await upgradeInstall(
        t,
        {
          name,
          chart: prep.charts.get(name)!.archive,
          version: r.release.version,
          namespace: r.release.namespace,
          timeoutSeconds: r.release.timeoutSeconds,
          valuesFiles: prep.valuesFiles.get(name)!,
        },
        (line) => reporter.info(`[${name}] ${line}`),
      );
      if (!res.ok) {
        reporter.error(res.error ?? 'failed', `${name} failed`);
        return { ok: false, value: { outcome: 'failed', detail: res.error } };
      }
      return { ok: true, value: { outcome: change.action === 'install' ? 'installed' : 'upgraded' } };
    };
    const runExtra = async (name: string): Promise<{ ok: boolean; value: { outcome: Outcome; detail?: string } }> => {
      const e = extras.get(name)!;
      try {
        if (e.kind === 'default-storageclass') {
          const changed = await ensureDefaultStorageClass(t, 'local-path');
          return { ok: true, value: changed.length ? { outcome: 'applied', detail: changed.join(', ') } : { outcome: 'unchanged' } };
        }
        if (e.kind === 'gpu-observability') {
          const obs = observabilityManifests(sel, inv);
          for (const w of obs.warnings) reporter.warning(w, 'helm-platform');
          const changed = await applyManifests(t, obs.manifests, 'GPU observability');
          return { ok: true, value: { outcome: changed ? 'applied' : 'unchanged', detail: obs.label } };
        }
        const changed = await applyManifests(t, knativeServingManifests(sel.knativeServingVersion!), 'KnativeServing');
        await waitForKnativeServing(t, verify.timeout_seconds);
        return { ok: true, value: { outcome: changed ? 'applied' : 'unchanged', detail: 'Ready (Kourier ingress)' } };
      } catch (err) {
        reporter.error(errorMessage(err), `${name} failed`);
        return { ok: false, value: { outcome: 'failed', detail: errorMessage(err) } };
      }
    };
    const seconds = new Map<string, number>();
    const results = await timed(phases, 'install (dependency graph)', () =>
      runDag(
        platformSteps(sel),
        concurrency,
        async (name) => {
          const start = performance.now();
          try {
            const r = byName.get(name);
            return await (r ? runRelease(r) : runExtra(name));
          } finally {
            seconds.set(name, (performance.now() - start) / 1000);
          }
        },
        (name, because) => reporter.warning(`${name} skipped: it needs ${because}, which failed`, 'helm-platform'),
      ),
    );
    const outcomeOf = (name: string, res: StepResult<{ outcome: Outcome; detail?: string }>) =>
      res.status === 'skipped'
        ? { outcome: 'skipped' as const, detail: `needs ${res.because}, which failed` }
        : (res.value ?? { outcome: 'failed' as const, detail: res.error ?? `${name} failed` });
    const steps: StepReport[] = platformSteps(sel).map((s) => {
      const r = byName.get(s.name);
      const o = outcomeOf(s.name, results.get(s.name)!);
      return {
        name: s.name,
        kind: r ? 'release' : 'step',
        what: r ? `${r.release.chart}@${r.release.version}` : extras.get(s.name)!.label,
        namespace: r?.release.namespace ?? '',
        needs: s.needs,
        ...(r ? { change: describeChange(changes.get(s.name)!) } : {}),
        outcome: o.outcome,
        ...(results.get(s.name)!.status === 'skipped' ? {} : { seconds: seconds.get(s.name) }),
        ...(o.detail ? { detail: o.detail } : {}),
      };
    });

    const verification: string[] = [];
    const verifyProblems = new Map<string, string[]>();
    let smoke: SmokeResult | undefined;
    await timed(phases, 'verify', async () => {
      const healthy = sel.releases.filter((r) => results.get(r.release.name)!.status === 'ok');
      const rollouts = await mapLimit(healthy, concurrency, async (r) => ({
        name: r.release.name,
        problems: await verifyRollout(t, r.release.name, r.release.namespace, verify.timeout_seconds),
      }));
      for (const r of rollouts) if (r.problems.length) verifyProblems.set(r.name, r.problems);
      verification.push(`rollout status: ${rollouts.length - verifyProblems.size}/${rollouts.length} releases ready`);
      const gpuNodes = inv.nodes.filter((n) => n.roles.includes('gpu_worker')).map((n) => n.hostname);
      const gpuOperator = healthy.find((r) => r.release.name === 'gpu-operator');
      if (!gpuOperator) verification.push('GPUs: not checked (gpu-operator is not installed)');
      else if (!gpuNodes.length) verification.push('GPUs: not checked (no GPU workers in the inventory)');
      else {
        const gpus = await waitForGpus(t, gpuNodes, verify.timeout_seconds);
        verification.push(`GPUs allocatable: ${gpuNodes.map((n) => `${n} ${gpus.counts[n] ?? 'unregistered'}`).join(', ')}`);
        if (gpus.problems.length) verifyProblems.set('gpu-operator', [...(verifyProblems.get('gpu-operator') ?? []), ...gpus.problems]);
        const node = gpuNodes.find((n) => gpus.counts[n]);
        if (verify.smoke_test && node) {
          smoke = await cudaSmoke(t, node, verify.smoke_image, verify.timeout_seconds);
          verification.push(
            `CUDA smoke pod on ${smoke.node}: ${smoke.ok ? 'ok' : 'failed'}: ${smoke.detail}${smoke.kept ? ` (${smoke.kept})` : ''}`,
          );
          if (!smoke.ok)
            verifyProblems.set('gpu-operator', [
              ...(verifyProblems.get('gpu-operator') ?? []),
              `CUDA smoke pod on ${smoke.node}: ${smoke.detail}; ${smoke.kept}`,
            ]);
        } else if (!verify.smoke_test) verification.push('CUDA smoke pod: off (platform.verify.smoke_test: false)');
      }
    });
    for (const [name, problems] of verifyProblems) {
      const s = steps.find((x) => x.name === name)!;
      s.detail = [s.detail, `verification failed: ${problems.join('; ')}`].filter(Boolean).join('; ');
      for (const p of problems.slice(0, 3)) reporter.error(p, `${name} verification`);
    }

    const at = new Date().toISOString();
    const state = (s: StepReport): ReleaseState['status'] =>
      verifyProblems.has(s.name) || s.outcome === 'failed'
        ? 'failed'
        : s.outcome === 'skipped'
          ? 'skipped'
          : s.outcome === 'off'
            ? 'disabled'
            : 'deployed';
    const releaseSteps = [...steps.filter((s) => s.kind === 'release'), ...offReports];
    const updated = mergeInventory(inv, [], {
      stage: 'helm-platform',
      at,
      result: `${releaseSteps.filter((s) => state(s) === 'deployed').length}/${releaseSteps.length} releases deployed`,
    });
    updated.platform = {
      releases: manifest.releases.map((m) => {
        const s = releaseSteps.find((x) => x.name === m.name)!;
        const version = byName.get(m.name)?.release.version ?? m.version;
        return { name: m.name, chart: m.chart, version, namespace: m.namespace, status: state(s) };
      }),
    };
    const outPath = join(ctx.outDir, 'inventory.json');
    writeInventory(outPath, updated);
    reporter.output('inventory-path', outPath);
    reporter.output(
      'releases',
      JSON.stringify(
        releaseSteps.map((s) => ({
          name: s.name,
          version: s.what.split('@')[1] ?? '',
          outcome: verifyProblems.has(s.name) ? 'failed' : s.outcome,
        })),
      ),
    );
    const failed = steps.filter((s) => s.outcome === 'failed' || verifyProblems.has(s.name));
    const skipped = steps.filter((s) => s.outcome === 'skipped');
    const count = (o: Outcome) => steps.filter((s) => s.kind === 'release' && s.outcome === o).length;
    reporter.summary(
      [
        heading(`helm-platform on cluster ${spec.name}`),
        `${count('installed')} installed, ${count('upgraded')} upgraded, ${count('unchanged')} unchanged, ${count('failed')} failed, ${count('skipped')} skipped, ${offReports.length} off; concurrency ${concurrency}; API server ${access.apiServer} (kubeconfig kept on the runner only).`,
        ...(sel.warnings.length ? [bullets(sel.warnings.map((w) => `⚠ ${w}`))] : []),
        ...(grafanaNote ? [grafanaNote] : []),
        stepsTable([...steps, ...offReports], false),
        graph(steps),
        heading('Verification', 3),
        bullets(verification),
        timingsTable(phases),
      ].join('\n\n'),
    );
    if (failed.length || skipped.length)
      throw new StageError(`${failed.length} release(s)/step(s) failed and ${skipped.length} were skipped; the rest finished`, [
        ...failed.map((s) => `${s.name}: ${s.detail ?? 'failed'}`),
        ...skipped.map((s) => `${s.name}: skipped (${s.detail})`),
      ]);
    return { plan: false, steps: [...steps, ...offReports], verification, inventoryPath: outPath };
  } finally {
    work.remove();
  }
}
