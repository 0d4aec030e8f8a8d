// The lab's real Kubernetes control plane, placed in the lab nodes as Kubespray places it:
//   etcd members on the etcd nodes   /usr/local/bin/etcd, /etc/etcd.env, certs in /etc/ssl/etcd/ssl, data /var/lib/etcd
//   control-plane nodes              kube-apiserver on <node address>:6443, controller-manager, scheduler,
//                                    /etc/kubernetes/{admin,controller-manager,scheduler}.conf, /etc/kubernetes/ssl
//   every node                       a Node object named and labelled as kubelet + kubeadm register it, and
//                                    KWOK as its kubelet (/etc/kubernetes/kubelet.conf, <address>:10250)
// Files are made on the host and written into each node's root; processes are started inside the nodes by
// their own entry point (lab-kube.sh, installed as /usr/local/bin/lab-kube), as an Ansible task would over SSH.
// Deviation from Kubespray: nothing listens on 127.0.0.1 (the nodes share the host's network with other labs).
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { ensureRealHelmKubectl } from '../repo/binaries.ts';
import { nodeExec, nodeInitPid, type RunningNode } from '../nodes.ts';
import { ensureKubeBinaries, type KubeBinaries } from './build.ts';
import { kwokConfig } from './kwok-config.ts';
import { ensureClusterPki, issue, type ClusterPki } from './pki.ts';

const run = promisify(execFile);
const LAB_KUBE = join(import.meta.dirname, 'lab-kube.sh');
const APISERVER_PROXY = join(import.meta.dirname, 'apiserver-proxy.py');
export const ETCD_SSL = '/etc/ssl/etcd/ssl';
export const KUBE_DIR = '/etc/kubernetes';
/** Kubespray's default kube_service_addresses; no traffic goes there (aggregator routing uses endpoints). */
export const SERVICE_CIDR = '10.233.0.0/18';
/** A node's pod IPs (its KWOK's): loopback addresses nobody listens on, a /24 per node as Kubespray gives each node. */
export function podCidr(node: KubeNode): string {
  return `127.250.${node.address.split('.')[3]}.0/24`;
}
export const GPU_ANNOTATION = 'lab.bcmkube.io/gpus';

export type KubeNode = Pick<RunningNode, 'name' | 'address' | 'gpus'>;

export interface KubeTopology {
  etcd: KubeNode[];
  controlPlane: KubeNode[];
  workers: KubeNode[];
}

export interface KubeCluster {
  /** https://<first control-plane address>:6443 */
  server: string;
  /** admin kubeconfig on the host (the same as /etc/kubernetes/admin.conf of the first control-plane node) */
  adminConf: string;
  kubectl: string;
  helm: string;
  bins: KubeBinaries;
  pki: ClusterPki;
  /** etcdctl's certificate pair for `node`, on the host */
  etcdAdmin(node: string): { cert: string; key: string };
}

/** etcd member names as Kubespray derives them: etcd1, etcd2… in the etcd group's order. */
export function etcdMemberName(topology: KubeTopology, node: string): string {
  const i = topology.etcd.findIndex((n) => n.name === node);
  if (i < 0) throw new Error(`lab: ${node} is not an etcd node`);
  return `etcd${i + 1}`;
}

