// Knative Serving as Run:ai 2.21 needs it, through the Knative operator: one KnativeServing resource with
// Kourier as its ingress and Run:ai's feature flags, then a wait until the operator reports it Ready.
// The flags are exported as data so the runai stage can check them as a prerequisite.
import { StageError } from '../util/errors.ts';
import { namespaceManifest } from './cluster.ts';
import { runKubectl, type KubeTools } from './kube-tools.ts';

export const KNATIVE_SERVING_NAMESPACE = 'knative-serving';
export const KNATIVE_SERVING_NAME = 'knative-serving';

/** Kourier, which the operator installs itself (no Istio): the ingress class Knative's routes use. */
export const KOURIER_INGRESS_CLASS = 'kourier.ingress.networking.knative.dev';

/**
 * ConfigMap config-features in knative-serving: the flags Run:ai 2.21's system requirements ask for (its
 * scheduler, node selection, tolerations and the volumes its inference workloads mount).
 */
export const RUNAI_KNATIVE_FEATURES: Readonly<Record<string, 'enabled'>> = {
  'kubernetes.podspec-schedulername': 'enabled',
  'kubernetes.podspec-nodeselector': 'enabled',
  'kubernetes.podspec-affinity': 'enabled',
  'kubernetes.podspec-tolerations': 'enabled',
  'kubernetes.podspec-volumes-emptydir': 'enabled',
  'kubernetes.podspec-securitycontext': 'enabled',
  'kubernetes.containerspec-addcapabilities': 'enabled',
  'kubernetes.podspec-persistent-volume-claim': 'enabled',
  'kubernetes.podspec-persistent-volume-write': 'enabled',
  'multi-container': 'enabled',
  'kubernetes.podspec-init-containers': 'enabled',
};

/** ConfigMap config-autoscaler in knative-serving: Run:ai scales idle inference workloads to zero. */
export const RUNAI_KNATIVE_AUTOSCALER: Readonly<Record<string, string>> = { 'enable-scale-to-zero': 'true' };

/** The KnativeServing resource (and its namespace) at the given serving version. */
export function knativeServingManifests(version: string): object[] {
  return [
    namespaceManifest(KNATIVE_SERVING_NAMESPACE, { 'app.kubernetes.io/name': 'knative-serving' }),
    {
      apiVersion: 'operator.knative.dev/v1beta1',
      kind: 'KnativeServing',
      metadata: { name: KNATIVE_SERVING_NAME, namespace: KNATIVE_SERVING_NAMESPACE },
      spec: {
        version,
        // Without an ingress the operator configures Istio, which the platform does not install.
        ingress: { kourier: { enabled: true } },
        config: {
          network: { 'ingress-class': KOURIER_INGRESS_CLASS },
          features: { ...RUNAI_KNATIVE_FEATURES },
          autoscaler: { ...RUNAI_KNATIVE_AUTOSCALER },
        },
      },
    },
  ];
}

/**
 * Waits until the operator reports the KnativeServing Ready. On a timeout the resource stays in the
 * cluster for inspection, and the error names the timeout and the commands to look at it.
 */
export async function waitForKnativeServing(t: KubeTools, timeoutSeconds: number): Promise<void> {
  const ref = `knativeserving/${KNATIVE_SERVING_NAME}`;
  const r = await runKubectl(t, [
    'wait',
    ref,
    '--namespace',
    KNATIVE_SERVING_NAMESPACE,
    '--for=condition=Ready',
    `--timeout=${timeoutSeconds}s`,
  ]);
  if (r.code === 0) return;
  const said = (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' / ').slice(0, 300);
  throw new StageError(
    `KnativeServing ${KNATIVE_SERVING_NAMESPACE}/${KNATIVE_SERVING_NAME} was not Ready within ${timeoutSeconds}s (platform.verify.timeout_seconds): ${said}; it is kept for inspection: kubectl -n ${KNATIVE_SERVING_NAMESPACE} get ${ref} -o yaml; kubectl -n ${KNATIVE_SERVING_NAMESPACE} get pods`,
  );
}
