// What GET /api/v1/clusters/{uuid}/cluster-install-info says about installing the cluster chart. The
// installation string is a shell command; it is parsed, never run (runai.md §3.4), and never logged (it holds
// the client secret).
import { StageError } from '../util/errors.ts';

export interface InstallInfo {
  clientSecret: string;
  /** The exact chart version the control plane asks for (`--version="…"`), when it names one. */
  chartVersion?: string;
  /** `--set key=value` pairs of the installation string. */
  sets: Record<string, string>;
  chartRepoURL?: string;
}

/** `--set k=v` pairs and `--version` of an installation string. */
export function parseInstallationString(s: string): { sets: Record<string, string>; version?: string } {
  const sets: Record<string, string> = {};
  for (const m of s.matchAll(/--set(?:-string)?[ =]([\w.-]+)=("[^"]*"|'[^']*'|[^\s\\]*)/g))
    sets[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  const version = /--version[ =]["']?([\w.+-]+)["']?/.exec(s)?.[1];
  return { sets, ...(version ? { version } : {}) };
}

/**
 * The install info of cluster `uuid`. Refuses an answer without a client secret (the predecessor passed an
 * empty one on to Helm) and one that names a different cluster.
 */
export function parseInstallInfo(body: unknown, uuid: string, clusterName: string): InstallInfo {
  const b = (body ?? {}) as { installationStr?: unknown; clientSecret?: unknown; chartRepoURL?: unknown; bootstrapToken?: unknown };
  const { sets, version } = parseInstallationString(typeof b.installationStr === 'string' ? b.installationStr : '');
  const clientSecret =
    (typeof b.clientSecret === 'string' ? b.clientSecret : '').trim() || (sets['controlPlane.clientSecret'] ?? '').trim();
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
    ...(typeof b.chartRepoURL === 'string' && b.chartRepoURL ? { chartRepoURL: b.chartRepoURL } : {}),
  };
}