export function etcdEnv(topology: KubeTopology, node: KubeNode): string {
  const peers = topology.etcd.map((n) => `${etcdMemberName(topology, n.name)}=https://${n.address}:2380`).join(',');
  const s = ETCD_SSL;
  return (
    [
      `ETCD_DATA_DIR=/var/lib/etcd`,
      `ETCD_ADVERTISE_CLIENT_URLS=https://${node.address}:2379`,
      `ETCD_INITIAL_ADVERTISE_PEER_URLS=https://${node.address}:2380`,
      `ETCD_INITIAL_CLUSTER_STATE=new`,
      `ETCD_LISTEN_CLIENT_URLS=https://${node.address}:2379`,
      `ETCD_LISTEN_PEER_URLS=https://${node.address}:2380`,
      `ETCD_INITIAL_CLUSTER_TOKEN=k8s_etcd`,
      `ETCD_NAME=${etcdMemberName(topology, node.name)}`,
      `ETCD_INITIAL_CLUSTER=${peers}`,
      `ETCD_AUTO_COMPACTION_RETENTION=8`,
      `ETCD_QUOTA_BACKEND_BYTES=536870912`,
      `ETCD_SNAPSHOT_COUNT=10000`,
      `ETCD_TRUSTED_CA_FILE=${s}/ca.pem`,
      `ETCD_CERT_FILE=${s}/member-${node.name}.pem`,
      `ETCD_KEY_FILE=${s}/member-${node.name}-key.pem`,
      `ETCD_CLIENT_CERT_AUTH=true`,
      `ETCD_PEER_TRUSTED_CA_FILE=${s}/ca.pem`,
      `ETCD_PEER_CERT_FILE=${s}/member-${node.name}.pem`,
      `ETCD_PEER_KEY_FILE=${s}/member-${node.name}-key.pem`,
      `ETCD_PEER_CLIENT_CERT_AUTH=true`,
      `ETCDCTL_ENDPOINTS=https://${node.address}:2379`,
      `ETCDCTL_CACERT=${s}/ca.pem`,
      `ETCDCTL_KEY=${s}/admin-${node.name}-key.pem`,
      `ETCDCTL_CERT=${s}/admin-${node.name}.pem`,
    ].join('\n') + '\n'
  );
}

/** `tlsServerName`: the name to verify when `server` is a proxy (Kubespray's workers reach it as localhost). */
export function kubeconfig(
  server: string,
  caFile: string,
  certFile: string,
  keyFile: string,
  user: string,
  tlsServerName?: string,
): string {
  const b64 = (f: string) => readFileSync(f).toString('base64');
  // YAML, as kubeadm writes it (the kubespray stage reads `kind: Config` and `server:` lines)
  return yaml.dump(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'cluster.local',
          cluster: { server, 'certificate-authority-data': b64(caFile), ...(tlsServerName ? { 'tls-server-name': tlsServerName } : {}) },
        },
      ],
      users: [{ name: user, user: { 'client-certificate-data': b64(certFile), 'client-key-data': b64(keyFile) } }],
      contexts: [{ name: `${user}@cluster.local`, context: { cluster: 'cluster.local', user } }],
      'current-context': `${user}@cluster.local`,
    },
    { lineWidth: -1 },
  );
}

/** The Node object kubelet registers (with kubeadm's control-plane label and taint), GPU count noted for the lab. */
export function nodeObject(
  node: KubeNode,
  role: 'control-plane' | 'worker',
  kubeVersion: string,
  ids: { machineID: string; bootID: string; systemUUID: string },
): object {
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': node.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
    ...(role === 'control-plane'
      ? { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' }
      : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels,
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'kwok.x-k8s.io/node': 'fake',
        ...(node.gpus ? { [GPU_ANNOTATION]: String(node.gpus) } : {}),
      },
    },
    spec: role === 'control-plane' ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } : {},
    status: {
      addresses: [
        { type: 'InternalIP', address: node.address },
        { type: 'Hostname', address: node.name },
      ],
      capacity: node.gpus ? { cpu: '224', memory: '2113412100Ki', pods: '110' } : { cpu: '32', memory: '131900000Ki', pods: '110' },
      allocatable: node.gpus ? { cpu: '224', memory: '2113309700Ki', pods: '110' } : { cpu: '32', memory: '131797600Ki', pods: '110' },
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        osImage: 'Ubuntu 22.04.5 LTS',
        kernelVersion: '5.15.0-1063-nvidia',
        containerRuntimeVersion: 'containerd://1.7.27',
        kubeletVersion: kubeVersion,
        kubeProxyVersion: kubeVersion,
        ...ids,
      },
    },
  };
}

