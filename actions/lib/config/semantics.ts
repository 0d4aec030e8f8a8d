// Checks the schema cannot express: hostnames and patterns, role combinations, CIDR overlaps, version
// compatibility. Pure; runs on a spec that already passed the schema (defaults applied).
import semver from 'semver';
import compat from './compat.json' with { type: 'json' };
import { cidrsOverlap, parseCidr, type Cidr } from './cidr.ts';
import { expandPattern, isGlob } from './patterns.ts';
import type { ClusterSpec, NodeSelector, SpecProblem } from './types.ts';

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const GLOB_CHARS = /^[A-Za-z0-9*?.-]+$/;

function validHostname(name: string): boolean {
  return name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

type RoleKey = 'control_plane' | 'workers' | 'etcd' | 'gpu_workers';

/** Literal names each role lists (ranges expanded); globs and categories are resolved at discovery. */
function literalNames(spec: ClusterSpec, role: RoleKey, problems: SpecProblem[]): Map<string, string> {
  const names = new Map<string, string>();
  spec.nodes[role].forEach((sel: NodeSelector, i: number) => {
    const path = `nodes.${role}[${i}]`;
    if (typeof sel !== 'string') return;
    if (isGlob(sel)) {
      if (!GLOB_CHARS.test(sel))
        problems.push({ path, message: `'${sel}' is not a valid glob: letters, digits, '-', '.', '*' and '?' only`, severity: 'error' });
      return;
    }
    let expanded: string[];
    try {
      expanded = expandPattern(sel);
    } catch (err) {
      problems.push({ path, message: (err as Error).message, severity: 'error' });
      return;
    }
    for (const n of expanded) {
      if (!validHostname(n)) {
        problems.push({
          path,
          message: `'${n}' is not a valid hostname (RFC 1123: letters, digits and '-', labels of at most 63)`,
          severity: 'error',
        });
        return;
      }
      if (names.has(n)) problems.push({ path, message: `'${n}' is listed twice in nodes.${role}`, severity: 'error' });
      names.set(n, path);
    }
  });
  return names;
}

function cidrProblem(text: string, path: string, problems: SpecProblem[]): Cidr | undefined {
  const c = parseCidr(text);
  if (typeof c === 'string') {
    problems.push({ path, message: c, severity: 'error' });
    return undefined;
  }
  return c;
}

function versionProblems(spec: ClusterSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const kube = semver.coerce(spec.kubernetes.version)?.version;
  if (!kube)
    return [{ path: 'kubernetes.version', message: `'${spec.kubernetes.version}' is not a version like v1.31.9`, severity: 'error' }];
  const ks = (compat.kubespray.versions as Record<string, { kubernetes: string }>)[spec.kubernetes.kubespray_version];
  if (!ks) {
    problems.push({
      path: 'kubernetes.kubespray_version',
      message: `${spec.kubernetes.kubespray_version} is not in the compatibility table (${Object.keys(compat.kubespray.versions).join(', ')}); check its supported Kubernetes versions yourself`,
      severity: 'warning',
    });
  } else if (!semver.satisfies(kube, ks.kubernetes)) {
    problems.push({
      path: 'kubernetes.version',
      message: `Kubespray ${spec.kubernetes.kubespray_version} supports Kubernetes ${ks.kubernetes}, not ${spec.kubernetes.version}`,
      severity: 'error',
    });
  }
  if (spec.runai.enabled) {
    const line = spec.runai.version.split('.').slice(0, 2).join('.');
    const ra = (compat.runai.versions as Record<string, { kubernetes: string }>)[line];
    if (!ra)
      problems.push({
        path: 'runai.version',
        message: `Run:ai ${spec.runai.version} is not supported (supported lines: ${Object.keys(compat.runai.versions).join(', ')})`,
        severity: 'error',
      });
    else if (!semver.satisfies(kube, ra.kubernetes))
      problems.push({
        path: 'kubernetes.version',
        message: `Run:ai ${line} supports Kubernetes ${ra.kubernetes}, not ${spec.kubernetes.version}`,
        severity: 'error',
      });
  }
  return problems;
}

export function checkSemantics(spec: ClusterSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const cp = literalNames(spec, 'control_plane', problems);
  const workers = literalNames(spec, 'workers', problems);
  const etcd = literalNames(spec, 'etcd', problems);
  const gpu = literalNames(spec, 'gpu_workers', problems);

  if (!spec.nodes.allow_stacked) {
    for (const [name, path] of workers) {
      if (cp.has(name))
        problems.push({
          path,
          message: `'${name}' is both control plane (${cp.get(name)}) and worker; remove it from one role or set nodes.allow_stacked: true`,
          severity: 'error',
        });
    }
  }
  const workerLiterals = spec.nodes.workers.every((s) => typeof s === 'string' && !isGlob(s));
  if (workerLiterals) {
    for (const [name, path] of gpu)
      if (!workers.has(name))
        problems.push({
          path,
          message: `'${name}' is a GPU worker but not in nodes.workers; GPU workers must be workers`,
          severity: 'error',
        });
  }
  const etcdLiteral = (spec.nodes.etcd.length ? spec.nodes.etcd : spec.nodes.control_plane).every(
    (s) => typeof s === 'string' && !isGlob(s),
  );
  const etcdCount = spec.nodes.etcd.length ? etcd.size : cp.size;
  if (etcdLiteral && etcdCount > 0 && etcdCount % 2 === 0) {
    problems.push({
      path: spec.nodes.etcd.length ? 'nodes.etcd' : 'nodes.control_plane',
      message: `${etcdCount} etcd members: an even count tolerates no more failures than ${etcdCount - 1}; use an odd number`,
      severity: 'warning',
    });
  }
  if (etcdLiteral && etcdCount > 7)
    problems.push({ path: 'nodes.etcd', message: `${etcdCount} etcd members slow every write; 3 or 5 is usual`, severity: 'warning' });

  const pod = cidrProblem(spec.network.pod_cidr, 'network.pod_cidr', problems);
  const svc = cidrProblem(spec.network.service_cidr, 'network.service_cidr', problems);
  const nodeNet = spec.network.node_network.cidr
    ? cidrProblem(spec.network.node_network.cidr, 'network.node_network.cidr', problems)
    : undefined;
  if (pod && svc && cidrsOverlap(pod, svc))
    problems.push({
      path: 'network.service_cidr',
      message: `${svc.text} overlaps the pod network ${pod.text}; choose ranges that do not overlap`,
      severity: 'error',
    });
  for (const [c, path] of [
    [pod, 'network.pod_cidr'],
    [svc, 'network.service_cidr'],
  ] as const) {
    if (c && nodeNet && cidrsOverlap(c, nodeNet))
      problems.push({
        path,
        message: `${c.text} overlaps the node network ${nodeNet.text}; pods and services would shadow node addresses`,
        severity: 'error',
      });
    if (c && cidrsOverlap(c, { base: 0x7f000000, bits: 8, text: '127.0.0.0/8' }))
      problems.push({ path, message: `${c.text} overlaps loopback 127.0.0.0/8`, severity: 'error' });
  }

  if (spec.runai.enabled && !spec.runai.domain)
    problems.push({ path: 'runai.domain', message: 'is required when runai.enabled (or set runai.enabled: false)', severity: 'error' });
  if (spec.runai.tls.source === 'provided' && !spec.runai.tls.cert_file) {
    problems.push({
      path: 'runai.tls.cert_file',
      message: 'is required when runai.tls.source is provided (the key comes from input tls-key or key_file)',
      severity: 'error',
    });
  }
  if (spec.access.service_user.public_key && spec.access.service_user.public_key_file) {
    problems.push({ path: 'access.service_user.public_key', message: 'give public_key or public_key_file, not both', severity: 'error' });
  }
  if (
    spec.access.service_user.public_key &&
    !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/.test(spec.access.service_user.public_key.trim())
  ) {
    problems.push({
      path: 'access.service_user.public_key',
      message: 'is not an OpenSSH public key line (ssh-ed25519 AAAA… comment)',
      severity: 'error',
    });
  }
  if (spec.bcm.insecure)
    problems.push({ path: 'bcm.insecure', message: 'TLS verification of BCM is off; give bcm.ca_file instead', severity: 'warning' });
  if (spec.access.host_key_policy === 'off')
    problems.push({
      path: 'access.host_key_policy',
      message: 'SSH host keys are not checked; anyone on the path can impersonate a node',
      severity: 'warning',
    });
  for (const [i, p] of spec.nodes.skippable.entries()) {
    if (!cp.has(p) && !workers.has(p) && !validHostname(p))
      problems.push({ path: `nodes.skippable[${i}]`, message: `'${p}' is not a hostname`, severity: 'error' });
  }
  problems.push(...versionProblems(spec));
  return problems;
}
