// The Kubernetes objects Run:ai needs before its charts install (runai.md §1.2, §2.2, §4.1, §4.11), built as
// plain data and applied server-side through `kubectl apply -f -` on stdin: secrets never reach argv, a file or
// a last-applied annotation.
import { namespaceManifest } from '../helm/cluster.ts';

export const BACKEND_NAMESPACE = 'runai-backend';
export const CLUSTER_NAMESPACE = 'runai';
export const PULL_SECRET = 'runai-reg-creds';
export const BACKEND_TLS_SECRET = 'runai-backend-tls';
export const CLUSTER_TLS_SECRET = 'runai-cluster-domain-tls-secret';
export const CA_SECRET = 'runai-ca-cert';
export const CA_KEY = 'runai-ca.pem';
/** The labels the cluster chart looks for on the CA secret (org-cert doc). */
export const CA_LABELS = { 'run.ai/cluster-wide': 'true', 'run.ai/name': CA_SECRET };
export const REGISTRY = 'runai.jfrog.io';
export const REGISTRY_USER = 'self-hosted-image-puller-prod';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

export function namespaceObject(name: string, labels: Record<string, string>): KubeObject {
  return namespaceManifest(name, labels) as KubeObject;
}

/** The dockerconfigjson Kubernetes expects for `kubectl create secret docker-registry`. */
export function dockerConfigJson(token: string, registry = REGISTRY, username = REGISTRY_USER): string {
  return JSON.stringify({ auths: { [registry]: { username, password: token, auth: b64(`${username}:${token}`) } } });
}

export function pullSecret(namespace: string, dockerConfig: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: PULL_SECRET, namespace },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': b64(dockerConfig) },
  };
}

export function tlsSecret(namespace: string, name: string, certChain: string, key: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(certChain), 'tls.key': b64(key) },
  };
}

export function caSecret(namespace: string, caPem: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CA_SECRET, namespace, labels: { ...CA_LABELS } },
    type: 'Opaque',
    data: { [CA_KEY]: b64(caPem) },
  };
}

export interface BackendObjectsInput {
  namespaceLabels: { backend: Record<string, string>; cluster: Record<string, string> };
  dockerConfig: string;
  tls: { certChain: string; key: string; ca?: string };
}

/**
 * Everything phase backend applies, namespaces first: both namespaces (Pod Security privileged), the pull
 * secret in both, the domain certificate for the control plane's ingress and the cluster's researcher service,
 * and, for a private CA, runai-ca-cert in both namespaces with the labels the cluster chart selects on.
 */
export function backendObjects(input: BackendObjectsInput): KubeObject[] {
  const { tls } = input;
  return [
    namespaceObject(BACKEND_NAMESPACE, input.namespaceLabels.backend),
    namespaceObject(CLUSTER_NAMESPACE, input.namespaceLabels.cluster),
    pullSecret(BACKEND_NAMESPACE, input.dockerConfig),
    pullSecret(CLUSTER_NAMESPACE, input.dockerConfig),
    tlsSecret(BACKEND_NAMESPACE, BACKEND_TLS_SECRET, tls.certChain, tls.key),
    tlsSecret(CLUSTER_NAMESPACE, CLUSTER_TLS_SECRET, tls.certChain, tls.key),
    ...(tls.ca ? [caSecret(BACKEND_NAMESPACE, tls.ca), caSecret(CLUSTER_NAMESPACE, tls.ca)] : []),
  ];
}

/** `Secret runai/runai-ca-cert` — how the summary names an object (never its data). */
export function describeObject(o: KubeObject): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

/** A Secret's data as `kubectl get secret -o json` returns it, decoded; undefined when absent. */
export function secretData(json: string): Record<string, string> | undefined {
  let doc: { kind?: unknown; data?: unknown };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch {
    return undefined;
  }
  if (doc.kind !== 'Secret' || !doc.data || typeof doc.data !== 'object') return undefined;
  return Object.fromEntries(
    Object.entries(doc.data as Record<string, unknown>)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}
