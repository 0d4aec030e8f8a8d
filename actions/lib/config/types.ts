// The cluster spec (clusters/<name>.yaml) after loading: defaults applied, validated.
// The JSON Schema in schema/cluster-spec.schema.json is the user-facing contract; these types mirror it.

/** A node selector: a hostname, a range pattern (`dgx-[01-08]`), a glob (`dgx-*`), or a BCM category. */
export type NodeSelector = string | { category: string };

export type NodeRole = 'control_plane' | 'etcd' | 'workers' | 'gpu_workers';

export interface BcmSpec {
  /** Base URL of the head node's CMDaemon, e.g. https://bcm-head-01:8081 (the client posts to <endpoint>/json). */
  endpoint: string;
  auth: 'login' | 'client-cert';
  /** Login user (not a secret). The password comes from an action input or, in the CLI, password_file. */
  username?: string;
  password_file?: string;
  client_cert_file?: string;
  client_key_file?: string;
  /** BCM's own CA (cacert.pem). Verification is on unless insecure is true. */
  ca_file?: string;
  /** The name the certificate is checked against when the endpoint is an IP the certificate does not carry. */
  tls_server_name?: string;
  insecure: boolean;
  timeout_seconds: number;
  retries: number;
}

export interface NodesSpec {
  control_plane: NodeSelector[];
  workers: NodeSelector[];
  /** Defaults to control_plane when empty. */
  etcd: NodeSelector[];
  /** Defaults to workers when empty. */
  gpu_workers: NodeSelector[];
  /** Allow a node to be both control plane and worker. */
  allow_stacked: boolean;
  /** BCM statuses accepted at discovery. Default ['UP']. */
  allowed_status: string[];
  /** Nodes that prepare-nodes may leave out when their preflight fails. */
  skippable: string[];
}

/** Which of a node's BCM addresses is used to reach it. Exactly one of the three is set. */
export interface NodeNetworkSelector {
  name?: string;
  cidr?: string;
  interface?: string;
}

export interface NetworkSpec {
  node_network: NodeNetworkSelector;
  /** Allow a management / BMC network to be chosen. Never by default. */
  allow_management: boolean;
  pod_cidr: string;
  service_cidr: string;
}

export interface ServiceUserSpec {
  name: string;
  uid: number;
  gid: number;
  shell: string;
  /** OpenSSH public key line, or public_key_file. The private key is an action input / CLI key file. */
  public_key?: string;
  public_key_file?: string;
  private_key_file?: string;
}

export interface AccessSpec {
  admin: {
    user: string;
    auth: 'key' | 'password';
    /** CLI only: in Actions the admin key/password are secret inputs. */
    key_file?: string;
    password_file?: string;
  };
  service_user: ServiceUserSpec;
  host_key_policy: 'strict' | 'accept-new' | 'off';
  known_hosts_file?: string;
  /** Allow ssh-rsa (SHA-1) host keys and user keys, for old BCM images. */
  legacy_algorithms: boolean;
  concurrency: number;
  connect_timeout_seconds: number;
  command_timeout_seconds: number;
  /** Minimum free space for containerd's filesystem, GB. */
  min_containerd_gb: number;
  max_clock_skew_seconds: number;
  /** Data partitions probed for containerd when /var is short. */
  data_partitions: string[];
  /** GPU workers may show no GPUs (drivers installed later by the GPU Operator). */
  gpu_drivers_later: boolean;
}

export interface KubernetesSpec {
  kubespray_version: string;
  version: string;
  cni: 'calico' | 'cilium' | 'flannel';
  dns_domain: string;
  /** BCM's CMDaemon holds 8081 on nodes. */
  apiserver_healthcheck_port: number;
  extra_vars: Record<string, unknown>;
}

export interface ReleaseOverride {
  enabled?: boolean;
  version?: string;
  values?: Record<string, unknown>;
}

export interface PlatformVerifySpec {
  /** How long each check may wait (rollout status, GPUs allocatable, the smoke pod). Default 300. */
  timeout_seconds?: number;
  /** Run `nvidia-smi -L` in a pod on one GPU node. Default true. */
  smoke_test?: boolean;
  /** The CUDA image of the smoke pod (a mirror's copy on air-gapped sites). */
  smoke_image?: string;
}

export interface PlatformSpec {
  ingress: 'ingress-nginx' | 'none';
  gpu_driver: boolean;
  releases: Record<string, ReleaseOverride>;
  verify?: PlatformVerifySpec;
}

export interface RunaiSpec {
  enabled: boolean;
  version: string;
  domain: string;
  cluster_name: string;
  /** ca_file: with source provided, the private CA that issued the certificate (runai-ca-cert); unset: publicly trusted. */
  tls: { source: 'generate' | 'provided'; cert_file?: string; key_file?: string; ca_file?: string };
  ingress_port: number;
  /** Control-plane URL; defaults to https://<domain>, with :<ingress_port> unless 443. */
  url?: string;
  admin_user?: string;
  password_file?: string;
}

export interface MirrorsSpec {
  tools?: string;
  charts?: string;
  kubespray?: string;
  pypi?: string;
  /** Mirror of the files Kubespray downloads onto the nodes (its files_repo). */
  files?: string;
  /** registry host → mirror endpoints, for containerd. */
  images: Record<string, string[]>;
  /** CA that signs the mirrors' certificates. */
  ca_file?: string;
  /** SHA-256 pins by file name, over the repo's table. */
  sha256: Record<string, string>;
}

export interface EtcdBackupSpec {
  /** No host: the path is on the runner. */
  target: { host?: string; user?: string; port: number; path: string };
  keep: number;
}

export interface ClusterSpec {
  name: string;
  bcm: BcmSpec;
  nodes: NodesSpec;
  network: NetworkSpec;
  access: AccessSpec;
  kubernetes: KubernetesSpec;
  platform: PlatformSpec;
  runai: RunaiSpec;
  mirrors: MirrorsSpec;
  etcd_backup: EtcdBackupSpec;
}

export interface SpecProblem {
  /** Dotted path with indices, e.g. `nodes.control_plane[1]`. '' for the root. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}
