// What helm-platform installs for a spec: the manifest's releases with the spec's overrides (on/off, version,
// values), the values derived from the spec, the steps Helm does not do, all checked before anything runs.
import type { ClusterSpec } from '../config/types.ts';
import { findInlineSecrets } from '../config/semantics.ts';
import { UsageError } from '../util/errors.ts';
import { nearest } from '../util/similar.ts';
import { dependencyOrder, type DagStep } from './dag.ts';
import type { PlatformManifest, PlatformRelease } from './manifest.ts';

export type Values = Record<string, unknown>;

export interface SelectedRelease {
  /** The manifest entry with the spec's version applied. */
  release: PlatformRelease;
  /** helm/values/<release>.yaml as parsed (the first -f). */
  baseValues: Values;
  /** Derived from the spec, then the spec's own values for this release (the second -f, written to the work folder). */
  overrides: Values;
  /** What Helm keeps as the release's user values: base, then overrides (what `helm get values` answers). */
  values: Values;
  versionFrom: 'manifest' | 'spec';
}

/** Cluster changes outside Helm that belong in the graph: they need a release and are reported like one. */
export interface ExtraStep extends DagStep {
  kind: 'default-storageclass' | 'knative-serving' | 'gpu-observability';
  /** What it does, for the summary and the graph. */
  label: string;
}

export interface PlatformSelection {
  releases: SelectedRelease[];
  extras: ExtraStep[];
  /** Releases not installed, and why. */
  off: Array<{ name: string; why: string }>;
  /** Consequences the user should know about (not errors). */
  warnings: string[];
  /** KnativeServing's spec.version, when Knative is on. */
  knativeServingVersion?: string;
}

const PINNED = /^v?\d+\.\d+\.\d+([-+].*)?$/;
/** Run:ai 2.21 supports Knative Serving 1.11–1.16 (its release notes); the operator installs its own minor. */
export const KNATIVE_SERVING_SUPPORTED = { min: 11, max: 16 };

const isMap = (v: unknown): v is Values => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** Helm's merge of -f files: maps merge key by key, anything else (lists included) is replaced by the later file. */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isMap(out[k]) && isMap(v) ? mergeValues(out[k] as Values, v) : v;
  return out;
}

/** Values the spec decides, so a user never has to repeat the spec in values. */
export function derivedValues(name: string, spec: ClusterSpec): Values {
  switch (name) {
    case 'gpu-operator':
      return { driver: { enabled: spec.platform.gpu_driver } };
    case 'ingress-nginx':
      return ingressFrontDoor(spec.runai.ingress_port);
    default:
      return {};
  }
}

/**
 * Run:ai's URL uses runai.ingress_port, so the controller must answer on it. 443, Run:ai's documented front door, is
 * outside the NodePort range: the controller then runs on every node with host ports 80/443 (no load balancer on BCM
 * networks); any other port is the HTTPS NodePort.
 */
export function ingressFrontDoor(port: number): Values {
  if (port === 443) return { controller: { kind: 'DaemonSet', hostPort: { enabled: true, ports: { http: 80, https: 443 } } } };
  return { controller: { service: { nodePorts: { https: port } } } };
}

function whyOff(name: string, spec: ClusterSpec): string | undefined {
  if (name === 'ingress-nginx' && spec.platform.ingress === 'none') return 'platform.ingress: none';
  if (spec.platform.releases[name]?.enabled === false) return `platform.releases.${name}.enabled: false`;
  return undefined;
}

/** The serving minor the Knative operator installs (operator v1.16.x → "1.16"). */
export function knativeServingVersion(operatorVersion: string): string {
  const m = /^v?(\d+)\.(\d+)\./.exec(operatorVersion);
  if (!m) throw new UsageError(`knative-operator version '${operatorVersion}' is not a version like v1.16.0`);
  return `${m[1]}.${m[2]}`;
}

/**
 * The releases to install for this spec, in dependency order, with their values. Refuses (naming the spec
 * field and what to do) unknown release names, unpinned versions, an ingress both off and on, a release that
 * needs one that is off, and inline secrets in any values.
 */
