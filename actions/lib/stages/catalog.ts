// The one description of every stage: its action (action.yml is generated from this), its CLI command,
// and its inputs and outputs. CLI flags are the action input names, so `--bcm-password-file` works
// wherever input `bcm-password-file` does.

export interface InputDef {
  name: string;
  description: string;
  required?: boolean;
  default?: string;
  /** Masked the moment it is read; never echoed. */
  secret?: boolean;
  /** The secret of deploy.yml / plan.yml that fills it: a caller must pass it by name (an environment's secret too). */
  workflowSecret?: string;
}

export interface OutputDef {
  name: string;
  description: string;
}

export interface StageDef {
  action: string;
  command: string;
  title: string;
  description: string;
  inputs: InputDef[];
  outputs: OutputDef[];
  /** Where the work is tracked while the stage is not built yet. */
  pending?: string;
}

const specInput: InputDef = {
  name: 'spec',
  description: 'Path to the cluster spec (clusters/<name>.yaml), relative to the working directory.',
  required: true,
};
const planInput: InputDef = {
  name: 'plan',
  description: 'Plan only: read and report what would change, change nothing.',
  default: 'false',
};
const outDirInput: InputDef = {
  name: 'out-dir',
  description: 'Where the inventory and rendered files go. Default: .bcmkube/<cluster>/ (git-ignored).',
};
const inventoryInput: InputDef = {
  name: 'inventory',
  description: 'Path to the inventory.json written by the previous stage (its artifact). Default: <out-dir>/inventory.json.',
};
const serviceKeyInput: InputDef = {
  name: 'service-ssh-key',
  description:
    'Private key (OpenSSH format) of the service user, from a secret. Written only under RUNNER_TEMP with mode 0600 and removed after the job.',
  secret: true,
  workflowSecret: 'SERVICE_SSH_KEY',
};
const knownHostsInput: InputDef = {
  name: 'known-hosts',
  description: 'known_hosts lines (or a file path) for the nodes. Host keys are verified by default.',
};
const changesOutput: OutputDef = {
  name: 'changes',
  description: 'true when the stage changed (or, in plan mode, would change) something; false when everything was as specified.',
};
const inventoryPathOutput: OutputDef = { name: 'inventory-path', description: 'Path of the inventory.json this stage wrote.' };