/** Writes a file into a running node's root (as root, through /proc/<init>/root). */
function place(labDir: string, node: string, path: string, content: string | Buffer, mode = 0o644): void {
  const pid = nodeInitPid(labDir, node);
  if (!pid) throw new Error(`lab: node ${node} is not running`);
  const target = `/proc/${pid}/root${path}`;
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content, { mode });
  chmodSync(target, mode);
}

/** Copies a binary into a node's /usr/local/bin, beside a running one if need be (a new file renamed over it). */
function install(labDir: string, node: string, bin: string, as: string): void {
  const pid = nodeInitPid(labDir, node);
  if (!pid) throw new Error(`lab: node ${node} is not running`);
  const target = `/proc/${pid}/root/usr/local/bin/${as}`;
  if (existsSync(target) && statSync(target).size === statSync(bin).size) return;
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(bin, `${target}.new`);
  chmodSync(`${target}.new`, 0o755);
  renameSync(`${target}.new`, target);
}

async function inNode(labDir: string, node: string, ...command: string[]): Promise<string> {
  const r = await nodeExec(labDir, node, command);
  if (r.code !== 0) throw new Error(`lab: ${node}: ${command.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = String((err as { stderr?: string }).stderr ?? err)
        .trim()
        .split('\n')
        .at(-1)!;
    }
    if (Date.now() > deadline) throw new Error(`lab: ${what} not ready within ${timeoutMs / 1000} s${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The last lines of a component's log in a node, for an error message that says why it did not come up. */
function logTail(labDir: string, node: string, component: string): string {
  const pid = nodeInitPid(labDir, node);
  try {
    const lines = readFileSync(`/proc/${pid}/root/var/log/lab-kube/${component}.log`, 'utf8').trim().split('\n');
    return `; ${node}:/var/log/lab-kube/${component}.log ends: ${lines.slice(-3).join(' | ')}`;
  } catch {
    return `; ${node} has no /var/log/lab-kube/${component}.log`;
  }
}

/** waitUntil for a component started in `node`: fails at once when it exits, and names the end of its log. */
async function waitForComponent(labDir: string, node: string, component: string, timeoutMs: number, probe: () => Promise<boolean>) {
  let checks = 0;
  let exited = false;
  await waitUntil(component, timeoutMs, async () => {
    if (++checks % 4 === 0) {
      const status = await nodeExec(labDir, node, ['/usr/local/bin/lab-kube', 'status']);
      exited = status.stdout.includes(`${component} stopped`);
      if (exited) return true;
    }
    return probe();
  }).catch((err: Error) => {
    throw new Error(err.message + logTail(labDir, node, component));
  });
  if (exited) throw new Error(`lab: ${component} in ${node} exited${logTail(labDir, node, component)}`);
}

function unique(nodes: KubeNode[]): KubeNode[] {
  return [...new Map(nodes.map((n) => [n.name, n])).values()];
}

/**
 * Brings the control plane up on running lab nodes and registers every node; idempotent (what runs is kept).
 * Files on the host: <labDir>/kube/ (pki, admin.conf).
 */
export async function kubeUp(labDir: string, topology: KubeTopology): Promise<KubeCluster> {
  if (!topology.etcd.length || !topology.controlPlane.length)
    throw new Error('lab: the cluster needs an etcd node and a control-plane node');
  const [bins, { helm, kubectl }] = await Promise.all([ensureKubeBinaries(), ensureRealHelmKubectl()]);
  const kubeVersion = (await run(bins.kubeApiserver, ['--version'])).stdout.trim().split(' ')[1]!;
  const root = join(labDir, 'kube');
  const pki = ensureClusterPki(join(root, 'pki'));
  const { etcd, controlPlane } = topology;
  const etcdNames = etcd.flatMap((n) => [n.name, n.address]);
  for (const n of etcd) {
    issue(pki.etcd, {
      file: `member-${n.name}`,
      cn: `etcd-member-${n.name}`,
      sans: ['localhost', ...etcdNames, '127.0.0.1'],
      usage: 'peer',
    });
    issue(pki.etcd, { file: `admin-${n.name}`, cn: `etcd-admin-${n.name}`, sans: ['localhost', ...etcdNames], usage: 'peer' });
  }
  for (const n of controlPlane)
    issue(pki.etcd, { file: `node-${n.name}`, cn: `etcd-node-${n.name}`, sans: ['localhost', ...etcdNames], usage: 'peer' });
  const cpNames = controlPlane.flatMap((n) => [n.name, n.address]);
  const kubeSans = [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
    'localhost',
    '10.233.0.1',
  ];
  const apiserver = issue(pki.kube, { file: 'apiserver', cn: 'kube-apiserver', sans: [...cpNames, ...kubeSans], usage: 'server' });
  const admin = issue(pki.kube, { file: 'admin', cn: 'kubernetes-admin', org: 'system:masters', usage: 'client' });
  const cm = issue(pki.kube, { file: 'controller-manager', cn: 'system:kube-controller-manager', usage: 'client' });
  const sched = issue(pki.kube, { file: 'scheduler', cn: 'system:kube-scheduler', usage: 'client' });
  const server = `https://${controlPlane[0]!.address}:6443`;
  const adminConf = join(root, 'admin.conf');
  writeFileSync(adminConf, kubeconfig(server, pki.kube.caCert, admin.cert, admin.key, 'kubernetes-admin'), { mode: 0o600 });
  const etcdServers = etcd.map((n) => `https://${n.address}:2379`).join(',');
  const apiservers = controlPlane.map((n) => `${n.address}:6443`).join(',');
  const workersOnly = topology.workers.filter((w) => !controlPlane.some((c) => c.name === w.name));

  // every etcd file to every etcd node (Kubespray syncs them), the node-<host> client pair to each control plane
  const etcdFile = (node: string, base: string) => {
    place(labDir, node, `${ETCD_SSL}/${base}.pem`, readFileSync(join(pki.etcd.dir, `${base}.pem`)));
    place(labDir, node, `${ETCD_SSL}/${base}-key.pem`, readFileSync(join(pki.etcd.dir, `${base}-key.pem`)), 0o600);
  };
  for (const n of unique([...etcd, ...controlPlane])) place(labDir, n.name, `${ETCD_SSL}/ca.pem`, readFileSync(pki.etcd.caCert));
  // every node of the cluster: its "kubelet" (KWOK) with kubelet.conf, the node's settings, lab-kube
  const kubeletNodes = unique([...controlPlane, ...topology.workers]);
  for (const n of unique([...etcd, ...kubeletNodes])) {
    install(labDir, n.name, LAB_KUBE, 'lab-kube');
    place(
      labDir,
      n.name,
      `${KUBE_DIR}/lab-kube.env`,
      `NODE_NAME=${n.name}\nNODE_IP=${n.address}\nETCD_SERVERS=${etcdServers}\nAPISERVERS=${apiservers}\n` +
        `SERVICE_CIDR=${SERVICE_CIDR}\nPOD_CIDR=${podCidr(n)}\n`,
    );
  }
  for (const n of kubeletNodes) {
    // control-plane nodes reach their own API server; workers every API server through their local proxy,
    // verifying the certificate as Kubespray's workers do behind nginx-proxy (localhost)
    const own = controlPlane.some((c) => c.name === n.name);
    const conf = own
      ? kubeconfig(`https://${n.address}:6443`, pki.kube.caCert, admin.cert, admin.key, 'kubernetes-admin')
      : kubeconfig(`https://${n.address}:6443`, pki.kube.caCert, admin.cert, admin.key, 'kubernetes-admin', 'localhost');
    place(labDir, n.name, `${KUBE_DIR}/kubelet.conf`, conf, 0o600);
    if (!own) install(labDir, n.name, APISERVER_PROXY, 'lab-apiserver-proxy');
    place(labDir, n.name, `${KUBE_DIR}/kwok.yaml`, kwokConfig(n.gpus));
    install(labDir, n.name, bins.kwok, 'kwok');
  }
  for (const n of etcd) {
    place(labDir, n.name, `${ETCD_SSL}/ca-key.pem`, readFileSync(pki.etcd.caKey), 0o600);
    for (const m of etcd) for (const base of [`member-${m.name}`, `admin-${m.name}`]) etcdFile(n.name, base);
    for (const c of controlPlane) etcdFile(n.name, `node-${c.name}`);
    place(labDir, n.name, '/etc/etcd.env', etcdEnv(topology, n), 0o640);
    for (const [bin, as] of [
      [bins.etcd, 'etcd'],
      [bins.etcdctl, 'etcdctl'],
      [bins.etcdutl, 'etcdutl'],
    ] as const)
      install(labDir, n.name, bin, as);
  }
  for (const n of controlPlane) {
    etcdFile(n.name, `node-${n.name}`);
    const own = `https://${n.address}:6443`;
    const ssl = `${KUBE_DIR}/ssl`;
    place(labDir, n.name, `${ssl}/ca.crt`, readFileSync(pki.kube.caCert));
    place(labDir, n.name, `${ssl}/ca.key`, readFileSync(pki.kube.caKey), 0o600);
    place(labDir, n.name, `${ssl}/apiserver.crt`, readFileSync(apiserver.cert));
    place(labDir, n.name, `${ssl}/apiserver.key`, readFileSync(apiserver.key), 0o600);
    place(labDir, n.name, `${ssl}/sa.key`, readFileSync(pki.saKey), 0o600);
    place(labDir, n.name, `${ssl}/sa.pub`, readFileSync(pki.saPub));
    const conf = (pair: { cert: string; key: string }, user: string) => kubeconfig(own, pki.kube.caCert, pair.cert, pair.key, user);
    place(labDir, n.name, `${KUBE_DIR}/admin.conf`, conf(admin, 'kubernetes-admin'), 0o600);
    place(labDir, n.name, `${KUBE_DIR}/controller-manager.conf`, conf(cm, 'system:kube-controller-manager'), 0o600);
    place(labDir, n.name, `${KUBE_DIR}/scheduler.conf`, conf(sched, 'system:kube-scheduler'), 0o600);
    for (const [bin, as] of [
      [bins.kubeApiserver, 'kube-apiserver'],
      [bins.kubeControllerManager, 'kube-controller-manager'],
      [bins.kubeScheduler, 'kube-scheduler'],
      [kubectl, 'kubectl'],
    ] as const)
      install(labDir, n.name, bin, as);
  }

  await Promise.all(etcd.map((n) => inNode(labDir, n.name, '/usr/local/bin/lab-kube', 'start', 'etcd')));
  const first = etcd[0]!.name;
  const etcdAdmin = (node: string) => ({ cert: join(pki.etcd.dir, `admin-${node}.pem`), key: join(pki.etcd.dir, `admin-${node}-key.pem`) });
  const etcdctlArgs = [
    '--endpoints',
    etcdServers,
    '--cacert',
    pki.etcd.caCert,
    '--cert',
    etcdAdmin(first).cert,
    '--key',
    etcdAdmin(first).key,
  ];
  await waitForComponent(labDir, first, 'etcd', 60_000, async () => {
    await run(bins.etcdctl, [...etcdctlArgs, 'endpoint', 'health']);
    return true;
  });
  await Promise.all(controlPlane.map((n) => inNode(labDir, n.name, '/usr/local/bin/lab-kube', 'start', 'kube-apiserver')));
  const k = (...args: string[]) => run(kubectl, ['--kubeconfig', adminConf, ...args], { maxBuffer: 64 << 20 });
  await waitForComponent(
    labDir,
    controlPlane[0]!.name,
    'kube-apiserver',
    120_000,
    async () => (await k('get', '--raw', '/readyz')).stdout.trim() === 'ok',
  );
  for (const n of controlPlane) {
    for (const c of ['kube-controller-manager', 'kube-scheduler']) await inNode(labDir, n.name, '/usr/local/bin/lab-kube', 'start', c);
  }
  await Promise.all(workersOnly.map((n) => inNode(labDir, n.name, '/usr/local/bin/lab-kube', 'start', 'apiserver-proxy')));
  await Promise.all(kubeletNodes.map((n) => inNode(labDir, n.name, '/usr/local/bin/lab-kube', 'start', 'kwok')));
  await inNode(labDir, controlPlane[0]!.name, '/usr/local/bin/lab-kube', 'start', 'gpu-capacity');
  await inNode(labDir, controlPlane[0]!.name, '/usr/local/bin/lab-kube', 'start', 'operator-status');
  await registerNodes(labDir, { adminConf, kubectl }, topology, kubeVersion);
  return { server, adminConf, kubectl, helm, bins, pki, etcdAdmin };
}

/** What kubelet reads from the machine: /etc/machine-id and the boot id of the node. */
function nodeIds(labDir: string, node: string): { machineID: string; bootID: string; systemUUID: string } {
  const pid = nodeInitPid(labDir, node);
  if (!pid) throw new Error(`lab: node ${node} is not running`);
  const machineID = readFileSync(`/proc/${pid}/root/etc/machine-id`, 'utf8').trim();
  const bootID = readFileSync(`/proc/${pid}/root/run/lab/boot_id`, 'utf8').trim();
  const m = machineID.padEnd(32, '0');
  return { machineID, bootID, systemUUID: `${m.slice(0, 8)}-${m.slice(8, 12)}-${m.slice(12, 16)}-${m.slice(16, 20)}-${m.slice(20, 32)}` };
}

/** Creates the Node objects that do not exist yet and waits until KWOK reports them Ready. */
export async function registerNodes(
  labDir: string,
  cluster: Pick<KubeCluster, 'adminConf' | 'kubectl'>,
  topology: KubeTopology,
  kubeVersion: string,
): Promise<void> {
  const k = (args: string[], input?: string) =>
    new Promise<string>((resolveRun, reject) => {
      const p = execFile(cluster.kubectl, ['--kubeconfig', cluster.adminConf, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim()}`)) : resolveRun(stdout),
      );
      if (input !== undefined) p.stdin!.end(input);
    });
  const cp = new Set(topology.controlPlane.map((n) => n.name));
  const nodes = unique([...topology.controlPlane, ...topology.workers]);
  const existing = new Set((await k(['get', 'nodes', '-o', 'name'])).split('\n').map((l) => l.replace('node/', '')));
  const missing = nodes.filter((n) => !existing.has(n.name));
  if (missing.length) {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: missing.map((n) => nodeObject(n, cp.has(n.name) ? 'control-plane' : 'worker', kubeVersion, nodeIds(labDir, n.name))),
    };
    await k(['create', '-f', '-'], JSON.stringify(list));
  }
  // Ready, and the node lifecycle controller has taken its not-ready taint off again (pods schedule)
  await waitUntil('the nodes (KWOK)', 60_000, async () => {
    const out = await k([
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}={.spec.taints[*].key}{"\\n"}{end}',
    ]);
    const ready = new Set(
      out
        .split('\n')
        .map((l) => l.split('='))
        .filter(([, status, taints]) => status === 'True' && !taints?.includes('node.kubernetes.io/not-ready'))
        .map(([name]) => name),
    );
    return nodes.every((n) => ready.has(n.name));
  });
}

/** Stops every component in each node (by pid file, inside the node); nodes powering off end them too. */
export async function kubeDown(labDir: string, nodes: string[]): Promise<void> {
  await Promise.all(
    nodes
      .filter((n) => nodeInitPid(labDir, n))
      .map((n) => nodeExec(labDir, n, ['/bin/sh', '-c', '[ -x /usr/local/bin/lab-kube ] && /usr/local/bin/lab-kube stop all || true'])),
  );
}
