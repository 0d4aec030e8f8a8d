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

interface DocumentedRange {
  range: string;
  shown: string;
  source: string;
}

interface RunaiLine {
  kubernetes: string;
  shown: string;
  gpuOperator?: DocumentedRange[];
  knativeFeatures?: { source: string; autoscaler: Record<string, string>; features: Record<string, string> };
}

const lineOf = (runaiVersion: string): RunaiLine | undefined =>
  (compat.runai.lines as Record<string, RunaiLine>)[runaiVersion.split('.').slice(0, 2).join('.')];

/** The Kubernetes range a Run:ai version supports, from config/compat.json. */
export function supportedKubernetes(runaiVersion: string): { kubernetes: string; shown: string } | undefined {
  return lineOf(runaiVersion);
}

/**
 * The GPU Operator version against every range the Run:ai docs give for this line (config/compat.json): outside all
 * of them is a problem; inside some but not all is a warning naming the page that disagrees.
 */
export function gpuOperatorFindings(runaiVersion: string, gpuOperatorVersion: string): { problems: string[]; warnings: string[] } {
  const ranges = lineOf(runaiVersion)?.gpuOperator ?? [];
  const version = semver.coerce(gpuOperatorVersion);
  if (!ranges.length || !version) return { problems: [], warnings: [] };
  const inside = ranges.filter((r) => semver.satisfies(version, r.range));
  const outside = ranges.filter((r) => !inside.includes(r));
  const shown = (rs: DocumentedRange[]) => rs.map((r) => `${r.shown} (${r.source})`).join('; ');
  if (!inside.length)
    return {
      problems: [
        `the NVIDIA GPU Operator ${gpuOperatorVersion} is outside every range documented for Run:ai ${runaiVersion}: ${shown(ranges)}`,
      ],
      warnings: [],
    };
  return {
    problems: [],
    warnings: outside.length
      ? [
          `the NVIDIA GPU Operator ${gpuOperatorVersion} is supported for Run:ai ${runaiVersion} by ${shown(inside)}, but not by ${shown(outside)}: the docs disagree`,
        ]
      : [],
  };
}

/** Knative Serving settings Run:ai asks for that the cluster's KnativeServing (spec.config) lacks, each named. */
export function knativeProblems(runaiVersion: string, knativeServing: unknown): string[] {
  const wanted = lineOf(runaiVersion)?.knativeFeatures;
  if (!wanted) return [];
  if (!knativeServing) return ['Knative: there is no KnativeServing knative-serving/knative-serving; the helm-platform stage applies it'];
  const config = ((knativeServing as { spec?: { config?: Record<string, Record<string, unknown>> } }).spec?.config ?? {}) as Record<
    string,
    Record<string, unknown> | undefined
  >;
  const missing = [
    ...Object.entries(wanted.autoscaler)
      .filter(([k, v]) => String(config.autoscaler?.[k] ?? '') !== v)
      .map(([k, v]) => `autoscaler.${k}: "${v}"`),
    ...Object.entries(wanted.features)
      .filter(([k, v]) => String(config.features?.[k] ?? '') !== v)
      .map(([k, v]) => `features.${k}: ${v}`),
  ];
  return missing.length
    ? [`Knative: KnativeServing knative-serving lacks what Run:ai needs for inference, in spec.config: ${missing.join(', ')}`]
    : [];
}

/** Run:ai asks for a default IngressClass ("make sure that a default ingress controller is set"). */
export function ingressClassProblems(classes: unknown[]): string[] {
  const annotated = (c: unknown) =>
    (c as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations?.[
      'ingressclass.kubernetes.io/is-default-class'
    ] === 'true';
  if (classes.some(annotated)) return [];
  const names = classes.map((c) => (c as { metadata?: { name?: string } }).metadata?.name).filter(Boolean);
  return [
    `no default IngressClass (annotation ingressclass.kubernetes.io/is-default-class: "true") among ${names.length ? names.join(', ') : 'none'}: Run:ai needs one`,
  ];
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
  const gpuOperator = inv.platform?.releases.find((r) => r.name === 'gpu-operator');
  if (gpuOperator && spec.platform.releases['gpu-operator']?.enabled !== false)
    problems.push(...gpuOperatorFindings(spec.runai.version, gpuOperator.version).problems);
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
