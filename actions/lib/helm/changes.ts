// Install, upgrade or leave alone: each selected release against what `helm list` and `helm get values` say
// is deployed. A release is unchanged only when its chart version, its values and its health all match.
import * as semver from 'semver';
import { canonicalJson } from '../util/canonical-json.ts';
import { UsageError } from '../util/errors.ts';
import type { DeployedRelease } from './cluster.ts';
import type { SelectedRelease, Values } from './selection.ts';

export type ReleaseChange =
  { action: 'install' } | { action: 'upgrade'; from: string; to: string; why: string[] } | { action: 'unchanged'; version: string };

/** The chart version in helm list's `<chart>-<version>`. */
export function deployedVersion(d: DeployedRelease, chart: string): string {
  return d.chart.startsWith(`${chart}-`) ? d.chart.slice(chart.length + 1) : d.chart;
}

/**
 * Chart versions as charts report them: `v1.16.0` (what we pin) and `1.16.0` (what the knative-operator
 * archive's Chart.yaml says, so what helm list shows) are the same version.
 */
export function sameChartVersion(a: string, b: string): boolean {
  const [va, vb] = [semver.parse(a), semver.parse(b)];
  return va && vb ? va.compare(vb) === 0 && va.build.join('.') === vb.build.join('.') : a === b;
}

export function planChange(sel: SelectedRelease, deployed: DeployedRelease | undefined, deployedValues: Values | undefined): ReleaseChange {
  if (!deployed) return { action: 'install' };
  const from = deployedVersion(deployed, sel.release.chart);
  const why: string[] = [];
  if (!sameChartVersion(from, sel.release.version)) why.push(`chart ${from} → ${sel.release.version}`);
  if (canonicalJson(deployedValues ?? {}) !== canonicalJson(sel.values)) why.push('values changed');
  if (deployed.status !== 'deployed') why.push(`last status ${deployed.status}`);
  return why.length ? { action: 'upgrade', from, to: sel.release.version, why } : { action: 'unchanged', version: from };
}

/** Helm cannot move a release between namespaces: refuse before anything runs, saying how to fix it. */
export function namespaceConflicts(selected: SelectedRelease[], deployed: DeployedRelease[]): void {
  const problems = selected.flatMap((s) =>
    deployed
      .filter((d) => d.name === s.release.name && d.namespace !== s.release.namespace)
      .map(
        (d) =>
          `${d.name} is installed in namespace ${d.namespace}, but helm/platform.yaml puts it in ${s.release.namespace}: uninstall it first (helm uninstall ${d.name} -n ${d.namespace}) or turn it off (platform.releases.${d.name}.enabled: false)`,
      ),
  );
  if (problems.length) throw new UsageError(`helm-platform: nothing was changed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

export function describeChange(c: ReleaseChange): string {
  if (c.action === 'install') return 'install';
  if (c.action === 'unchanged') return 'unchanged';
  return `upgrade ${c.from} → ${c.to} (${c.why.join('; ')})`;
}
