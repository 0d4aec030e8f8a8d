// The restore as data: phases of steps per node, built without touching anything, so plan mode prints
// exactly what apply runs. The order is etcd's documented one (etcd.io "Disaster recovery", v3.5) on
// Kubespray's layout: stop every API server, stop etcd on every member, restore every member's data dir
// from the one snapshot with its own name and peer URL, start the members together (one alone cannot make
// quorum), wait for a healthy cluster, start the API servers, wait for a ready API. Kubernetes' "Restoring an
// etcd cluster" also restarts kube-controller-manager and kube-scheduler so neither acts on state from
// before the snapshot: they stop with the API server and come back after it.
import { shellCommand } from '../ssh/quote.ts';
import { asRoot, etcdctl, etcdutl, type MemberFacts } from './members.ts';

/** The control plane's static pods (kubeadm's manifests, which Kubespray deploys). */
const STATIC_PODS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
type StaticPod = (typeof STATIC_PODS)[number];
const manifest = (pod: StaticPod) => `/etc/kubernetes/manifests/${pod}.yaml`;
/** Outside the manifests folder, so the kubelet stops the static pod; moved back to start it. */
const parked = (pod: StaticPod) => `/etc/kubernetes/${pod}.yaml.bcmkube-restore`;

/**
 * Fails on a control-plane node without the static pods a restore stops and starts (present, or set aside by an
 * earlier attempt), naming each one missing.
 */
export function staticPodsPresent(): string {
  const checks = STATIC_PODS.map(
    (pod) =>
      `{ [ -e ${shellCommand([manifest(pod)])} ] || [ -e ${shellCommand([parked(pod)])} ] || { echo "no ${manifest(pod)}" >&2; ok=1; }; }`,
  );
  return `ok=0; ${checks.join('; ')}; exit $ok`;
}

export interface RestoreStep {
  node: string;
  what: string;
  /** The remote command line (quoted). */
  command: string;
  /** Sent on the command's stdin: the snapshot's bytes. */
  stdin?: 'snapshot';
  /** Its output must be a snapshot status (etcdutl snapshot status -w json). */
  expect?: 'snapshot-status';
}

/** Steps of a phase run on their nodes at the same time (one node's in order); phases one after another. */
export interface RestorePhase {
  title: string;
  /** Before this phase nothing has been stopped or changed. */
  changes: boolean;
  steps: RestoreStep[];
}

export interface ControlPlaneNode {
  hostname: string;
  address: string;
  apiPort: number;
}

export interface RestoreInput {
  snapshotId: string;
  members: MemberFacts[];
  controlPlane: ControlPlaneNode[];
  /** Seconds each wait may take. */
  waitSeconds: number;
}

export function stagedSnapshot(id: string): string {
  return `/var/tmp/bcmkube-restore-${id}.db`;
}

export function setAside(dataDir: string, id: string): string {
  return `${dataDir}.before-${id}`;
}

/**
 * `mv from to`, and nothing when it was done already (from gone, to there): a restore stopped half-way runs
 * again from the start.
 */
function move(from: string, to: string): string {
  const [f, d] = [shellCommand([from]), shellCommand([to])];
  return `if [ -e ${f} ]; then mv ${f} ${d}; elif [ ! -e ${d} ]; then echo "neither ${f} nor ${d} exists" >&2; exit 1; fi`;
}

/** A shell loop: `check` until it succeeds (or, with `until: 'fails'`, until it fails), at most `seconds`. */
function waitFor(check: string, seconds: number, until: 'succeeds' | 'fails' = 'succeeds'): string {
  const test = until === 'succeeds' ? check : `! ${check}`;
  return `i=0; while ! { ${test}; } >/dev/null 2>&1; do i=$((i+1)); [ "$i" -ge ${seconds} ] && exit 1; sleep 1; done`;
}

function readyz(cp: ControlPlaneNode): string {
  return shellCommand([
    '/usr/local/bin/kubectl',
    '--kubeconfig=/etc/kubernetes/admin.conf',
    `--server=https://${cp.address}:${cp.apiPort}`,
    '--request-timeout=3s',
    'get',
    '--raw=/readyz',
  ]);
}

