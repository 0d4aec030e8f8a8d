// Bad cluster specs, table-driven: each must be refused with an error at the exact path a user would look
// at, and a message that says what is wrong. Every case starts from the shipped lab spec.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { parseSpec, SpecError } from '../../actions/lib/config/load.ts';
import type { SpecProblem } from '../../actions/lib/config/types.ts';

type Doc = Record<string, any>;
const LAB = readFileSync('clusters/lab.yaml', 'utf8');
const labDoc = (): Doc => yaml.load(LAB) as Doc;

interface BadSpec {
  name: string;
  /** A change to the lab spec, or a whole YAML text. */
  mutate?: (s: Doc) => void;
  yaml?: string;
  path: string;
  message: string;
}

function problemsOf(text: string): SpecProblem[] {
  try {
    parseSpec(text, 'bad.yaml');
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  return [];
}

const BAD: BadSpec[] = [
  // top level and YAML
  { name: 'name missing', mutate: (s) => delete s.name, path: 'name', message: 'is required' },
  { name: 'name upper case', mutate: (s) => (s.name = 'Lab'), path: 'name', message: "'Lab' must be lower-case letters, digits and '-'" },
  { name: 'name too long', mutate: (s) => (s.name = 'a'.repeat(64)), path: 'name', message: 'at most 63' },
  { name: 'name not text', mutate: (s) => (s.name = 42), path: 'name', message: '42 must be text' },
  { name: 'unknown top-level key', mutate: (s) => (s.nodez = {}), path: 'nodez', message: "unknown key (did you mean 'nodes'?)" },
  { name: 'top level is a list', yaml: '- name: lab\n', path: '', message: 'must be a YAML mapping' },
  { name: 'duplicate key', yaml: `${LAB}\nname: again\n`, path: '', message: 'duplicated mapping key' },
  { name: 'two documents', yaml: `${LAB}\n---\nname: b\n`, path: '', message: 'not valid YAML' },
  { name: 'tab-indented YAML', yaml: 'name: lab\nbcm:\n\tendpoint: x\n', path: '', message: 'not valid YAML' },

  // bcm
  { name: 'bcm missing', mutate: (s) => delete s.bcm, path: 'bcm', message: 'is required' },
  { name: 'endpoint missing', mutate: (s) => delete s.bcm.endpoint, path: 'bcm.endpoint', message: 'is required' },
  { name: 'endpoint http', mutate: (s) => (s.bcm.endpoint = 'http://bcm:8081'), path: 'bcm.endpoint', message: 'http is refused' },
  {
    name: 'endpoint http even when insecure',
    mutate: (s) => Object.assign(s.bcm, { endpoint: 'http://bcm:8081', insecure: true }),
    path: 'bcm.endpoint',
    message: 'must be an https:// URL',
  },
  {
    name: 'endpoint not a URL',
    mutate: (s) => (s.bcm.endpoint = 'https://bcm head:8081/'),
    path: 'bcm.endpoint',
    message: 'must be a URL',
  },
  { name: 'auth missing', mutate: (s) => delete s.bcm.auth, path: 'bcm.auth', message: 'is required' },
  {
    name: 'auth unknown',
    mutate: (s) => (s.bcm.auth = 'kerberos'),
    path: 'bcm.auth',
    message: "'kerberos' is not one of: login, client-cert",
  },
  { name: 'timeout zero', mutate: (s) => (s.bcm.timeout_seconds = 0), path: 'bcm.timeout_seconds', message: '0 must be at least 1' },
  { name: 'timeout text', mutate: (s) => (s.bcm.timeout_seconds = 'soon'), path: 'bcm.timeout_seconds', message: 'must be a whole number' },
  { name: 'retries huge', mutate: (s) => (s.bcm.retries = 99), path: 'bcm.retries', message: 'at most 10' },
  { name: 'insecure not a boolean', mutate: (s) => (s.bcm.insecure = 'yes'), path: 'bcm.insecure', message: 'must be true or false' },
  { name: 'misspelt bcm key', mutate: (s) => (s.bcm.endpiont = 'x'), path: 'bcm.endpiont', message: "did you mean 'endpoint'?" },
  {
    name: 'inline BCM password',
    mutate: (s) => (s.bcm.password = 'hunter2'),
    path: 'bcm.password',
    message: 'secrets never go in the spec',
  },

  // nodes
  { name: 'nodes missing', mutate: (s) => delete s.nodes, path: 'nodes', message: 'is required' },
  { name: 'control plane missing', mutate: (s) => delete s.nodes.control_plane, path: 'nodes.control_plane', message: 'is required' },
  {
    name: 'control plane empty',
    mutate: (s) => (s.nodes.control_plane = []),
    path: 'nodes.control_plane',
    message: 'needs at least 1 entry',
  },
  {
    name: 'control plane not a list',
    mutate: (s) => (s.nodes.control_plane = 'cpu-03'),
    path: 'nodes.control_plane',
    message: 'must be a list',
  },
  {
    name: 'selector is a number',
    mutate: (s) => (s.nodes.control_plane = ['cpu-03', 5]),
    path: 'nodes.control_plane[1]',
    message: '5 must be a hostname, a range pattern',
  },
  {
    name: 'selector mapping without category',
    mutate: (s) => (s.nodes.workers = [{ categry: 'dgx' }]),
    path: 'nodes.workers[0]',
    message: 'or {category: name}',
  },
  {
    name: 'underscore in hostname',
    mutate: (s) => (s.nodes.control_plane = ['cpu_03']),
    path: 'nodes.control_plane[0]',
    message: "'cpu_03' is not a valid hostname",
  },
  {
    name: 'shell metacharacters',
    mutate: (s) => (s.nodes.workers = ['dgx;reboot']),
    path: 'nodes.workers[0]',
    message: 'is not a valid hostname',
  },
  {
    name: 'label longer than 63',
    mutate: (s) => (s.nodes.workers = [`d${'x'.repeat(63)}`]),
    path: 'nodes.workers[0]',
    message: 'is not a valid hostname',
  },
  {
    name: 'range runs backwards',
    mutate: (s) => (s.nodes.workers = ['dgx-[06-05]']),
    path: 'nodes.workers[0]',
    message: 'runs backwards; write [05-06]',
  },
  {
    name: 'range not closed',
    mutate: (s) => (s.nodes.workers = ['dgx-[05-06']),
    path: 'nodes.workers[0]',
    message: 'a range is written [first-last]',
  },
  {
    name: 'range with letters',
    mutate: (s) => (s.nodes.workers = ['dgx-[a-c]']),
    path: 'nodes.workers[0]',
    message: 'a range is written [first-last]',
  },
  { name: 'range too large', mutate: (s) => (s.nodes.workers = ['dgx-[0-99999]']), path: 'nodes.workers[0]', message: 'at most 10000' },
  {
    name: 'two ranges too large together',
    mutate: (s) => (s.nodes.workers = ['r[1-200]-dgx[1-100]']),
    path: 'nodes.workers[0]',
    message: 'expands to 20000 names',
  },
  { name: 'glob with a slash', mutate: (s) => (s.nodes.workers = ['dgx/*']), path: 'nodes.workers[0]', message: 'is not a valid glob' },
  {
    name: 'node in control plane and workers',
    mutate: (s) => (s.nodes.workers = ['dgx-05', 'cpu-03']),
    path: 'nodes.workers[1]',
    message: "'cpu-03' is both control plane (nodes.control_plane[0]) and worker",
  },
  {
    name: 'range overlapping the control plane',
    mutate: (s) => (s.nodes.workers = ['cpu-[05-06]']),
    path: 'nodes.workers[0]',
    message: "'cpu-05' is both control plane",
  },
  {
    name: 'GPU worker not a worker',
    mutate: (s) => (s.nodes.gpu_workers = ['dgx-07']),
    path: 'nodes.gpu_workers[0]',
    message: "'dgx-07' is a GPU worker but not in nodes.workers",
  },
  {
    name: 'GPU worker outside the worker glob',
    mutate: (s) => Object.assign(s.nodes, { workers: ['dgx-*'], gpu_workers: ['cpu-09'] }),
    path: 'nodes.gpu_workers[0]',
    message: 'GPU workers must also be workers',
  },
  {
    name: 'node listed twice',
    mutate: (s) => (s.nodes.control_plane = ['cpu-03', 'cpu-05', 'cpu-03']),
    path: 'nodes.control_plane[2]',
    message: "'cpu-03' is already listed at nodes.control_plane[0]",
  },
  {
    name: 'unknown BCM status',
    mutate: (s) => (s.nodes.allowed_status = ['RUNNING']),
    path: 'nodes.allowed_status[0]',
    message: "'RUNNING' is not one of: UP, DOWN",
  },
  {
    name: 'status twice',
    mutate: (s) => (s.nodes.allowed_status = ['UP', 'UP']),
    path: 'nodes.allowed_status',
    message: 'has duplicate entries',
  },
  {
    name: 'skippable not a hostname',
    mutate: (s) => (s.nodes.skippable = ['dgx 05']),
    path: 'nodes.skippable[0]',
    message: "'dgx 05' is not a hostname",
  },
  {
    name: 'misspelt nodes key',
    mutate: (s) => (s.nodes.control_plain = ['x']),
    path: 'nodes.control_plain',
    message: "did you mean 'control_plane'?",
  },

  // network
  { name: 'network missing', mutate: (s) => delete s.network, path: 'network', message: 'is required' },
  { name: 'node network missing', mutate: (s) => (s.network = {}), path: 'network.node_network', message: 'is required' },
  {
    name: 'node network empty',
    mutate: (s) => (s.network.node_network = {}),
    path: 'network.node_network',
    message: 'give exactly one of name, cidr, interface',
  },
  {
    name: 'node network given two ways',
    mutate: (s) => (s.network.node_network = { name: 'dgxnet', cidr: '127.0.1.0/24' }),
    path: 'network.node_network',
    message: 'give exactly one of name, cidr, interface',
  },
  {
    name: 'node network prefix > 32',
    mutate: (s) => (s.network.node_network = { cidr: '127.0.1.0/33' }),
    path: 'network.node_network.cidr',
    message: 'prefix length /33 is larger than 32',
  },
  {
    name: 'pod CIDR without prefix',
    mutate: (s) => (s.network.pod_cidr = '172.29.0.0'),
    path: 'network.pod_cidr',
    message: 'is not an IPv4 CIDR',
  },
  {
    name: 'pod CIDR with a trailing space (it would reach kube_pods_subnet as written)',
    mutate: (s) => (s.network.pod_cidr = '172.29.0.0/16 '),
    path: 'network.pod_cidr',
    message: 'contains spaces; write the CIDR alone',
  },
  {
    name: 'node network CIDR with a space inside',
    mutate: (s) => (s.network.node_network = { cidr: '127.0.1.0 /24' }),
    path: 'network.node_network.cidr',
    message: 'contains spaces',
  },
  {
    name: 'pod CIDR host bits',
    mutate: (s) => (s.network.pod_cidr = '172.29.0.1/16'),
    path: 'network.pod_cidr',
    message: 'host bits set; the network is 172.29.0.0/16',
  },
  {
    name: 'pod CIDR octet > 255',
    mutate: (s) => (s.network.pod_cidr = '300.1.0.0/16'),
    path: 'network.pod_cidr',
    message: "'300.1.0.0' is not an IPv4 address",
  },
  {
    name: 'service CIDR IPv6',
    mutate: (s) => (s.network.service_cidr = 'fd00::/108'),
    path: 'network.service_cidr',
    message: "'fd00::/108' is not an IPv4 CIDR",
  },
  {
    name: 'service CIDR inside the pod CIDR',
    mutate: (s) => (s.network.service_cidr = '172.29.128.0/17'),
    path: 'network.service_cidr',
    message: 'overlaps the pod network 172.29.0.0/16',
  },
  {
    name: 'service CIDR overlaps the node network',
    mutate: (s) => (s.network.node_network = { cidr: '10.150.7.0/24' }),
    path: 'network.service_cidr',
    message: 'overlaps the node network 10.150.7.0/24',
  },
  {
    name: 'pod CIDR overlaps the node network',
    mutate: (s) => (s.network.node_network = { cidr: '172.16.0.0/12' }),
    path: 'network.pod_cidr',
    message: 'overlaps the node network 172.16.0.0/12',
  },
  {
    name: 'misspelt network key',
    mutate: (s) => (s.network.pod_cdir = '10.0.0.0/8'),
    path: 'network.pod_cdir',
    message: "did you mean 'pod_cidr'?",
  },

  // access
  {
    name: 'service user with a space',
    mutate: (s) => (s.access.service_user.name = 'Ansible BCM'),
    path: 'access.service_user.name',
    message: 'must be a Linux user name',
  },
  { name: 'service user uid 0', mutate: (s) => (s.access.service_user.uid = 0), path: 'access.service_user.uid', message: 'at least 1000' },
  {
    name: 'service user gid text',
    mutate: (s) => (s.access.service_user.gid = 'sixty'),
    path: 'access.service_user.gid',
    message: 'must be a whole number',
  },
  {
    name: 'shell not absolute',
    mutate: (s) => (s.access.service_user.shell = 'bash'),
    path: 'access.service_user.shell',
    message: 'must be an absolute path',
  },
  {
    name: 'public key and its file',
    mutate: (s) => (s.access.service_user.public_key = 'ssh-ed25519 AAAAC3Nza x'),
    path: 'access.service_user.public_key',
    message: 'not both',
  },
  {
    name: 'public key not a key',
    mutate: (s) => {
      delete s.access.service_user.public_key_file;
      s.access.service_user.public_key = 'not a key';
    },
    path: 'access.service_user.public_key',
    message: 'is not an OpenSSH public key line',
  },
  // prepare-nodes installs only keys Ansible can use unattended, with a comment safe in a root shell script:
  // validate refuses what converge would refuse.
  ...Object.entries({
    'a hardware (sk-) key': 'sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t me',
    'comment with a lone surrogate': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me\ud800',
    'comment with a shell metacharacter': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me$(id)',
  }).map(([what, key]) => ({
    name: `public key ${what}`,
    mutate: (s: any) => {
      delete s.access.service_user.public_key_file;
      s.access.service_user.public_key = key;
    },
    path: 'access.service_user.public_key',
    message: 'is not an OpenSSH public key line',
  })),
  {
    name: 'inline service private key',
    mutate: (s) => (s.access.service_user.private_key = '-----BEGIN'),
    path: 'access.service_user.private_key',
    message: 'secrets never go in the spec',
  },
  {
    name: 'host key policy unknown',
    mutate: (s) => (s.access.host_key_policy = 'yolo'),
    path: 'access.host_key_policy',
    message: 'not one of: strict, accept-new, off',
  },
  {
    name: 'admin auth unknown',
    mutate: (s) => (s.access.admin.auth = 'token'),
    path: 'access.admin.auth',
    message: 'not one of: key, password',
  },
  {
    name: 'inline admin password',
    mutate: (s) => (s.access.admin.password = 'p4ss'),
    path: 'access.admin.password',
    message: 'secrets never go in the spec',
  },
  { name: 'concurrency zero', mutate: (s) => (s.access.concurrency = 0), path: 'access.concurrency', message: 'at least 1' },
  {
    name: 'data partition relative',
    mutate: (s) => (s.access.data_partitions = ['raid']),
    path: 'access.data_partitions[0]',
    message: 'must be an absolute path',
  },

  // kubernetes
  {
    name: 'Kubernetes version without v',
    mutate: (s) => (s.kubernetes = { version: '1.31.9' }),
    path: 'kubernetes.version',
    message: 'a version with a leading v',
  },
  {
    name: 'Kubernetes too new for Kubespray',
    mutate: (s) => (s.kubernetes = { version: 'v1.32.5' }),
    path: 'kubernetes.version',
    message:
      'Kubespray v2.27.1 has no checksums for Kubernetes v1.32.5 and cannot install it; nearest supported: v1.31.9 (it supports v1.29.0 to v1.31.9)',
  },
  {
    name: 'Kubernetes patch newer than Kubespray has checksums for',
    mutate: (s) => (s.kubernetes = { version: 'v1.31.10' }),
    path: 'kubernetes.version',
    message: 'Kubespray v2.27.1 has no checksums for Kubernetes v1.31.10 and cannot install it; nearest supported: v1.31.9',
  },
  {
    name: 'Kubernetes too old for Kubespray',
    mutate: (s) => (s.kubernetes = { version: 'v1.28.6' }),
    path: 'kubernetes.version',
    message: 'nearest supported: v1.29.0',
  },
  {
    name: 'Kubernetes too old for an older Kubespray line (compatibility table)',
    mutate: (s) => (s.kubernetes = { kubespray_version: 'v2.26.0', version: 'v1.27.6' }),
    path: 'kubernetes.version',
    message: 'Kubernetes v1.27.6 is not supported by Kubespray v2.26.0, which supports 1.28-1.30',
  },
  {
    name: 'Four etcd members (Kubespray stops on an even count)',
    mutate: (s) => (s.nodes = { ...s.nodes, etcd: ['cpu-[01-04]'] }),
    path: 'nodes.etcd',
    message: '4 etcd members: Kubespray refuses an even count',
  },
  {
    name: 'An upper-case hostname (Kubespray accepts lower case only)',
    mutate: (s) => (s.nodes = { ...s.nodes, workers: ['DGX-05'] }),
    path: 'nodes.workers[0]',
    message: "'DGX-05' is not a hostname Kubespray accepts: lower-case letters",
  },
  {
    name: 'Kubernetes too old for Run:ai 2.21',
    mutate: (s) => (s.kubernetes = { kubespray_version: 'v2.25.0', version: 'v1.28.6' }),
    path: 'kubernetes.version',
    message: 'Kubernetes v1.28.6 is not supported by Run:ai 2.21.63, which supports 1.29-1.32',
  },
  {
    name: 'CNI unknown',
    mutate: (s) => (s.kubernetes = { cni: 'weave' }),
    path: 'kubernetes.cni',
    message: "'weave' is not one of: calico, cilium, flannel",
  },
  {
    name: 'DNS domain with underscore',
    mutate: (s) => (s.kubernetes = { dns_domain: 'my_cluster' }),
    path: 'kubernetes.dns_domain',
    message: 'must be a DNS name',
  },
  {
    name: 'healthcheck on CMDaemon port',
    mutate: (s) => (s.kubernetes = { apiserver_healthcheck_port: 8081 }),
    path: 'kubernetes.apiserver_healthcheck_port',
    message: "8081 is BCM's CMDaemon port",
  },
  {
    name: 'extra vars a list',
    mutate: (s) => (s.kubernetes = { extra_vars: ['a'] }),
    path: 'kubernetes.extra_vars',
    message: 'must be a mapping',
  },
  {
    name: 'token in extra vars',
    mutate: (s) => (s.kubernetes = { extra_vars: { kube_oidc_token: 'abc' } }),
    path: 'kubernetes.extra_vars.kube_oidc_token',
    message: 'secrets never go in the spec',
  },

  // platform, runai, mirrors
  {
    name: 'ingress unknown',
    mutate: (s) => (s.platform = { ingress: 'traefik' }),
    path: 'platform.ingress',
    message: 'not one of: ingress-nginx, none',
  },
  {
    name: 'release override misspelt key',
    mutate: (s) => (s.platform = { releases: { 'gpu-operator': { enable: false } } }),
    path: 'platform.releases.gpu-operator.enable',
    message: "unknown key (did you mean 'enabled'?)",
  },
  {
    name: 'Run:ai 2.18',
    mutate: (s) => (s.runai.version = '2.18.4'),
    path: 'runai.version',
    message: 'Run:ai 2.18.4 is not supported (supported lines: 2.21)',
  },
  {
    name: 'Run:ai version not a version',
    mutate: (s) => (s.runai.version = 'latest'),
    path: 'runai.version',
    message: 'a version like 2.21.63',
  },
  {
    name: 'Run:ai domain missing',
    mutate: (s) => delete s.runai.domain,
    path: 'runai.domain',
    message: 'is required while runai.enabled is true',
  },
  {
    name: 'Run:ai domain not a DNS name',
    mutate: (s) => (s.runai.domain = 'runai lab'),
    path: 'runai.domain',
    message: 'must be a DNS name',
  },
  {
    name: 'Run:ai TLS source unknown',
    mutate: (s) => (s.runai.tls = { source: 'acme' }),
    path: 'runai.tls.source',
    message: 'not one of: generate, provided',
  },
  { name: 'ingress port > 65535', mutate: (s) => (s.runai.ingress_port = 70000), path: 'runai.ingress_port', message: 'at most 65535' },
  {
    name: 'Run:ai client secret inline',
    mutate: (s) => (s.runai.client_secret = 'xyz'),
    path: 'runai.client_secret',
    message: 'secrets never go in the spec',
  },
  { name: 'mirror not a URL', mutate: (s) => (s.mirrors.charts = 'not a url'), path: 'mirrors.charts', message: 'must be a URL' },
  {
    name: 'image mirror not a list',
    mutate: (s) => (s.mirrors.images = { 'docker.io': 'https://m' }),
    path: 'mirrors.images.docker.io',
    message: 'must be a list',
  },
];

describe(`bad cluster specs (${BAD.length})`, () => {
  it('has at least 40 distinct cases', () => {
    assert.ok(BAD.length >= 40);
    assert.equal(new Set(BAD.map((c) => c.name)).size, BAD.length, 'case names are distinct');
  });

  for (const c of BAD) {
    it(`${c.name} → ${c.path || '(spec)'}`, () => {
      const doc = labDoc();
      c.mutate?.(doc);
      const errors = problemsOf(c.yaml ?? yaml.dump(doc)).filter((p) => p.severity === 'error');
      assert.ok(errors.length > 0, 'the spec is refused');
      const atPath = errors.filter((p) => p.path === c.path);
      assert.ok(atPath.length > 0, `an error at '${c.path}'; got ${JSON.stringify(errors)}`);
      assert.ok(
        atPath.some((p) => p.message.includes(c.message)),
        `message containing "${c.message}"; got ${JSON.stringify(atPath.map((p) => p.message))}`,
      );
    });
  }
});
