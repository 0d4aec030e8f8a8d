// Helm values for the two Run:ai charts: one object per chart, built from the spec and the phase's facts, the
// user's overrides (platform.releases.<release>.values) deep-merged over it, serialised once into one file
// (runai.md §4.7: a duplicated key or `--set` mixed with values silently lost settings before).
import * as yaml from 'js-yaml';
import { mergeValues } from '../helm/selection.ts';
import { PULL_SECRET } from './objects.ts';

type Values = Record<string, unknown>;

const isObject = (v: unknown): v is Values => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** The control-plane URL's host and port: https://<domain>[:port]. */
export function controlPlaneUrl(domain: string, port: number, url?: string): string {
  if (url) return url.replace(/\/+$/, '');
  return `https://${domain}${port === 443 ? '' : `:${port}`}`;
}

export interface BackendValuesInput {
  domain: string;
  /** The URL users and the cluster reach the control plane on. */
  url: string;
  customCA: boolean;
  adminUser: string;
  adminPassword: string;
  /** Ingress class the platform installed, when it is ingress-nginx. */
  ingressClass?: string;
  overrides?: Values;
}

/** Values of the control-plane chart (runai.md §1.3). */
export function backendValues(v: BackendValuesInput): Values {
  const port = new URL(v.url).port;
  const global: Values = {
    // host name only: a port here broke the ingress host rules (runai.md §4.2a)
    domain: v.domain,
    customCA: { enabled: v.customCA },
    imagePullSecrets: [{ name: PULL_SECRET }],
    ingress: { tlsSecretName: 'runai-backend-tls', ...(v.ingressClass ? { ingressClass: v.ingressClass } : {}) },
  };
  const values: Values = {
    global,
    tenantsManager: { config: { adminUsername: v.adminUser, adminPassword: v.adminPassword } },
  };
  if (port && port !== '443') {
    // Behind a NodePort, Keycloak must advertise an issuer with the port, and the backend must validate tokens
    // against that issuer instead of the port-less https://<domain> (runai.md §4.2b; keycloakExternalEndpoint is
    // the predecessor's, undocumented by Run:ai).
    values.keycloakx = {
      extraEnv: yaml.dump([
        { name: 'KC_HOSTNAME', value: `https://${v.domain}:${port}/auth` },
        { name: 'KC_HOSTNAME_STRICT', value: 'false' },
      ]),
    };
    global.keycloakExternalEndpoint = `${v.domain}:${port}`;
    values.clusterService = { keycloakExternalEndpoint: `${v.domain}:${port}` };
  }
  return mergeValues(values, v.overrides ?? {});
}

/**
 * The token issuer the control plane's backend accepts with these values: Keycloak's realm on
 * global.keycloakExternalEndpoint when set, else on the port-less global.domain.
 */
export function backendIssuer(values: Values): string {
  const global = (isObject(values.global) ? values.global : {}) as Values;
  const host = typeof global.keycloakExternalEndpoint === 'string' ? global.keycloakExternalEndpoint : String(global.domain ?? '');
  return `https://${host}/auth/realms/runai`;
}

export interface ClusterValuesInput {
  /** Every `--set` of the control plane's install command, as Helm reads them (InstallInfo.values). */
  installValues: Values;
  /** runai.domain: what a control plane writes for controlPlane.url and cluster.url (the bare host name). */
  domain: string;
  clientSecret: string;
  clusterUid: string;
  customCA: boolean;
  overrides?: Values;
}

/**
 * Values of the runai-cluster chart (runai.md §2.2): every `--set` of the install command exactly as the control
 * plane wrote it (it knows its own URL: real ones write the bare host name, not https://host:port), with only
 * what it leaves out added, then the user's overrides.
 */
export function clusterValues(v: ClusterValuesInput): Values {
  const fallback: Values = {
    controlPlane: { url: v.domain, clientSecret: v.clientSecret },
    cluster: { uid: v.clusterUid, url: v.domain },
    global: { customCA: { enabled: v.customCA } },
  };
  return mergeValues(mergeValues(fallback, v.installValues), v.overrides ?? {});
}

/** Dotted paths of every leaf, for the summary (names only, never values). */
export function valueKeys(values: Values, prefix = ''): string[] {
  return Object.entries(values).flatMap(([k, v]) => (isObject(v) ? valueKeys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

export function valuesYaml(values: Values, header: string): string {
  return `# ${header}\n${yaml.dump(values, { lineWidth: -1, noRefs: true })}`;
}