export function restorePlan(input: RestoreInput): RestorePhase[] {
  const { snapshotId: id, members, controlPlane, waitSeconds } = input;
  const file = stagedSnapshot(id);
  const sh = (node: string, what: string, script: string, stdin?: 'snapshot'): RestoreStep => ({
    node,
    what,
    command: asRoot(['sh', '-c', script]),
    ...(stdin ? { stdin } : {}),
  });
  const first = members[0]!;
  return [
    {
      title: 'copy the snapshot to every member and check it there',
      changes: false,
      steps: members.flatMap((m) => [
        sh(m.hostname, `copy the snapshot to ${file} (0600)`, `umask 077 && cat > ${file}`, 'snapshot'),
        {
          node: m.hostname,
          what: 'check it (etcdutl snapshot status)',
          command: asRoot(etcdutl('snapshot', 'status', file, '-w', 'json')),
        },
      ]),
    },
    {
      title: 'stop the API server, controller-manager and scheduler on every control-plane node',
      changes: true,
      steps: controlPlane.flatMap((cp) => [
        ...STATIC_PODS.map((pod) => ({
          node: cp.hostname,
          what: `move ${manifest(pod)} out of the manifests folder (the kubelet stops ${pod})`,
          command: asRoot(['sh', '-c', move(manifest(pod), parked(pod))]),
        })),
        sh(cp.hostname, `wait until https://${cp.address}:${cp.apiPort} no longer answers`, waitFor(readyz(cp), waitSeconds, 'fails')),
      ]),
    },
    {
      title: 'stop etcd on every member',
      changes: true,
      steps: members.map((m) => ({ node: m.hostname, what: 'systemctl stop etcd', command: asRoot(['systemctl', 'stop', 'etcd']) })),
    },
    {
      title: "restore every member's data dir from the snapshot, with its own name and peer URL",
      changes: true,
      steps: members.flatMap((m) => [
        {
          node: m.hostname,
          what: `keep the old data dir as ${setAside(m.dataDir, id)}`,
          // set aside already (an earlier attempt): what is in the data dir now came from that attempt
          command: asRoot([
            'sh',
            '-c',
            `if [ -e ${shellCommand([setAside(m.dataDir, id)])} ]; then rm -rf ${shellCommand([m.dataDir])}; else mv ${shellCommand([m.dataDir, setAside(m.dataDir, id)])}; fi`,
          ]),
        },
        {
          node: m.hostname,
          what: `etcdutl snapshot restore as ${m.name} (${m.peerUrl}) into ${m.dataDir}`,
          command: asRoot(
            etcdutl(
              'snapshot',
              'restore',
              file,
              `--name=${m.name}`,
              `--initial-cluster=${m.initialCluster}`,
              `--initial-cluster-token=${m.token}`,
              `--initial-advertise-peer-urls=${m.peerUrl}`,
              `--data-dir=${m.dataDir}`,
            ),
          ),
        },
        {
          node: m.hostname,
          what: 'give it the old data dir’s owner and mode',
          command: asRoot(['sh', '-c', `chown -R --reference=${setAside(m.dataDir, id)} ${m.dataDir} && chmod 700 ${m.dataDir}`]),
        },
      ]),
    },
    {
      title: 'start etcd on every member (together: quorum needs a majority)',
      changes: true,
      steps: members.map((m) => ({ node: m.hostname, what: 'systemctl start etcd', command: asRoot(['systemctl', 'start', 'etcd']) })),
    },
    {
      title: 'wait for quorum: every member healthy',
      changes: true,
      steps: [
        sh(
          first.hostname,
          `wait until etcdctl endpoint health --cluster reports ${members.length} healthy member(s)`,
          waitFor(
            `[ "$(${shellCommand(etcdctl(first, 'endpoint', 'health', '--cluster'))} 2>&1 | grep -c 'is healthy')" -eq ${members.length} ]`,
            waitSeconds,
          ),
        ),
      ],
    },
    {
      title: 'start the API server on every control-plane node',
      changes: true,
      steps: controlPlane.flatMap((cp) => [
        {
          node: cp.hostname,
          what: `move the manifest back to ${manifest('kube-apiserver')}`,
          command: asRoot(['sh', '-c', move(parked('kube-apiserver'), manifest('kube-apiserver'))]),
        },
        sh(cp.hostname, `wait until https://${cp.address}:${cp.apiPort}/readyz answers ok`, waitFor(readyz(cp), waitSeconds)),
      ]),
    },
    {
      title: 'start kube-controller-manager and kube-scheduler on every control-plane node, fresh',
      changes: true,
      steps: controlPlane.flatMap((cp) =>
        (['kube-controller-manager', 'kube-scheduler'] as const).map((pod) => ({
          node: cp.hostname,
          what: `move the manifest back to ${manifest(pod)}`,
          command: asRoot(['sh', '-c', move(parked(pod), manifest(pod))]),
        })),
      ),
    },
    {
      title: 'remove the staged snapshot from every member',
      changes: true,
      steps: members.map((m) => ({ node: m.hostname, what: `rm ${file}`, command: asRoot(['rm', '-f', file]) })),
    },
  ];
}

/** The plan as plan mode prints it and apply announces it: one line per step, node first. */
export function renderRestorePlan(phases: RestorePhase[]): string[] {
  return phases.flatMap((p, i) => [`${i + 1}. ${p.title}`, ...p.steps.map((s) => `   ${s.node}: ${s.what}\n      $ ${s.command}`)]);
}
