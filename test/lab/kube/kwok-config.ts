// /etc/kubernetes/kwok.yaml of a lab node: how that node's KWOK (its "kubelet") moves pods along. Pods become
// Running and Ready once bound; pods that do not restart (restartPolicy Never or OnFailure: Jobs, the CUDA smoke
// pod) then complete; deleted pods go. On a GPU node every container's log is the node's captured
// `nvidia-smi -L` output, as a CUDA container running it would print (the platform's smoke pod reads it).
import * as yaml from 'js-yaml';

/** Written inside the node by `lab-kube start kwok` from the node's own nvidia-smi. */
export const GPU_LOG_FILE = '/var/lib/lab-kube/nvidia-smi-L.log';

const podStage = (name: string, matchExpressions: object[], next: object, delayMs?: number) => ({
  apiVersion: 'kwok.x-k8s.io/v1alpha1',
  kind: 'Stage',
  metadata: { name },
  spec: {
    resourceRef: { apiGroup: 'v1', kind: 'Pod' },
    selector: { matchExpressions },
    ...(delayMs ? { delay: { durationMilliseconds: delayMs } } : {}),
    next,
  },
});

const notDeleted = { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' };

const RUNNING = `{{ $now := Now }}
conditions:
{{ range list "Initialized" "Ready" "ContainersReady" "PodScheduled" }}
- {type: {{ . | Quote }}, status: "True", lastTransitionTime: {{ $now | Quote }}}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: true, started: true, restartCount: 0, state: {running: {startedAt: {{ $now | Quote }}}}}
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: true, restartCount: 0, state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}}
{{ end }}
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
phase: Running
startTime: {{ $now | Quote }}
`;

const COMPLETED = `{{ $now := Now }}
conditions:
- {type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
- {type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
containerStatuses:
{{ range .spec.containers }}
- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: false, started: false, restartCount: 0, state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}}
{{ end }}
phase: Succeeded
`;

export function kwokConfig(gpus: number): string {
  const docs: object[] = [
    podStage('pod-ready', [notDeleted, { key: '.status.podIP', operator: 'DoesNotExist' }], { statusTemplate: RUNNING }),
    podStage(
      'pod-complete',
      [
        notDeleted,
        { key: '.status.phase', operator: 'In', values: ['Running'] },
        { key: '.spec.restartPolicy', operator: 'In', values: ['Never', 'OnFailure'] },
      ],
      { statusTemplate: COMPLETED },
      // the container "runs" a moment before it exits, so a watcher sees Running first
      1000,
    ),
    podStage('pod-delete', [{ key: '.metadata.deletionTimestamp', operator: 'Exists' }], { finalizers: { empty: true }, delete: true }),
  ];
  if (gpus > 0) {
    docs.push({
      apiVersion: 'kwok.x-k8s.io/v1alpha1',
      kind: 'ClusterLogs',
      metadata: { name: 'nvidia-smi' },
      spec: { logs: [{ logsFile: GPU_LOG_FILE, follow: false }] },
    });
  }
  return docs.map((d) => yaml.dump(d, { lineWidth: -1 })).join('---\n');
}
