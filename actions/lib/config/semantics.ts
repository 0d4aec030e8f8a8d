// Checks the schema cannot express: inline secrets, hostnames and patterns, role combinations, CIDR
// overlaps, version compatibility, and (for the stages) where each credential comes from. All pure.
import semver from 'semver';
import compat from './compat.json' with { type: 'json' };
import { nearestVersions, supportedKubernetesVersions } from '../kubespray/kubernetes-versions.ts';
import { cidrsOverlap, LOOPBACK, parseCidr, type Cidr } from './cidr.ts';
import { expandPattern, isGlob, matchSelector } from './patterns.ts';
import type { ClusterSpec, NodeSelector, NodesSpec, SpecProblem } from './types.ts';
import { PUBLIC_KEY_HINT, publicKeyLine } from '../ssh/public-key.ts';

const error = (path: string, message: string): SpecProblem => ({ path, message, severity: 'error' });
const warning = (path: string, message: string): SpecProblem => ({ path, message, severity: 'warning' });

// ---------------------------------------------------------------------------------------------------
// Secrets

const SECRET_WORDS = new Set(['password', 'passwd', 'secret', 'token']);
const SECRET_KEY_KINDS = new Set(['private', 'client', 'ssh', 'tls']);

/**
 * A key that names a secret: its last word is password/passwd/secret/token, or it ends in
 * private_key / client_key / ssh_key / tls_key (any of snake_case, kebab-case, camelCase).
 * `*_file` keys and Helm's `existingSecret`-style references (a Secret's name) are not secrets.
 */
export function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[_\-.\s]+/)
    .filter(Boolean);
  const last = words.at(-1) ?? '';
  if (words[0] === 'existing') return false;
  if (SECRET_WORDS.has(last) || last === 'privatekey') return true;
  return last === 'key' && SECRET_KEY_KINDS.has(words.at(-2) ?? '');
}

/** Does any segment of a dotted path (`bcm.password`, `x.token[0]`) name a secret? */
export function isSecretPath(path: string): boolean {
  return path
    .split('.')
    .map((seg) => seg.replace(/\[\d+\]/g, ''))
    .some(isSecretKey);
}

