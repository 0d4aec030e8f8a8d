// helm/platform.yaml: the pinned platform releases and their dependencies, validated with clear paths.
import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { UsageError } from '../util/errors.ts';

export interface PlatformRelease {
  name: string;
  chart: string;
  repo: string;
  version: string;
  namespace: string;
  namespaceLabels: Record<string, string>;
  needs: string[];
  timeoutSeconds: number;
  /** Values file, relative to helm/. */
  values: string;
  enabled: boolean;
}

export interface PlatformManifest {
  releases: PlatformRelease[];
  runai: PlatformRelease[];
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkRelease(raw: unknown, at: string, problems: string[]): PlatformRelease | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${at}: must be a mapping`);
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  const str = (k: string, re?: RegExp, what?: string) => {
    if (typeof r[k] !== 'string' || !(r[k] as string).trim()) problems.push(`${at}.${k}: must be non-empty text`);
    else if (re && !re.test(r[k] as string)) problems.push(`${at}.${k}: '${r[k]}' ${what}`);
  };
  str('name', NAME, 'must be a lower-case DNS label');
  str('chart');
  str('repo', /^(https:\/\/|oci:\/\/)/, 'must start with https:// or oci://');
  str('version', /^v?\d+\.\d+\.\d+([-+].*)?$/, 'must be a pinned version like 1.2.3 (never a range or "latest")');
  str('namespace', NAME, 'must be a lower-case DNS label');
  str('values', /^values\/[a-z0-9.-]+\.yaml$/, 'must be values/<file>.yaml');
  if (!Number.isInteger(r.timeoutSeconds) || (r.timeoutSeconds as number) < 30)
    problems.push(`${at}.timeoutSeconds: must be a whole number of seconds, at least 30`);
  if (!Array.isArray(r.needs) || r.needs.some((n) => typeof n !== 'string')) problems.push(`${at}.needs: must be a list of release names`);
  if (typeof r.enabled !== 'boolean') problems.push(`${at}.enabled: must be true or false`);
  const labels = r.namespaceLabels ?? {};
  if (typeof labels !== 'object' || Array.isArray(labels) || Object.values(labels as object).some((v) => typeof v !== 'string')) {
    problems.push(`${at}.namespaceLabels: must map label names to text`);
  }
  return { ...(r as unknown as PlatformRelease), namespaceLabels: labels as Record<string, string> };
}

/** Releases in an order where every release comes after its needs; throws naming a cycle. */
export function dependencyOrder(releases: PlatformRelease[], known = new Set(releases.map((r) => r.name))): PlatformRelease[] {
  const byName = new Map(releases.map((r) => [r.name, r]));
  const order: PlatformRelease[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (r: PlatformRelease, path: string[]) => {
    if (state.get(r.name) === 'done') return;
    if (state.get(r.name) === 'visiting') throw new UsageError(`helm/platform.yaml: dependency cycle ${[...path, r.name].join(' → ')}`);
    state.set(r.name, 'visiting');
    for (const n of r.needs) {
      const dep = byName.get(n);
      if (dep) visit(dep, [...path, r.name]);
      else if (!known.has(n)) throw new UsageError(`helm/platform.yaml: ${r.name} needs '${n}', which is not a release`);
    }
    state.set(r.name, 'done');
    order.push(r);
  };
  for (const r of releases) visit(r, []);
  return order;
}

export function parsePlatformManifest(text: string, source: string): PlatformManifest {
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: source, maxAliases: 0 });
  } catch (err) {
    throw new UsageError(`${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const problems: string[] = [];
  const lists = doc && typeof doc === 'object' ? (doc as Record<string, unknown>) : {};
  const read = (key: 'releases' | 'runai') => {
    const list = lists[key];
    if (!Array.isArray(list)) {
      problems.push(`${key}: must be a list of releases`);
      return [];
    }
    return list.map((r, i) => checkRelease(r, `${key}[${i}]`, problems)).filter((r): r is PlatformRelease => Boolean(r));
  };
  const releases = read('releases');
  const runai = read('runai');
  const seen = new Set<string>();
  for (const r of [...releases, ...runai]) {
    if (seen.has(r.name)) problems.push(`release '${r.name}' appears twice`);
    seen.add(r.name);
  }
  if (problems.length) throw new UsageError(`${source}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  dependencyOrder(releases);
  dependencyOrder(runai, new Set([...releases, ...runai].map((r) => r.name)));
  return { releases, runai };
}

export function loadPlatformManifest(path: string): PlatformManifest {
  return parsePlatformManifest(readFileSync(path, 'utf8'), path);
}
