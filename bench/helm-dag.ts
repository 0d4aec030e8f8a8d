// helm-platform's dependency graph against the lab's cluster stand-in: each release is what the stage does
// for it (namespace apply + `helm upgrade --install --atomic --wait`, as real stand-in processes), held for a
// time proportional to the predecessor's --timeout. Wall time of the graph at the stage's concurrency vs its
// critical path and vs the sequential sum, both over the same measured per-release durations.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureNamespace, upgradeInstall } from '../actions/lib/helm/cluster.ts';
import { criticalPath, runDag } from '../actions/lib/helm/dag.ts';
import type { KubeTools } from '../actions/lib/helm/kube-tools.ts';
import { loadPlatformManifest } from '../actions/lib/helm/manifest.ts';
import { ensureRealHelmKubectl } from '../test/lab/repo/index.ts';
import { spread } from './measure.ts';

const ROOT = resolve(import.meta.dirname, '..');

export async function benchHelmDag() {
  const runs = Number(process.env.BENCH_DAG_RUNS ?? 3);
  /** Milliseconds of stand-in install time per second of the release's --timeout. */
  const scale = Number(process.env.BENCH_DAG_MS_PER_TIMEOUT_SECOND ?? 20);
  const concurrency = 4;
  const manifest = loadPlatformManifest(join(ROOT, 'helm/platform.yaml'));
  const steps = manifest.releases.map((r) => ({ name: r.name, needs: r.needs }));
  const nominal = Object.fromEntries(manifest.releases.map((r) => [r.name, (r.timeoutSeconds * scale) / 1000]));
  const bins = await ensureRealHelmKubectl();
  const dir = mkdtempSync(join(tmpdir(), 'bench-helm-dag-'));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ releases: Object.fromEntries(manifest.releases.map((r) => [r.name, { delayMs: r.timeoutSeconds * scale }])) }),
  );
  writeFileSync(join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
  const samples: Array<{ wall: number; cp: number; sum: number }> = [];
  try {
    for (let i = 0; i < runs; i++) {
      const t: KubeTools = {
        helm: join(ROOT, 'test/lab/standins/helm'),
        kubectl: join(ROOT, 'test/lab/standins/kubectl'),
        kubeconfig: join(dir, 'kubeconfig'),
        env: {
          ...process.env,
          BCMKUBE_STANDIN_STATE: join(dir, `state-${i}.json`),
          BCMKUBE_STANDIN_LOG: join(dir, `log-${i}.jsonl`),
          BCMKUBE_STANDIN_CONFIG: join(dir, 'config.json'),
          BCMKUBE_REAL_HELM: bins.helm,
          BCMKUBE_REAL_KUBECTL: bins.kubectl,
        },
      };
      const took: Record<string, number> = {};
      const start = performance.now();
      const results = await runDag(steps, concurrency, async (name) => {
        const r = manifest.releases.find((x) => x.name === name)!;
        const s = performance.now();
        await ensureNamespace(t, r.namespace, r.namespaceLabels);
        const res = await upgradeInstall(t, {
          name,
          chart: `lab/${r.chart}`,
          version: r.version,
          namespace: r.namespace,
          timeoutSeconds: r.timeoutSeconds,
          valuesFiles: [],
        });
        took[name] = (performance.now() - s) / 1000;
        return { ok: res.ok, value: res.error };
      });
      const wall = (performance.now() - start) / 1000;
      const failed = [...results].filter(([, r]) => r.status !== 'ok');
      if (failed.length)
        throw new Error(`helm DAG bench: ${failed.map(([n, r]) => `${n} ${r.status} ${r.value ?? r.error ?? ''}`).join('; ')}`);
      samples.push({ wall, cp: criticalPath(steps, took).length, sum: Object.values(took).reduce((a, b) => a + b, 0) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ratio = (f: (s: (typeof samples)[number]) => number) => {
    const v = samples.map(f).sort((a, b) => a - b);
    const r3 = (x: number) => Number(x.toFixed(3));
    return { median: r3(v[Math.floor(v.length / 2)]!), min: r3(v[0]!), max: r3(v.at(-1)!), runs: v.length };
  };
  const nominalCp = criticalPath(steps, nominal);
  return {
    what: `helm-platform's ${steps.length} releases as a DAG, ${concurrency} at a time, against the lab cluster stand-in: per release a namespace apply and helm upgrade --install (real stand-in processes), held ${scale} ms per second of the release's --timeout (GPU Operator 900 s → ${(900 * scale) / 1000} s)`,
    concurrency,
    msPerTimeoutSecond: scale,
    nominal: {
      criticalPathSeconds: Number(nominalCp.length.toFixed(2)),
      criticalPath: nominalCp.path,
      sumSeconds: Number(
        Object.values(nominal)
          .reduce((a, b) => a + b, 0)
          .toFixed(2),
      ),
    },
    wallSeconds: spread(samples.map((s) => s.wall)),
    criticalPathSeconds: spread(samples.map((s) => s.cp)),
    sequentialSumSeconds: spread(samples.map((s) => s.sum)),
    wallOverCriticalPath: ratio((s) => s.wall / s.cp),
    wallOverSum: ratio((s) => s.wall / s.sum),
    goal: { wallOverCriticalPathAtMost: 1.05, wallOverSumAtMost: 0.6 },
  };
}