export function selectPlatform(manifest: PlatformManifest, spec: ClusterSpec, readValues: (file: string) => Values): PlatformSelection {
  const names = manifest.releases.map((r) => r.name);
  const problems: string[] = [];
  const warnings: string[] = [];
  const known = [...names, ...manifest.runai.map((r) => r.name)];
  for (const [name, o] of Object.entries(spec.platform.releases)) {
    if (!known.includes(name)) {
      const near = nearest(name, known);
      problems.push(
        `platform.releases.${name}: no release '${name}' in helm/platform.yaml${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}; releases: ${names.join(', ')}`,
      );
    }
    if (o.version !== undefined && !PINNED.test(o.version))
      problems.push(
        `platform.releases.${name}.version: '${o.version}' must be a pinned chart version like 1.2.3 (never a range or "latest")`,
      );
  }
  if (spec.platform.ingress === 'none' && spec.platform.releases['ingress-nginx']?.enabled === true)
    problems.push(
      'platform.releases.ingress-nginx.enabled is true but platform.ingress is none: set platform.ingress: ingress-nginx, or drop the override',
    );
  const off = manifest.releases.flatMap((r) => {
    const why = r.enabled ? whyOff(r.name, spec) : 'off in helm/platform.yaml';
    return why && spec.platform.releases[r.name]?.enabled !== true ? [{ name: r.name, why }] : [];
  });
  const offNames = new Set(off.map((o) => o.name));
  const on = manifest.releases.filter((r) => !offNames.has(r.name));
  for (const r of on)
    for (const need of r.needs.filter((n) => offNames.has(n)))
      problems.push(
        `${r.name} needs ${need}, which is off (${off.find((o) => o.name === need)!.why}): turn ${r.name} off too (platform.releases.${r.name}.enabled: false) or turn ${need} on`,
      );
  if (spec.runai.enabled)
    for (const r of manifest.runai) {
      const missing = r.needs.filter((n) => offNames.has(n));
      if (missing.length)
        warnings.push(
          `${r.name} (runai stage) needs ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} off here: the runai stage will refuse until ${missing.length > 1 ? 'they are' : 'it is'} installed${missing.includes('ingress-nginx') ? ' (ingress-nginx is Run:ai 2.21’s ingress; it was retired upstream in March 2026, so plan a Gateway API move with a later Run:ai)' : ''}`,
        );
    }
  const enabled = new Set(on.map((r) => r.name));
  let knative: string | undefined;
  const releases = on.map((r): SelectedRelease => {
    const o = spec.platform.releases[r.name] ?? {};
    const release = { ...r, version: o.version ?? r.version };
    let baseValues: Values = {};
    try {
      baseValues = readValues(r.values);
    } catch (err) {
      problems.push(`helm/${r.values} (values of ${r.name}): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
    for (const s of findInlineSecrets(baseValues))
      problems.push(`helm/${r.values}: ${s.path} holds a value; secrets never go in values files (they come from inputs into Secrets)`);
    const overrides = mergeValues(derivedValues(r.name, spec), o.values ?? {});
    if (r.name === 'knative-operator') {
      knative = knativeServingVersion(release.version);
      const minor = Number(knative.split('.')[1]);
      if (spec.runai.enabled && (minor < KNATIVE_SERVING_SUPPORTED.min || minor > KNATIVE_SERVING_SUPPORTED.max))
        problems.push(
          `knative-operator ${release.version} installs Knative Serving ${knative}, but Run:ai 2.21 supports Serving 1.${KNATIVE_SERVING_SUPPORTED.min}–1.${KNATIVE_SERVING_SUPPORTED.max}: pin platform.releases.knative-operator.version to v1.${KNATIVE_SERVING_SUPPORTED.min}.x–v1.${KNATIVE_SERVING_SUPPORTED.max}.x`,
        );
    }
    return {
      release,
      baseValues,
      overrides,
      values: mergeValues(baseValues, overrides),
      versionFrom: o.version !== undefined && o.version !== r.version ? 'spec' : 'manifest',
    };
  });
  if (problems.length)
    throw new UsageError(
      `helm-platform: ${problems.length} problem(s), nothing was changed:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  const extras: ExtraStep[] = [];
  if (enabled.has('local-path-provisioner'))
    extras.push({
      name: 'default-storageclass',
      needs: ['local-path-provisioner'],
      kind: 'default-storageclass',
      label: 'local-path is the default StorageClass',
    });
  if (knative)
    extras.push({
      name: 'knative-serving',
      needs: ['knative-operator'],
      kind: 'knative-serving',
      label: `KnativeServing ${knative}`,
    });
  if (enabled.has('kube-prometheus-stack'))
    extras.push({
      name: 'gpu-observability',
      needs: ['kube-prometheus-stack'],
      kind: 'gpu-observability',
      label: 'GPU alert rules and Grafana dashboards',
    });
  const ordered = dependencyOrder<DagStep>([...releases.map((r) => r.release), ...extras]).map((s) => s.name);
  releases.sort((a, b) => ordered.indexOf(a.release.name) - ordered.indexOf(b.release.name));
  return { releases, extras, off, warnings, ...(knative ? { knativeServingVersion: knative } : {}) };
}

/** The graph the stage runs: releases and extra steps. */
export function platformSteps(sel: PlatformSelection): DagStep[] {
  return [...sel.releases.map((r) => ({ name: r.release.name, needs: r.release.needs })), ...sel.extras];
}