function holdsValue(v: unknown): boolean {
  if (v === null || v === undefined || typeof v === 'boolean') return false;
  if (typeof v === 'string') return v.trim() !== '';
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** Keys named like secrets must not hold values in the spec: secrets come from action inputs or *_file paths. */
export function findInlineSecrets(data: unknown, path = ''): SpecProblem[] {
  if (Array.isArray(data)) return data.flatMap((v, i) => findInlineSecrets(v, `${path}[${i}]`));
  if (!data || typeof data !== 'object') return [];
  return Object.entries(data).flatMap(([k, v]) => {
    const p = path ? `${path}.${k}` : k;
    if (isSecretKey(k) && holdsValue(v)) {
      return [
        error(
          p,
          'secrets never go in the spec (it is committed to the repository): pass it as an action input from a GitHub secret, or point the matching *_file key at a file (CLI)',
        ),
      ];
    }
    return findInlineSecrets(v, p);
  });
}

// ---------------------------------------------------------------------------------------------------
// Nodes

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const GLOB_CHARS = /^[A-Za-z0-9*?.-]+$/;

/** RFC 1123 host name: dot-separated labels of letters, digits and '-' (not at either end), each ≤ 63, total ≤ 253. */
export function isValidHostname(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

// Kubespray's own hostname check (kubernetes/preinstall, "Stop if bad hostname"): lower case only.
const KUBESPRAY_HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why Kubespray would refuse this hostname, or undefined. */
export function kubesprayHostnameProblem(name: string): string | undefined {
  if (KUBESPRAY_HOSTNAME.test(name)) return undefined;
  return `'${name}' is not a hostname Kubespray accepts: lower-case letters, digits, '-' and '.' only (Kubernetes node names are lower case); rename the node in BCM`;
}

/** Kubespray stops on an even etcd member count (kubernetes/preinstall, "Stop if even number of etcd hosts"). */
export function etcdCountProblem(count: number, source = ''): string | undefined {
  if (count === 0 || count % 2 === 1) return undefined;
  return `${count} etcd members${source}: Kubespray refuses an even count (${count} members survive no more failures than ${count - 1}); use an odd number (3 or 5)`;
}

type RoleKey = 'control_plane' | 'workers' | 'etcd' | 'gpu_workers';

interface RoleNames {
  /** Literal hostnames (ranges expanded) → the path of the entry that names them. */
  literal: Map<string, string>;
  /** Globs and categories: resolved against BCM at discovery. */
  deferred: NodeSelector[];
}

function roleNames(nodes: NodesSpec, role: RoleKey, problems: SpecProblem[]): RoleNames {
  const literal = new Map<string, string>();
  const deferred: NodeSelector[] = [];
  nodes[role].forEach((sel, i) => {
    const path = `nodes.${role}[${i}]`;
    if (typeof sel !== 'string') {
      deferred.push(sel);
      return;
    }
    if (isGlob(sel)) {
      if (GLOB_CHARS.test(sel)) deferred.push(sel);
      else problems.push(error(path, `'${sel}' is not a valid glob: letters, digits, '-', '.', '*' and '?' only`));
      return;
    }
    let names: string[];
    try {
      names = expandPattern(sel);
    } catch (err) {
      problems.push(error(path, (err as Error).message));
      return;
    }
    const bad = names.find((n) => !isValidHostname(n));
    if (bad !== undefined) {
      problems.push(
        error(path, `'${bad}' is not a valid hostname (RFC 1123: letters, digits and '-', dot-separated labels of at most 63)`),
      );
      return;
    }
    const upper = names.find((n) => kubesprayHostnameProblem(n));
    if (upper !== undefined) {
      problems.push(error(path, kubesprayHostnameProblem(upper)!));
      return;
    }
    for (const n of names) {
      const first = literal.get(n);
      if (first) problems.push(error(path, `'${n}' is already listed at ${first}`));
      else literal.set(n, path);
    }
  });
  return { literal, deferred };
}

function nodeProblems(nodes: NodesSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const cp = roleNames(nodes, 'control_plane', problems);
  const workers = roleNames(nodes, 'workers', problems);
  const etcd = roleNames(nodes, 'etcd', problems);
  const gpu = roleNames(nodes, 'gpu_workers', problems);

  if (!nodes.allow_stacked) {
    for (const [name, path] of workers.literal) {
      const cpPath = cp.literal.get(name);
      if (cpPath)
        problems.push(
          error(
            path,
            `'${name}' is both control plane (${cpPath}) and worker (${path}); remove it from one role, or set nodes.allow_stacked: true`,
          ),
        );
    }
  }

  // A GPU worker must be a worker. Categories can only be resolved against BCM, so they defer the check.
  if (!workers.deferred.some((s) => typeof s !== 'string')) {
    const workerGlobs = workers.deferred.filter((s): s is string => typeof s === 'string');
    for (const [name, path] of gpu.literal) {
      if (!workers.literal.has(name) && !workerGlobs.some((g) => matchSelector(g, name)))
        problems.push(error(path, `'${name}' is a GPU worker but not in nodes.workers; GPU workers must also be workers`));
    }
  }

  const etcdFromControlPlane = nodes.etcd.length === 0;
  const members = etcdFromControlPlane ? cp : etcd;
  const etcdPath = etcdFromControlPlane ? 'nodes.control_plane' : 'nodes.etcd';
  const count = members.literal.size;
  if (members.deferred.length === 0 && count > 0) {
    const source = etcdFromControlPlane ? ' (etcd runs on the control plane)' : '';
    const even = etcdCountProblem(count, source);
    if (even) problems.push(error(etcdPath, even));
    if (count > 7) problems.push(warning(etcdPath, `${count} etcd members${source} slow every write; 3 or 5 is usual`));
  }

  nodes.skippable.forEach((name, i) => {
    if (!isValidHostname(name)) problems.push(error(`nodes.skippable[${i}]`, `'${name}' is not a hostname`));
  });
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Networks

function parsed(text: string, path: string, problems: SpecProblem[]): Cidr | undefined {
  const c = parseCidr(text);
  if (typeof c === 'string') {
    problems.push(error(path, c));
    return undefined;
  }
  return c;
}

function networkProblems(network: ClusterSpec['network']): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const pod = parsed(network.pod_cidr, 'network.pod_cidr', problems);
  const svc = parsed(network.service_cidr, 'network.service_cidr', problems);
  const nodeNet =
    network.node_network.cidr !== undefined ? parsed(network.node_network.cidr, 'network.node_network.cidr', problems) : undefined;
  if (pod && svc && cidrsOverlap(pod, svc))
    problems.push(
      error(
        'network.service_cidr',
        `${svc.text} overlaps the pod network ${pod.text} (network.pod_cidr); choose ranges that do not overlap`,
      ),
    );
  for (const [c, path] of [
    [pod, 'network.pod_cidr'],
    [svc, 'network.service_cidr'],
  ] as const) {
    if (!c) continue;
    if (nodeNet && cidrsOverlap(c, nodeNet))
      problems.push(
        error(
          path,
          `${c.text} overlaps the node network ${nodeNet.text} (network.node_network.cidr); nodes would become unreachable from pods`,
        ),
      );
    if (cidrsOverlap(c, LOOPBACK)) problems.push(warning(path, `${c.text} overlaps loopback ${LOOPBACK.text}; pods cannot route to it`));
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Versions

interface Line {
  kubernetes: string;
  shown: string;
}

function versionProblems(spec: ClusterSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const k = spec.kubernetes;
  const kube = semver.coerce(k.version)?.version;
  if (!kube) return [error('kubernetes.version', `'${k.version}' is not a version like v1.31.9`)];
  const supported = supportedKubernetesVersions(k.kubespray_version);
  if (supported) {
    if (!supported.includes(k.version)) {
      const near = nearestVersions(k.version, supported);
      problems.push(
        error(
          'kubernetes.version',
          `Kubespray ${k.kubespray_version} has no checksums for Kubernetes ${k.version} and cannot install it; nearest supported: ${near.join(', ') || 'none'} (it supports ${supported[0]} to ${supported.at(-1)})`,
        ),
      );
    }
  } else {
    const ksLines = compat.kubespray.lines as Record<string, Line>;
    const ksLine = k.kubespray_version.split('.').slice(0, 2).join('.');
    const ks = ksLines[ksLine];
    if (!ks) {
      problems.push(
        warning(
          'kubernetes.kubespray_version',
          `Kubespray ${k.kubespray_version} is not in the compatibility table (lines ${Object.keys(ksLines).join(', ')}); check yourself that it supports Kubernetes ${k.version}`,
        ),
      );
    } else if (!semver.satisfies(kube, ks.kubernetes)) {
      problems.push(
        error(
          'kubernetes.version',
          `Kubernetes ${k.version} is not supported by Kubespray ${k.kubespray_version}, which supports ${ks.shown}`,
        ),
      );
    }
  }
  if (spec.runai.enabled) {
    const raLines = compat.runai.lines as Record<string, Line>;
    const raLine = spec.runai.version.split('.').slice(0, 2).join('.');
    const ra = raLines[raLine];
    if (!ra)
      problems.push(
        error('runai.version', `Run:ai ${spec.runai.version} is not supported (supported lines: ${Object.keys(raLines).join(', ')})`),
      );
    else if (!semver.satisfies(kube, ra.kubernetes))
      problems.push(
        error('kubernetes.version', `Kubernetes ${k.version} is not supported by Run:ai ${spec.runai.version}, which supports ${ra.shown}`),
      );
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Everything else

const CMDAEMON_PORT = 8081;

function accessProblems(spec: ClusterSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const u = spec.access.service_user;
  if (u.public_key !== undefined && u.public_key_file !== undefined)
    problems.push(error('access.service_user.public_key', 'give public_key or public_key_file, not both'));
  if (u.public_key !== undefined && publicKeyLine(u.public_key) === undefined)
    problems.push(error('access.service_user.public_key', PUBLIC_KEY_HINT));
  if (spec.access.host_key_policy === 'off')
    problems.push(warning('access.host_key_policy', 'SSH host keys are not checked; anyone on the path can impersonate a node'));
  return problems;
}

function kubernetesProblems(spec: ClusterSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const k = spec.kubernetes;
  if (k.apiserver_healthcheck_port === CMDAEMON_PORT)
    problems.push(
      error(
        'kubernetes.apiserver_healthcheck_port',
        `${CMDAEMON_PORT} is BCM's CMDaemon port on every node: the nginx-proxy healthcheck cannot bind it and workers stay NotReady; use 8082`,
      ),
    );
  if (k.dns_domain === spec.name && k.dns_domain !== 'cluster.local')
    problems.push(
      warning(
        'kubernetes.dns_domain',
        `the cluster DNS domain is the cluster name '${spec.name}'; in-cluster names will not end in cluster.local`,
      ),
    );
  return problems;
}

function runaiProblems(spec: ClusterSpec): SpecProblem[] {
  const r = spec.runai;
  const nodePortRange = 'kube_apiserver_node_port_range' in spec.kubernetes.extra_vars;
  // 443 is Run:ai's documented front door (hostPort or a load balancer), not a NodePort
  if (r.enabled && !nodePortRange && r.ingress_port !== 443 && (r.ingress_port < 30000 || r.ingress_port > 32767))
    return [
      warning(
        'runai.ingress_port',
        `${r.ingress_port} is neither 443 nor in Kubernetes' NodePort range 30000-32767; set kubernetes.extra_vars.kube_apiserver_node_port_range too`,
      ),
    ];
  return [];
}

/**
 * Semantic checks on a spec that went through the schema (defaults applied). `skip` names top-level
 * sections that had schema errors: checks reading them are left out, the rest still run, so every
 * independent problem is reported at once.
 */
export function checkSemantics(spec: ClusterSpec, skip: ReadonlySet<string> = new Set()): SpecProblem[] {
  const ok = (...sections: string[]) => !skip.has('') && sections.every((s) => !skip.has(s));
  const problems: SpecProblem[] = [];
  if (ok('nodes')) problems.push(...nodeProblems(spec.nodes));
  if (ok('network')) problems.push(...networkProblems(spec.network));
  if (ok('kubernetes', 'runai')) problems.push(...versionProblems(spec), ...runaiProblems(spec));
  if (ok('kubernetes', 'name')) problems.push(...kubernetesProblems(spec));
  if (ok('access')) problems.push(...accessProblems(spec));
  if (ok('bcm') && spec.bcm.insecure) problems.push(warning('bcm.insecure', 'TLS verification of BCM is off; give bcm.ca_file instead'));
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Credential sources (used by the CLI and the actions, not by the loader)

/** Which secret-bearing action inputs (or CLI flags of the same names) were given. */
export interface CredentialInputs {
  'bcm-password'?: boolean;
  'bcm-client-cert'?: boolean;
  'bcm-client-key'?: boolean;
  'admin-ssh-key'?: boolean;
  'admin-password'?: boolean;
  'service-ssh-key'?: boolean;
  'service-public-key'?: boolean;
  'runai-admin-password'?: boolean;
  'runai-client-secret'?: boolean;
  'tls-cert'?: boolean;
  'tls-key'?: boolean;
}

export type CredentialArea = 'bcm' | 'admin' | 'service' | 'runai';
export const CREDENTIAL_AREAS: readonly CredentialArea[] = ['bcm', 'admin', 'service', 'runai'];

/**
 * Every credential a stage needs must come from somewhere: an action input (from a GitHub secret) or
 * the spec's *_file path (CLI). Which inputs were given is the caller's knowledge, so this is not a
 * schema rule. Problems point at the spec key that could supply the missing credential.
 */
export function checkCredentialSources(
  spec: ClusterSpec,
  available: CredentialInputs,
  areas: readonly CredentialArea[] = CREDENTIAL_AREAS,
): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const need = (given: boolean, input: keyof CredentialInputs, path: string, what: string) => {
    if (!given) problems.push(error(path, `${what} is missing: pass input '${input}' from a secret, or set ${path} (CLI)`));
  };
  const has = (input: keyof CredentialInputs) => available[input] === true;
  if (areas.includes('bcm')) {
    const b = spec.bcm;
    if (b.auth === 'login') need(has('bcm-password') || !!b.password_file, 'bcm-password', 'bcm.password_file', 'the BCM password');
    else {
      need(has('bcm-client-cert') || !!b.client_cert_file, 'bcm-client-cert', 'bcm.client_cert_file', 'the BCM client certificate');
      need(has('bcm-client-key') || !!b.client_key_file, 'bcm-client-key', 'bcm.client_key_file', "the BCM client certificate's key");
    }
  }
  if (areas.includes('admin')) {
    const a = spec.access.admin;
    if (a.auth === 'key') need(has('admin-ssh-key') || !!a.key_file, 'admin-ssh-key', 'access.admin.key_file', "the admin's SSH key");
    else need(has('admin-password') || !!a.password_file, 'admin-password', 'access.admin.password_file', "the admin's password");
  }
  if (areas.includes('service')) {
    const u = spec.access.service_user;
    need(
      has('service-ssh-key') || !!u.private_key_file,
      'service-ssh-key',
      'access.service_user.private_key_file',
      "the service user's private key",
    );
    if (!has('service-public-key') && !u.public_key && !u.public_key_file)
      problems.push(
        error(
          'access.service_user.public_key_file',
          "the service user's public key is missing: set access.service_user.public_key or public_key_file, or pass input 'service-public-key'",
        ),
      );
  }
  if (areas.includes('runai') && spec.runai.enabled) {
    const r = spec.runai;
    if (!has('runai-admin-password') && !has('runai-client-secret') && !r.password_file)
      problems.push(
        error(
          'runai.password_file',
          "the Run:ai admin password is missing: pass input 'runai-admin-password' (or 'runai-client-secret') from a secret, or set runai.password_file (CLI)",
        ),
      );
    if (r.tls.source === 'provided') {
      need(
        has('tls-cert') || !!r.tls.cert_file,
        'tls-cert',
        'runai.tls.cert_file',
        'the Run:ai TLS certificate (runai.tls.source: provided)',
      );
      need(has('tls-key') || !!r.tls.key_file, 'tls-key', 'runai.tls.key_file', 'the Run:ai TLS key (runai.tls.source: provided)');
    }
  }
  return problems;
}
