// What GET /api/v1/clusters/{uuid}/cluster-install-info says about installing the cluster chart. The
// installation string is a shell command; it is parsed, never run (runai.md §3.4), and never logged (it holds
// the client secret).
import { StageError } from '../util/errors.ts';

export interface InstallInfo {
  clientSecret: string;
  /** The exact chart version the control plane asks for (`--version="…"`), when it names one. */
  chartVersion?: string;
  /** `--set key=value` pairs of the installation string, as written. */
  sets: Record<string, string>;
  /** The same pairs as Helm reads them: nested under their dotted keys, typed as `--set` types them. */
  values: Record<string, unknown>;
  chartRepoURL?: string;
}

/** `--set k=v` pairs (several per flag, comma-separated, as Helm allows) and `--version` of an installation string. */
export function parseInstallationString(s: string): { sets: Record<string, string>; strings: Set<string>; version?: string } {
  const sets: Record<string, string> = {};
  const strings = new Set<string>();
  for (const m of s.matchAll(/--set(-string)?[ =]("[^"]*"|'[^']*'|[^\s\\]+)/g)) {
    const arg = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
    for (const pair of arg.split(/,(?=[\w.-]+=)/)) {
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const key = pair.slice(0, eq);
      sets[key] = pair.slice(eq + 1).replace(/^(["'])(.*)\1$/, '$2');
      if (m[1]) strings.add(key);
      else strings.delete(key);
    }
  }
  const version = /--version[ =]["']?([\w.+-]+)["']?/.exec(s)?.[1];
  return { sets, strings, ...(version ? { version } : {}) };
}

/** A `--set` value as Helm types it: true/false, null, a plain integer, else the string. */
export function helmSetValue(raw: string): unknown {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (raw === 'null') return null;
  if (/^(0|-?[1-9]\d{0,14})$/.test(raw)) return Number(raw);
  return raw;
}

/** Dotted `--set` keys as the nested values Helm builds from them. */
export function setsToValues(sets: Record<string, string>, strings: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(sets)) {
    const path = key.split('.');
    let at = out;
    for (const seg of path.slice(0, -1)) {
      const next = at[seg];
      at = (at[seg] = next && typeof next === 'object' && !Array.isArray(next) ? next : {}) as Record<string, unknown>;
    }
    at[path.at(-1)!] = strings.has(key) ? raw : helmSetValue(raw);
  }
  return out;
}

/**
 * The install info of cluster `uuid`. Refuses an answer without a client secret (the predecessor passed an
 * empty one on to Helm) and one that names a different cluster.
 */
export function parseInstallInfo(body: unknown, uuid: string, clusterName: string): InstallInfo {
  const b = (body ?? {}) as { installationStr?: unknown; clientSecret?: unknown; chartRepoURL?: unknown; bootstrapToken?: unknown };
  const { sets, strings, version } = parseInstallationString(typeof b.installationStr === 'string' ? b.installationStr : '');
  const clientSecret =
    (sets['controlPlane.clientSecret'] ?? '').trim() || (typeof b.clientSecret === 'string' ? b.clientSecret : '').trim();
  if (!clientSecret) {
    const newer =
      typeof b.bootstrapToken === 'string' ? ' It sent a bootstrapToken instead: that is a Run:ai 3.x control plane, not 2.21.' : '';
    throw new StageError(
      `Run:ai gave no client secret for cluster '${clusterName}' (${uuid}) in its install info; refusing to install runai-cluster with an empty secret.${newer} Check the control plane's cluster-service logs (kubectl logs -n runai-backend deploy/runai-backend-cluster-service).`,
    );
  }
  const uid = sets['cluster.uid'];
  if (uid && uid !== uuid) throw new StageError(`Run:ai install info for cluster '${clusterName}' names cluster.uid ${uid}, not ${uuid}`);
  return {
    clientSecret,
    ...(version ? { chartVersion: version } : {}),
    sets,
    values: setsToValues(sets, strings),
    ...(typeof b.chartRepoURL === 'string' && b.chartRepoURL ? { chartRepoURL: b.chartRepoURL } : {}),
  };
}
