// Charts for the platform: every pinned chart pulled once into the work folder (from mirrors.charts when set,
// else from each release's own repository; OCI as OCI), then rendered and linted by the real helm.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { StageError } from '../util/errors.ts';
import { runHelm, type KubeTools } from './kube-tools.ts';
import type { ChartRelease } from './manifest.ts';
import { parseRendered } from './rendered.ts';
import type { SelectedRelease, Values } from './selection.ts';

export interface ChartSource {
  /** Where `helm pull` fetches it: `<repo name>/<chart>` or `oci://…/<chart>`. */
  ref: string;
  /** An HTTP(S) repository that `helm repo add` must know first. */
  repo?: { name: string; url: string };
}

/** A repository's name in Helm's repositories.yaml, from its URL (stable, readable). */
export function repoName(url: string): string {
  return url
    .replace(/^[a-z]+:\/\//, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
}

/** Where each release's chart comes from: the mirror (air-gap) holds every chart, else the release's repo. */
export function chartSource(r: { release: ChartRelease }, chartsMirror?: string): ChartSource {
  const url = (chartsMirror ?? r.release.repo).replace(/\/$/, '');
  if (url.startsWith('oci://')) return { ref: `${url}/${r.release.chart}` };
  const name = chartsMirror ? 'bcmkube-mirror' : repoName(url);
  return { ref: `${name}/${r.release.chart}`, repo: { name, url } };
}

export interface PulledChart {
  release: string;
  /** The pulled .tgz (installed from this file, so what was rendered is what is installed). */
  archive: string;
  source: string;
}

async function helmOk(t: KubeTools, args: string[], what: string): Promise<string> {
  const r = await runHelm(t, args);
  if (r.code !== 0) throw new StageError(`${what} failed (helm exit ${r.code}): ${lastLines(r.stderr || r.stdout)}`);
  return r.stdout;
}

function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(-n).join(' / ').slice(0, 400);
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping order in the results. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** `helm repo add` for each repository once (sequentially: Helm locks repositories.yaml), then pulls in parallel. */
export async function pullCharts(
  t: KubeTools,
  releases: Array<{ release: ChartRelease }>,
  dir: string,
  opts: { chartsMirror?: string; caFile?: string; concurrency: number },
): Promise<PulledChart[]> {
  const ca = opts.caFile ? ['--ca-file', opts.caFile] : [];
  const sources = releases.map((r) => chartSource(r, opts.chartsMirror));
  const repos = new Map(sources.flatMap((s) => (s.repo ? [[s.repo.name, s.repo.url] as const] : [])));
  for (const [name, url] of repos) await helmOk(t, ['repo', 'add', name, url, ...ca], `helm repo add ${name} ${url}`);
  return mapLimit(releases, opts.concurrency, async (r) => {
    const src = sources[releases.indexOf(r)]!;
    const dest = join(dir, r.release.name);
    mkdirSync(dest, { recursive: true });
    await helmOk(
      t,
      ['pull', src.ref, '--version', r.release.version, '--destination', dest, ...(src.repo ? [] : ca)],
      `${r.release.name}: helm pull ${src.ref} --version ${r.release.version}`,
    );
    const archive = readdirSync(dest).find((f) => f.endsWith('.tgz'));
    if (!archive) throw new StageError(`${r.release.name}: helm pull left no chart archive in ${dest}`);
    return { release: r.release.name, archive: join(dest, archive), source: src.ref };
  });
}

/** The spec's part of a release's values (derived + overrides), as the second -f file. Never holds a secret. */
export function writeOverrides(dir: string, r: SelectedRelease): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${r.release.name}.yaml`);
  writeFileSync(file, yaml.dump(r.overrides, { sortKeys: true, noRefs: true }));
  return file;
}

export interface RenderResult {
  release: string;
  ok: boolean;
  /** Objects rendered (kind/name), when it rendered. */
  objects: string[];
  /** Documents read only in part (see rendered.ts). */
  warnings: string[];
  error?: string;
  lint?: string;
}

/** `helm template` (then, when asked, `helm lint`) with the release's values: what would be applied, and whether the chart accepts the values. */
export async function renderChart(
  t: KubeTools,
  r: SelectedRelease,
  archive: string,
  valuesFiles: string[],
  kubeVersion: string,
  lint: boolean,
): Promise<RenderResult> {
  const f = valuesFiles.flatMap((v) => ['--values', v]);
  const tpl = await runHelm(t, [
    'template',
    r.release.name,
    archive,
    '--namespace',
    r.release.namespace,
    '--kube-version',
    kubeVersion,
    ...f,
  ]);
  if (tpl.code !== 0) return { release: r.release.name, ok: false, objects: [], warnings: [], error: lastLines(tpl.stderr || tpl.stdout) };
  const parsed = parseRendered(tpl.stdout, `${r.release.name}: helm template`);
  const objects = parsed.objects.map((o) => `${o.kind}/${o.name}`);
  const done = { release: r.release.name, objects, warnings: parsed.warnings };
  if (!lint) return { ...done, ok: true };
  const checked = await runHelm(t, ['lint', archive, '--namespace', r.release.namespace, '--kube-version', kubeVersion, ...f]);
  if (checked.code !== 0) return { ...done, ok: false, error: `lint: ${lastLines(checked.stdout + checked.stderr)}` };
  return { ...done, ok: true };
}

export type { Values };
