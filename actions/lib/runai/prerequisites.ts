// What must hold before either Run:ai phase changes anything (runai.md §2.3): Kubernetes in Run:ai's supported
// range, the platform releases the chart needs deployed (from the earlier stages' inventory), the admin
// password acceptable to Run:ai. Pure: each missing piece comes back named, with what to do.
import semver from 'semver';
import compat from '../config/compat.json' with { type: 'json' };
import type { ClusterSpec } from '../config/types.ts';
import type { ChartRelease } from '../helm/manifest.ts';
import type { Inventory } from '../inventory/types.ts';

/** How the checks name a platform release. */
const WHAT: Record<string, string> = {
  'ingress-nginx': 'the ingress controller',
  'gpu-operator': 'the NVIDIA GPU Operator',
  'kube-prometheus-stack': 'Prometheus',
  'prometheus-adapter': 'the Prometheus adapter',
  'knative-operator': 'Knative',
  lws: 'LeaderWorkerSet',
};

/** Run:ai's password policy (runai.md §1.3): at least 8 characters, a digit, a lower- and an upper-case letter, a symbol. */
export function passwordPolicyProblems(password: string): string[] {
  const missing = [
    password.length < 8 ? 'at least 8 characters' : '',
    /\d/.test(password) ? '' : 'a digit',
    /[a-z]/.test(password) ? '' : 'a lower-case letter',
    /[A-Z]/.test(password) ? '' : 'an upper-case letter',
    /[^A-Za-z0-9]/.test(password) ? '' : 'a symbol',
  ].filter(Boolean);
  return missing.length ? [`the Run:ai admin password needs ${missing.join(', ')} (Run:ai's password policy)`] : [];
}

/** The Kubernetes range a Run:ai version supports, from config/compat.json. */
export function supportedKubernetes(runaiVersion: string): { kubernetes: string; shown: string } | undefined {
  const lines = compat.runai.lines as Record<string, { kubernetes: string; shown: string }>;
  return lines[runaiVersion.split('.').slice(0, 2).join('.')];
}

/**
 * Problems that stop `release` (runai-backend or runai-cluster) from installing on the cluster the inventory
 * describes. `platform` holds the names of helm-platform's releases: needs outside it (the other Run:ai
 * release) are checked by the phase itself.
 */
export function prerequisiteProblems(inv: Inventory, spec: ClusterSpec, release: ChartRelease, platform: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const k8s = inv.kubernetes;
  if (!k8s) problems.push('Kubernetes: the inventory has no kubernetes section; run the kubespray stage (bcmkube kubespray) first');
  else {
    const supported = supportedKubernetes(spec.runai.version);
    const version = semver.coerce(k8s.version);
    if (!supported) problems.push(`Run:ai ${spec.runai.version}: no supported Kubernetes range is known (config/compat.json)`);
    else if (!version || !semver.satisfies(version, supported.kubernetes))
      problems.push(`Kubernetes ${k8s.version} is outside Run:ai ${spec.runai.version}'s supported range ${supported.shown}`);
  }
  const needs = release.needs.filter((n) => platform.has(n) && !(n === 'ingress-nginx' && spec.platform.ingress === 'none'));
  if (!inv.platform) {
    if (needs.length)
      problems.push(
        `platform releases (${needs.join(', ')}): the inventory has no platform section; run the helm-platform stage (bcmkube platform) first`,
      );
    return problems;
  }
  for (const need of needs) {
    const what = `${WHAT[need] ?? need} (release ${need})`;
    if (spec.platform.releases[need]?.enabled === false) {
      problems.push(`${what} is switched off in the spec (platform.releases.${need}.enabled: false), and ${release.name} needs it`);
      continue;
    }
    const state = inv.platform.releases.find((r) => r.name === need);
    if (!state) problems.push(`${what} is not in the inventory's platform releases; run the helm-platform stage`);
    else if (state.status !== 'deployed')
      problems.push(`${what} is ${state.status}, not deployed; fix it and re-run the helm-platform stage`);
  }
  return problems;
}
