// The kubectl edge of the runai stage that helm/cluster.ts does not cover: read a secret's data, put the Run:ai
// domain into the cluster's DNS, clear leftover hook jobs. Every call is an argument array.
import { runKubectl, type KubeTools } from '../helm/kube-tools.ts';
import { StageError } from '../util/errors.ts';
import { DNS_NAMESPACE, DNS_TARGETS, withDomainHosts } from './dns.ts';
import { secretData } from './objects.ts';

const firstLine = (s: string) => s.trim().split('\n')[0]?.slice(0, 240) ?? '';

const notFound = (stderr: string) => /NotFound|not found/i.test(stderr);

/** A Secret's decoded data; undefined when the secret does not exist. */
export async function readSecret(t: KubeTools, namespace: string, name: string): Promise<Record<string, string> | undefined> {
  const r = await runKubectl(t, ['get', 'secret', name, '--namespace', namespace, '--output', 'json']);
  if (r.code !== 0) {
    if (notFound(r.stderr)) return undefined;
    throw new StageError(`kubectl get secret ${namespace}/${name} failed (exit ${r.code}): ${firstLine(r.stderr)}`);
  }
  return secretData(r.stdout) ?? {};
}

export interface DnsOutcome {
  configMap: string;
  changed: boolean;
}

/** The Corefile pods reach (nodelocaldns, else coredns) answers `domain` with `ip`; its workload restarts on a change. */
export async function ensureDomainDns(t: KubeTools, domain: string, ip: string, opts: { dryRun?: boolean } = {}): Promise<DnsOutcome> {
  for (const target of DNS_TARGETS) {
    const r = await runKubectl(t, ['get', 'configmap', target.configMap, '--namespace', DNS_NAMESPACE, '--output', 'json']);
    if (r.code !== 0) {
      if (notFound(r.stderr)) continue;
      throw new StageError(`kubectl get configmap ${DNS_NAMESPACE}/${target.configMap} failed (exit ${r.code}): ${firstLine(r.stderr)}`);
    }
    const corefile = (JSON.parse(r.stdout) as { data?: { Corefile?: unknown } }).data?.Corefile;
    if (typeof corefile !== 'string') throw new StageError(`ConfigMap ${DNS_NAMESPACE}/${target.configMap} has no Corefile`);
    const edit = withDomainHosts(corefile, domain, ip);
    if (edit.changed && !opts.dryRun) {
      // a merge patch of one key: Kubespray's labels and other keys stay as they are
      const patch = JSON.stringify({ data: { Corefile: edit.corefile } });
      const p = await runKubectl(t, [
        'patch',
        'configmap',
        target.configMap,
        '--namespace',
        DNS_NAMESPACE,
        '--type',
        'merge',
        '--patch',
        patch,
      ]);
      if (p.code !== 0)
        throw new StageError(
          `kubectl patch configmap ${DNS_NAMESPACE}/${target.configMap} failed (exit ${p.code}): ${firstLine(p.stderr)}`,
        );
      const restart = await runKubectl(t, ['rollout', 'restart', target.workload, '--namespace', DNS_NAMESPACE]);
      if (restart.code !== 0)
        throw new StageError(`kubectl rollout restart ${target.workload} failed (exit ${restart.code}): ${firstLine(restart.stderr)}`);
    }
    return { configMap: `${DNS_NAMESPACE}/${target.configMap}`, changed: edit.changed };
  }
  throw new StageError(
    `neither ConfigMap ${DNS_TARGETS.map((d) => `${DNS_NAMESPACE}/${d.configMap}`).join(' nor ')} exists: the cluster's DNS is not Kubespray's; make ${domain} resolve to ${ip} for pods yourself`,
  );
}

/** Hook jobs a failed earlier install left behind block the next one (runai.md §4.4). */
export async function deleteHookJobs(t: KubeTools, namespace: string): Promise<void> {
  for (const args of [
    ['delete', 'job', 'pre-install', 'pre-delete', '--namespace', namespace, '--ignore-not-found'],
    ['delete', 'job', '--selector', 'run.ai/hook', '--namespace', namespace, '--ignore-not-found'],
  ]) {
    const r = await runKubectl(t, args);
    if (r.code !== 0)
      throw new StageError(`kubectl ${args.slice(0, 3).join(' ')} in ${namespace} failed (exit ${r.code}): ${firstLine(r.stderr)}`);
  }
}

/** Objects of a kind as `kubectl get -o json` lists them; [] when the kind is unknown to the cluster. */
async function listObjects(t: KubeTools, args: string[]): Promise<unknown[]> {
  const r = await runKubectl(t, ['get', ...args, '--output', 'json']);
  if (r.code !== 0) {
    if (/the server doesn't have a resource type|NotFound|not found/i.test(r.stderr)) return [];
    throw new StageError(`kubectl get ${args.join(' ')} failed (exit ${r.code}): ${firstLine(r.stderr)}`);
  }
  const doc = JSON.parse(r.stdout) as { items?: unknown[] };
  return Array.isArray(doc.items) ? doc.items : [doc];
}

/** What the Run:ai prerequisites read from the cluster: its IngressClasses and the KnativeServing. */
export async function readClusterPrerequisites(t: KubeTools): Promise<{ ingressClasses: unknown[]; knativeServing?: unknown }> {
  const [ingressClasses, knative] = await Promise.all([
    listObjects(t, ['ingressclasses']),
    listObjects(t, ['knativeservings', 'knative-serving', '--namespace', 'knative-serving']),
  ]);
  return { ingressClasses, ...(knative[0] ? { knativeServing: knative[0] } : {}) };
}
