// The inventory document (inventory.json): produced by discover-nodes, enriched by prepare-nodes,
// read by the later stages. Versioned, deterministic, never holds a secret.

export const INVENTORY_SCHEMA_VERSION = 1;

export type InventoryRole = 'control_plane' | 'etcd' | 'worker' | 'gpu_worker';

export interface NodeAddress {
  /** BCM network name ('' when the interface has no network). */
  network: string;
  interface: string;
  ip: string;
}

export interface GpuFact {
  index: number;
  name: string;
  uuid: string;
  busId: string;
  memoryMiB: number;
  migMode: string;
  computeCap: string;
}

export interface NodeFacts {
  os: { id: string; versionId: string; prettyName: string };
  kernel: string;
  gpus: GpuFact[];
  driverVersion?: string;
  /** Free space in GB by mount point ('/var', '/raid', …). */
  freeGb: Record<string, number>;
  containerd: { present: boolean; running: boolean; root?: string };
  /** Where containerd must live when /var is short (set by the preflight policy). */
  containerdStorageDir?: string;
  homeOnNfs: boolean;
  clockOffsetSeconds: number;
  serviceUser?: { exists: boolean; uid?: number; gid?: number; keyInstalled?: boolean; sudoers?: boolean };
  bootId?: string;
}

export interface StageMark {
  stage: string;
  at: string;
  /** What the stage did to this node: 'discovered', 'probed', 'converged', 'unchanged', … */
  result: string;
}

export interface InventoryNode {
  hostname: string;
  uuid: string;
  mac: string;
  category?: string;
  status: string;
  roles: InventoryRole[];
  /** The address the later stages use, on the spec's node network. */
  address: string;
  network: string;
  addresses: NodeAddress[];
  facts?: NodeFacts;
  history: StageMark[];
}

/** What the kubespray stage left: the cluster it deployed (never its credentials). */
export interface KubernetesState {
  version: string;
  apiServer: string;
  /** Nodes the API server reported as registered after the last run. */
  registeredNodes: string[];
}

/** One Helm release as helm-platform (or runai) left it. */
export interface ReleaseState {
  name: string;
  chart: string;
  version: string;
  namespace: string;
  /** 'deployed' | 'failed' | 'skipped' | 'disabled' */
  status: string;
}

/** What the runai stage left (URLs and ids only, never a secret). */
export interface RunaiState {
  controlPlaneUrl: string;
  backendVersion?: string;
  clusterName?: string;
  clusterUuid?: string;
  clusterStatus?: string;
}

export interface Inventory {
  schemaVersion: number;
  cluster: string;
  specHash: string;
  bcm: { endpoint: string; version?: string };
  nodes: InventoryNode[];
  history: StageMark[];
  kubernetes?: KubernetesState;
  platform?: { releases: ReleaseState[] };
  runai?: RunaiState;
}