export const STAGES: StageDef[] = [
  {
    action: 'discover-nodes',
    command: 'discover',
    title: 'bcmkube discover-nodes',
    description:
      "Reads the cluster's nodes from the BCM head node (JSON API), selects them by the spec's roles and network, refuses missing, down or unaddressable nodes, and writes inventory.json.",
    inputs: [
      specInput,
      planInput,
      outDirInput,
      { name: 'bcm-username', description: 'BCM login user. Overrides bcm.username in the spec.' },
      {
        name: 'bcm-password',
        description: 'BCM login password (bcm.auth: login), from a secret.',
        secret: true,
        workflowSecret: 'BCM_PASSWORD',
      },
      { name: 'bcm-password-file', description: 'File holding the BCM password, instead of bcm-password. Overrides bcm.password_file.' },
      {
        name: 'bcm-client-cert',
        description: 'Client certificate (PEM) for bcm.auth: client-cert, from a secret.',
        secret: true,
        workflowSecret: 'BCM_CLIENT_CERT',
      },
      {
        name: 'bcm-client-key',
        description: 'Private key (PEM) of the client certificate, from a secret.',
        secret: true,
        workflowSecret: 'BCM_CLIENT_KEY',
      },
      { name: 'bcm-ca-cert', description: "BCM's CA certificate (PEM text or a file path). Overrides bcm.ca_file." },
      {
        name: 'insecure',
        description: 'Skip TLS verification of the BCM head node. Never in production: the summary carries a warning.',
        default: 'false',
      },
    ],
    outputs: [
      inventoryPathOutput,
      { name: 'node-count', description: 'Number of nodes selected.' },
      { name: 'control-plane', description: 'JSON list of the control-plane hostnames.' },
      { name: 'workers', description: 'JSON list of the worker hostnames.' },
    ],
  },
  {
    action: 'prepare-nodes',
    command: 'prepare',
    title: 'bcmkube prepare-nodes',
    description:
      'Probes every node over SSH (reachability, sudo, OS, GPUs, disks, containerd, clock), refuses to change anything when a preflight fails, then converges the service user.',
    inputs: [
      specInput,
      planInput,
      outDirInput,
      inventoryInput,
      {
        name: 'admin-ssh-key',
        description: 'Private key of the bootstrap admin (access.admin.user), from a secret.',
        secret: true,
        workflowSecret: 'ADMIN_SSH_KEY',
      },
      {
        name: 'admin-password',
        description: 'Password of the bootstrap admin when access.admin.auth is password, from a secret.',
        secret: true,
        workflowSecret: 'ADMIN_PASSWORD',
      },
      { name: 'service-public-key', description: 'OpenSSH public key of the service user. Overrides access.service_user.public_key.' },
      serviceKeyInput,
      knownHostsInput,
      { name: 'host-key-policy', description: 'strict | accept-new | off. Overrides access.host_key_policy.' },
      { name: 'concurrency', description: 'How many nodes are worked on at once. Overrides access.concurrency.' },
    ],
    outputs: [inventoryPathOutput, { name: 'changed-nodes', description: 'JSON list of nodes the stage changed.' }],
  },
  {
    action: 'kubespray',
    command: 'kubespray',
    title: 'bcmkube kubespray',
    description:
      "Renders the Kubespray inventory from inventory.json and the spec, runs the chosen Kubespray playbooks as the service user with Kubespray's own ansible.cfg, fetches the kubeconfig and sets Run:ai's node roles. Plan mode runs them with --syntax-check and --list-hosts.",
    inputs: [
      specInput,
      planInput,
      outDirInput,
      inventoryInput,
      { name: 'operation', description: 'deploy | scale | upgrade | remove-node | reset.', default: 'deploy' },
      { name: 'confirm', description: 'The cluster name, required for remove-node and reset.' },
      { name: 'nodes', description: 'Comma-separated hostnames for scale / remove-node.' },
      {
        name: 'nodes-down',
        description:
          'remove-node only: the nodes are already down, so Kubespray removes them without reaching them (reset_nodes=false allow_ungraceful_removal=true).',
        default: 'false',
      },
      serviceKeyInput,
      knownHostsInput,
      { name: 'ansible-playbook-path', description: "Use this ansible-playbook instead of Kubespray's own Python environment." },
    ],
    outputs: [
      inventoryPathOutput,
      { name: 'recap', description: 'JSON PLAY RECAP per host (ok, changed, unreachable, failed).' },
      changesOutput,
    ],
  },
  {
    action: 'helm-platform',
    command: 'platform',
    title: 'bcmkube helm-platform',
    description: 'Installs the platform releases of helm/platform.yaml as a dependency graph: pinned, atomic, verified.',
    inputs: [
      specInput,
      planInput,
      outDirInput,
      inventoryInput,
      serviceKeyInput,
      knownHostsInput,
      {
        name: 'grafana-admin-password',
        description:
          "Grafana admin password, from a secret: stored in the Kubernetes Secret that kube-prometheus-stack's Grafana reads (never in values, files or arguments). Empty: an existing Secret is kept, else a random password is generated into it.",
        secret: true,
        workflowSecret: 'GRAFANA_ADMIN_PASSWORD',
      },
      { name: 'concurrency', description: 'How many releases install at once (releases wait for their needs).', default: '4' },
    ],
    outputs: [
      inventoryPathOutput,
      {
        name: 'releases',
        description:
          'JSON list of the releases: name, version, outcome (installed | upgraded | unchanged | failed | skipped | off; in plan mode install | upgrade | unchanged). Never values.',
      },
    ],
  },
  {
    action: 'runai',
    command: 'runai',
    title: 'bcmkube runai',
    description: 'Installs Run:ai in two phases: backend (control plane) and cluster (behind an approval gate). Both idempotent.',
    inputs: [
      specInput,
      planInput,
      outDirInput,
      inventoryInput,
      { name: 'phase', description: 'backend | cluster.', required: true },
      serviceKeyInput,
      knownHostsInput,
      {
        name: 'jfrog-token',
        description: 'Run:ai registry token (runai.jfrog.io), from a secret.',
        secret: true,
        workflowSecret: 'JFROG_TOKEN',
      },
      {
        name: 'runai-admin-password',
        description: 'Run:ai admin password, from a secret.',
        secret: true,
        workflowSecret: 'RUNAI_ADMIN_PASSWORD',
      },
      { name: 'runai-client-id', description: 'Run:ai application client id (instead of the admin password).' },
      {
        name: 'runai-client-secret',
        description: 'Run:ai application client secret, from a secret.',
        secret: true,
        workflowSecret: 'RUNAI_CLIENT_SECRET',
      },
      { name: 'tls-cert', description: 'TLS certificate (PEM) for the Run:ai domain when runai.tls.source is provided.' },
      {
        name: 'tls-key',
        description: 'TLS private key (PEM) for the Run:ai domain, from a secret.',
        secret: true,
        workflowSecret: 'RUNAI_TLS_KEY',
      },
      {
        name: 'timeout',
        description:
          'Seconds to wait: phase backend for the API to hand out a token after Helm; phase cluster for the install info and for the cluster to report Connected.',
        default: '1200',
      },
    ],
    outputs: [
      inventoryPathOutput,
      { name: 'cluster-uuid', description: 'Run:ai cluster UUID (phase cluster).' },
      { name: 'control-plane-url', description: 'Run:ai control-plane URL.' },
      {
        name: 'chart-version',
        description: 'Exact chart version installed: control-plane (phase backend) or runai-cluster (phase cluster).',
      },
      changesOutput,
    ],
  },
  {
    action: 'etcd',
    command: 'etcd',
    title: 'bcmkube etcd',
    description:
      "Backs up etcd (operation backup): a snapshot from one healthy member over SSH, checked with etcdutl, sealed with AES-256-GCM on the runner and stored at etcd_backup.target, keeping etcd_backup.keep. Restores it (operation restore, --confirm <cluster>): every API server and member stopped, each member's data dir restored with its own name and peer URL, started together, quorum and a ready API awaited. Plan mode lists the steps per node.",
    inputs: [
      specInput,
      planInput,
      outDirInput,
      inventoryInput,
      { name: 'operation', description: 'backup | restore (the CLI takes it as the word after etcd).', default: 'backup' },
      { name: 'snapshot', description: 'restore: the snapshot id (<cluster>-YYYYMMDDTHHMMSSZ, as backup names it).' },
      { name: 'confirm', description: 'restore: the cluster name, required to change anything.' },
      {
        name: 'etcd-backup-key',
        description:
          'Key that seals and opens the snapshots (at least 16 characters; AES-256-GCM, key derived with scrypt), from a secret. A snapshot holds every Kubernetes Secret: it is never an artifact, output or log line.',
        secret: true,
        workflowSecret: 'ETCD_BACKUP_KEY',
      },
      serviceKeyInput,
      knownHostsInput,
    ],
    outputs: [
      { name: 'snapshot-id', description: 'backup: the id of the snapshot stored (or, in plan mode, that would be).' },
      { name: 'revision', description: 'backup: the etcd revision the snapshot holds.' },
      { name: 'size', description: 'backup: the snapshot size in bytes (before sealing).' },
      changesOutput,
    ],
  },
];

export function stageByCommand(command: string): StageDef | undefined {
  return STAGES.find((s) => s.command === command);
}
