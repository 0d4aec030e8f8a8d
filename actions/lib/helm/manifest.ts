// helm/platform.yaml: the pinned platform releases and their dependencies, validated with clear paths.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';
import { StageError, UsageError } from '../util/errors.ts';
import { dependencyOrder } from './dag.ts';

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

/** A release without a values file: Run:ai's charts, whose values the runai action generates from the spec. */
export type ChartRelease = Omit<PlatformRelease, 'values'>;

export interface PlatformManifest {
  releases: PlatformRelease[];
  runai: ChartRelease[];
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
  if (at.startsWith('runai')) {
    if (r.values !== undefined)
      problems.push(
        `${at}.values: the runai action generates Run:ai's values from the spec; remove this key (overrides go in platform.releases.<name>.values)`,
      );
  } else str('values', /^values\/[a-z0-9.-]+\.yaml$/, 'must be values/<file>.yaml');
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

export { dependencyOrder };

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
  dependencyOrder(releases, source);
  dependencyOrder(runai, source, new Set(releases.map((r) => r.name)));
  return { releases, runai };
}

export function loadPlatformManifest(path: string): PlatformManifest {
  return parsePlatformManifest(readFileSync(path, 'utf8'), path);
}

/**
 * The helm/ folder shipped with bcmkube (platform.yaml and values/): beside the sources in a checkout, two
 * levels up from a bundle in dist/<action>/.
 */
export function platformDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = [resolve(here, '../../../helm'), resolve(here, '../../helm')].find((d) => existsSync(join(d, 'platform.yaml')));
  if (!found) throw new StageError(`helm/platform.yaml is not beside this bcmkube (looked from ${here}); is the checkout complete?`);
  return found;
}
