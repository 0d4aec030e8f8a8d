// Stage 5, runai. Phase backend: namespaces, the registry pull secret, TLS and CA secrets, the Run:ai domain in
// the cluster's DNS, the control-plane chart, then wait until the API hands out a token. Phase cluster (behind
// the approval gate): a token, the cluster found by name or created, its install info, leftover hook jobs
// cleared, the runai-cluster chart, then wait for Connected. Both converge when re-run; plan mode changes nothing.
import { lookup } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCredentialSources } from '../config/semantics.ts';
import type { ClusterSpec } from '../config/types.ts';
import { pullCharts } from '../helm/charts.ts';
import { deployedVersion } from '../helm/changes.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import { applyManifests, deployedValues, listReleases, secretExists, upgradeInstall, type DeployedRelease } from '../helm/cluster.ts';
import { openKubeTools, type KubeTools } from '../helm/kube-tools.ts';
import { loadPlatformManifest, type PlatformManifest, type ChartRelease } from '../helm/manifest.ts';
import { mergeInventory, writeInventory } from '../inventory/document.ts';
import type { Inventory, RunaiState } from '../inventory/types.ts';
import { integerInput, requiredInput, secretInput, type InputSource } from '../report/inputs.ts';
import { bullets, heading, mermaidFlow, table, timingsTable, type FlowOutcome, type TimedPhase } from '../report/markdown.ts';
import type { Reporter } from '../report/reporter.ts';
import { RunaiClient, RunaiUnavailable, type RunaiCluster, type RunaiCredentials } from '../runai/client.ts';
import { parseInstallInfo } from '../runai/install-info.ts';
import { deleteHookJobs, ensureDomainDns, readClusterPrerequisites, readSecret } from '../runai/kube.ts';
import {
  BACKEND_NAMESPACE,
  BACKEND_TLS_SECRET,
  backendObjects,
  CA_KEY,
  CA_SECRET,
  CLUSTER_NAMESPACE,
  describeObject,
  dockerConfigJson,
  namespaceObject,
} from '../runai/objects.ts';
import {
  gpuOperatorFindings,
  ingressClassProblems,
  knativeProblems,
  passwordPolicyProblems,
  prerequisiteProblems,
} from '../runai/prerequisites.ts';
import { generateTls, notAfter, replaceReason, tlsProblems, type TlsMaterial } from '../runai/tls.ts';
import { backendIssuer, backendValues, clusterValues, controlPlaneUrl, valueKeys, valuesYaml } from '../runai/values.ts';
import { waitUntil, WaitTimeout } from '../runai/wait.ts';
import { errorMessage, StageError, UsageError } from '../util/errors.ts';
import { openWorkDir, type WorkDir } from '../util/work-dir.ts';
import { openClusterAccess, readMaybeFile } from './access.ts';
import { openStage, readStageInventory, type StageContext } from './context.ts';
import { timed } from './timing.ts';

export const PHASES = ['backend', 'cluster'] as const;
export type RunaiPhase = (typeof PHASES)[number];
const RELEASE_OF: Record<RunaiPhase, string> = { backend: 'runai-backend', cluster: 'runai-cluster' };
const DEFAULT_TIMEOUT_S = 1200;

export interface RunaiResult {
  phase: RunaiPhase;
  plan: boolean;
  controlPlaneUrl: string;
  chartVersion?: string;
  cluster?: RunaiCluster;
}

/** helm/platform.yaml beside the code: in a checkout, in the bundled action, or from the action's folder. */
export function platformManifestPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    ...(process.env.GITHUB_ACTION_PATH ? [resolve(process.env.GITHUB_ACTION_PATH, '../../helm/platform.yaml')] : []),
    resolve(here, '../../../helm/platform.yaml'),
    resolve(here, '../../helm/platform.yaml'),
    resolve('helm/platform.yaml'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new StageError(`helm/platform.yaml not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** A file the spec names, or a clear error naming the key. */
function readSpecFile(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${key}: cannot read '${path}' (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
  }
}

interface Secrets {
  jfrogToken: string;
  password: string;
  clientId: string;
  clientSecret: string;
  tlsCert: string;
  tlsKey: string;
}

/** Every Run:ai secret input, each masked the moment it is read. */
function readSecrets(ctx: StageContext): Secrets {
  const { inputs, reporter, spec } = ctx;
  const tlsKey = readMaybeFile(secretInput(inputs, 'tls-key', reporter, spec.runai.tls.key_file));
  reporter.secret(tlsKey);
  const certInput = inputs.get('tls-cert').trim();
  return {
    jfrogToken: secretInput(inputs, 'jfrog-token', reporter),
    password: secretInput(inputs, 'runai-admin-password', reporter, spec.runai.password_file),
    clientId: inputs.get('runai-client-id').trim(),
    clientSecret: secretInput(inputs, 'runai-client-secret', reporter),
    tlsCert: certInput
      ? readMaybeFile(certInput)
      : spec.runai.tls.cert_file
        ? readSpecFile(spec.runai.tls.cert_file, 'runai.tls.cert_file')
        : '',
    tlsKey,
  };
}

/** The credentials for the REST API: an application client when given, else the admin user. */
function apiCredentials(ctx: StageContext, s: Secrets): RunaiCredentials | undefined {
  const { inputs, spec } = ctx;
  if (s.clientSecret) {
    if (!s.clientId) throw new UsageError(`${inputs.label('runai-client-secret')} is given without ${inputs.label('runai-client-id')}`);
    return {
      kind: 'client',
      clientId: s.clientId,
      clientSecret: s.clientSecret,
      source: `${inputs.label('runai-client-id')} and ${inputs.label('runai-client-secret')}`,
    };
  }
  if (!s.password) return undefined;
  if (!spec.runai.admin_user)
    throw new UsageError('runai.admin_user is missing: the Run:ai admin (an e-mail address) the password belongs to');
  return {
    kind: 'password',
    username: spec.runai.admin_user,
    password: s.password,
    source: `${inputs.label('runai-admin-password')} (or runai.password_file) for runai.admin_user '${spec.runai.admin_user}'`,
  };
}

/** Caller mistakes, all at once, before anything is read from the cluster. */
function usageProblems(ctx: StageContext, phase: RunaiPhase, s: Secrets, now: Date): string[] {
  const { spec, inputs } = ctx;
  const r = spec.runai;
  const problems = checkCredentialSources(
    spec,
    {
      'runai-admin-password': Boolean(s.password),
      'runai-client-secret': Boolean(s.clientSecret),
      'tls-cert': Boolean(s.tlsCert),
      'tls-key': Boolean(s.tlsKey),
    },
    ['runai'],
  )
    .filter((p) => p.severity === 'error')
    .map((p) => `${p.path}: ${p.message}`);
  if (r.tls.source === 'generate' && r.tls.ca_file)
    problems.push(
      'runai.tls.ca_file: is for runai.tls.source: provided (the CA of your certificate); with generate the stage makes its own CA',
    );
  if (phase === 'backend') {
    if (!s.jfrogToken)
      problems.push(`${inputs.label('jfrog-token')}: the Run:ai registry token (runai.jfrog.io) is missing; pass it from a secret`);
    if (!r.admin_user) problems.push('runai.admin_user: the first Run:ai admin (an e-mail address) is missing');
    else if (!/^[^@\s]+@[^@\s]+$/.test(r.admin_user))
      problems.push(`runai.admin_user: '${r.admin_user}' is not an e-mail address (Run:ai users are)`);
    if (!s.password)
      problems.push(
        `${inputs.label('runai-admin-password')}: phase backend sets the admin password, so it needs it (an application client cannot)`,
      );
    else problems.push(...passwordPolicyProblems(s.password).map((p) => `${inputs.label('runai-admin-password')}: ${p}`));
    if (r.tls.source === 'provided' && s.tlsCert && s.tlsKey) {
      const ca = r.tls.ca_file ? readSpecFile(r.tls.ca_file, 'runai.tls.ca_file') : undefined;
      problems.push(
        ...tlsProblems(r.domain, s.tlsCert, s.tlsKey, ca, now).map(
          (p) => `runai TLS (${inputs.label('tls-cert')} / runai.tls.cert_file): ${p}`,
        ),
      );
    }
  }
  return problems;
}

/** Addresses the domain resolves to on the runner, or why it does not. */
async function resolveDomain(domain: string): Promise<{ addresses: string[] } | { problem: string }> {
  try {
    const found = await lookup(domain, { all: true });
    return { addresses: found.map((a) => a.address) };
  } catch (err) {
    return {
      problem: `runai.domain '${domain}' does not resolve on the runner (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}): users and pods reach Run:ai by this name; add a DNS record for it pointing at the ingress (for a NodePort ingress, a node address)`,
    };
  }
}

/**
 * The address pods get for the domain: what it resolves to on the runner (the address users reach), unless that is
 * a loopback address, which means nothing inside a pod — then the first control-plane node, where the ingress's
 * NodePort listens (as Kubespray's dns_etchosts has it).
 */
export function podAddressFor(resolved: string[], inv: Inventory): string {
  const outside = resolved.find((a) => isIPv4(a) && !a.startsWith('127.'));
  if (outside) return outside;
  const node = inv.nodes.find((n) => n.roles.includes('control_plane'));
  if (!node) throw new StageError('no control-plane node in the inventory to point the Run:ai domain at');
  return node.address;
}

/** The chart version the phase installs: an exact version; a major.minor line resolves to the manifest's pin in it. */
export function pinnedVersion(release: ChartRelease, spec: ClusterSpec, phase: RunaiPhase): string {
  const wanted = phase === 'backend' ? spec.runai.version : (spec.platform.releases[release.name]?.version ?? release.version);
  if (/^\d+\.\d+\.\d+$/.test(wanted)) return wanted;
  if (release.version.startsWith(`${wanted}.`)) return release.version;
  throw new UsageError(
    `runai.version '${wanted}' is a release line, and helm/platform.yaml pins ${release.name} ${release.version} outside it: pin an exact version like ${wanted}.0`,
  );
}

interface Step {
  name: string;
  result: string;
  outcome: FlowOutcome;
}

function report(head: string, lead: string[], steps: Step[], phases: TimedPhase[]): string {
  return [
    head,
    ...lead,
    table(
      ['step', 'result'],
      steps.map((s) => [s.name, s.result]),
    ),
    mermaidFlow(steps.map((s, i) => ({ id: `s${i}`, label: s.name, needs: i ? [`s${i - 1}`] : [], outcome: s.outcome }))),
    ...(phases.length ? [timingsTable(phases)] : []),
  ].join('\n\n');
}

/**
 * What the cluster itself says about Run:ai's prerequisites: a default IngressClass, and (for the cluster chart,
 * with Knative on) the KnativeServing settings Run:ai needs. Any missing one refuses the phase, each named,
 * before anything is changed.
 */
async function refuseMissingClusterPrerequisites(ctx: StageContext, t: KubeTools, phase: RunaiPhase): Promise<void> {
  const facts = await readClusterPrerequisites(t);
  const knativeOn = ctx.spec.platform.releases['knative-operator']?.enabled !== false;
  const problems = [
    ...ingressClassProblems(facts.ingressClasses),
    ...(phase === 'cluster' && knativeOn ? knativeProblems(ctx.spec.runai.version, facts.knativeServing) : []),
  ];
  if (problems.length)
    throw new StageError(
      `the cluster lacks what Run:ai needs for phase ${phase}; nothing was changed (re-run the helm-platform stage, or fix it by hand)`,
      problems,
    );
}

/** The release as `helm list` shows it, or undefined when Helm does not know it. */
async function releaseState(t: KubeTools, release: ChartRelease): Promise<DeployedRelease | undefined> {
  return (await listReleases(t)).find((d) => d.name === release.name && d.namespace === release.namespace);
}

/** What `helm upgrade --install` will do to the release. */
export function releaseAction(current: DeployedRelease | undefined, chart: string, version: string): string {
  if (!current) return 'install';
  const from = deployedVersion(current, chart);
  if (current.status !== 'deployed') return `upgrade (now ${current.status} at ${from})`;
  return from === version ? `leave as is unless its values differ (${version} is deployed)` : `upgrade from ${from}`;
}

/** Helm's upgrade --install of a Run:ai chart, pulled at the exact version, with one generated values file (0600, work folder). */
async function installChart(
  ctx: StageContext,
  t: KubeTools,
  work: WorkDir,
  release: ChartRelease,
  version: string,
  values: Record<string, unknown>,
  before: DeployedRelease | undefined,
): Promise<'installed' | 'upgraded' | 'unchanged'> {
  // Same chart version, healthy, same values: Helm is not asked again (a re-run changes nothing).
  if (
    before &&
    before.status === 'deployed' &&
    deployedVersion(before, release.chart) === version &&
    canonicalJson(await deployedValues(t, release.name, release.namespace)) === canonicalJson(values)
  )
    return 'unchanged';
  const pinned = { ...release, version };
  const [chart] = await pullCharts(t, [{ release: pinned }], join(work.path, 'charts'), {
    ...(ctx.spec.mirrors.charts ? { chartsMirror: ctx.spec.mirrors.charts } : {}),
    ...(ctx.spec.mirrors.ca_file ? { caFile: ctx.spec.mirrors.ca_file } : {}),
    concurrency: 1,
  });
  const file = work.secretFile(
    `${release.name}.values.yaml`,
    valuesYaml(values, `${release.name} ${version}: generated by bcmkube runai; secrets inside, removed after the job`),
  );
  const run = await upgradeInstall(
    t,
    {
      name: release.name,
      chart: chart!.archive,
      version,
      namespace: release.namespace,
      timeoutSeconds: release.timeoutSeconds,
      valuesFiles: [file],
    },
    (l) => ctx.reporter.info(l),
  );
  if (!run.ok) throw new StageError(`helm upgrade --install ${release.name} ${version} in ${release.namespace} failed: ${run.error ?? ''}`);
  return before ? 'upgraded' : 'installed';
}

function writeRunaiState(ctx: StageContext, inv: Inventory, state: RunaiState, result: string): string {
  const updated = mergeInventory(inv, [], { stage: 'runai', at: new Date().toISOString(), result });
  updated.runai = state;
  const outPath = join(ctx.outDir, 'inventory.json');
  writeInventory(outPath, updated);
  ctx.reporter.output('inventory-path', outPath);
  return outPath;
}

/** The TLS material phase backend installs: the user's, the cluster's own while it serves, or a new CA + certificate. */
async function backendTls(
  ctx: StageContext,
  s: Secrets,
  t: KubeTools,
  work: WorkDir,
  now: Date,
): Promise<{ tls: TlsMaterial; why: string }> {
  const r = ctx.spec.runai;
  if (r.tls.source === 'provided') {
    const ca = r.tls.ca_file ? readSpecFile(r.tls.ca_file, 'runai.tls.ca_file') : undefined;
    return {
      tls: { certChain: s.tlsCert, key: s.tlsKey, ...(ca ? { ca } : {}), origin: 'provided', notAfter: notAfter(s.tlsCert) },
      why: ca ? `your certificate, CA from runai.tls.ca_file` : 'your certificate (publicly trusted: no custom CA)',
    };
  }
  const current = await readSecret(t, BACKEND_NAMESPACE, BACKEND_TLS_SECRET);
  if (current?.['tls.key']) ctx.reporter.secret(current['tls.key']);
  const ca = (await readSecret(t, BACKEND_NAMESPACE, CA_SECRET))?.[CA_KEY];
  const existing = {
    ...(current?.['tls.crt'] ? { certChain: current['tls.crt'] } : {}),
    ...(current?.['tls.key'] ? { key: current['tls.key'] } : {}),
    ...(ca ? { ca } : {}),
  };
  const reason = replaceReason(r.domain, existing, now);
  if (!reason)
    return {
      tls: {
        certChain: existing.certChain!,
        key: existing.key!,
        ca: existing.ca!,
        origin: 'reused',
        notAfter: notAfter(existing.certChain!),
      },
      why: 'the certificate already in the cluster (still valid for the domain)',
    };
  const tls = await generateTls(r.domain, ctx.spec.name, join(work.path, 'tls'));
  ctx.reporter.secret(tls.key);
  return { tls, why: `generated a CA and a certificate for ${r.domain} and *.${r.domain} (${reason})` };
}

async function backendPhase(
  ctx: StageContext,
  inv: Inventory,
  manifest: PlatformManifest,
  release: ChartRelease,
  s: Secrets,
  url: string,
  timeoutS: number,
  resolved: string[],
): Promise<RunaiResult> {
  const { spec, reporter } = ctx;
  const phases: TimedPhase[] = [];
  const steps: Step[] = [];
  const version = pinnedVersion(release, spec, 'backend');
  const clusterRelease = manifest.runai.find((r) => r.name === RELEASE_OF.cluster)!;
  const work = openWorkDir('runai');
  let client: RunaiClient | undefined;
  try {
    const access = await timed(phases, 'fetch kubeconfig', () => openClusterAccess(ctx, inv, work));
    const t = await openKubeTools(ctx, work, access.kubeconfig);
    await refuseMissingClusterPrerequisites(ctx, t, 'backend');
    const before = await releaseState(t, release);
    const now = new Date();
    const { tls, why } = await timed(phases, 'TLS', () => backendTls(ctx, s, t, work, now));
    const dockerConfig = dockerConfigJson(s.jfrogToken);
    reporter.secret(dockerConfig);
    reporter.secret(Buffer.from(dockerConfig).toString('base64'));
    const objects = backendObjects({
      namespaceLabels: { backend: release.namespaceLabels, cluster: clusterRelease.namespaceLabels },
      dockerConfig,
      tls: { certChain: tls.certChain, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) },
    });
    await timed(phases, 'namespaces and secrets', () => applyManifests(t, objects, 'Run:ai namespaces and secrets', true));
    steps.push({ name: 'namespaces and secrets', result: objects.map(describeObject).join(', '), outcome: 'ok' });
    steps.push({ name: 'TLS', result: `${why}; valid until ${tls.notAfter}`, outcome: tls.origin === 'reused' ? 'unchanged' : 'ok' });
    const ip = podAddressFor(resolved, inv);
    const dns = await timed(phases, 'in-cluster DNS', () => ensureDomainDns(t, spec.runai.domain, ip));
    steps.push({
      name: 'in-cluster DNS',
      result: `${spec.runai.domain} → ${ip} in ${dns.configMap}: ${dns.changed ? 'added (workload restarted)' : 'unchanged'}`,
      outcome: dns.changed ? 'ok' : 'unchanged',
    });
    const values = backendValues({
      domain: spec.runai.domain,
      url,
      customCA: Boolean(tls.ca),
      adminUser: spec.runai.admin_user!,
      adminPassword: s.password,
      ...(spec.platform.ingress === 'ingress-nginx' ? { ingressClass: 'nginx' } : {}),
      overrides: spec.platform.releases[release.name]?.values ?? {},
    });
    const helmOutcome = await timed(phases, `helm ${release.name}`, () => installChart(ctx, t, work, release, version, values, before));
    steps.push({
      name: `chart ${release.chart} ${version}`,
      result: helmOutcome === 'unchanged' ? `${version} deployed with the same values: unchanged` : `${helmOutcome}`,
      outcome: helmOutcome === 'unchanged' ? 'unchanged' : 'ok',
    });
    client = new RunaiClient({
      url,
      ...(tls.ca ? { ca: tls.ca } : {}),
      caSource:
        tls.origin === 'provided'
          ? spec.runai.tls.ca_file
            ? `runai.tls.ca_file (${spec.runai.tls.ca_file})`
            : 'the system trust store'
          : `the CA in Secret ${BACKEND_NAMESPACE}/${CA_SECRET}`,
    });
    client.onToken = (tok) => reporter.secret(tok);
    const creds = apiCredentials(ctx, { ...s, clientSecret: '' })!;
    const waited = performance.now();
    await timed(phases, 'wait for the API', () => client!.login(creds, timeoutS * 1000));
    steps.push({
      name: 'API',
      result: `POST /api/v1/token answered for ${spec.runai.admin_user} after ${((performance.now() - waited) / 1000).toFixed(1)}s`,
      outcome: 'ok',
    });
    const issuer = await client.oidcIssuer();
    const validated = backendIssuer(values);
    if (issuer && issuer !== validated)
      throw new StageError(
        `Keycloak advertises the token issuer ${issuer}, but the backend validates tokens against ${validated}: every API call would be refused ("Issuer is not familiar."). Both follow the values keycloakx.extraEnv (KC_HOSTNAME) and global.keycloakExternalEndpoint: check platform.releases.${release.name}.values for overrides of them, or serve Run:ai on 443 (runai.ingress_port: 443, no port in runai.url)`,
      );
    // what the backend itself accepts: a token it does not validate fails here, not in phase cluster
    await client.listClusters();
    steps.push({ name: 'token issuer', result: `${issuer ?? validated} (the backend accepts its tokens)`, outcome: 'ok' });
    const state: RunaiState = { ...inv.runai, controlPlaneUrl: url, backendVersion: version };
    writeRunaiState(ctx, inv, state, `backend: ${release.chart} ${version}`);
    reporter.output('control-plane-url', url);
    reporter.output('chart-version', version);
    reporter.output('changes', String(dns.changed || helmOutcome !== 'unchanged'));
    reporter.summary(
      report(
        heading(`runai: phase backend on cluster ${spec.name}`),
        [
          `Run:ai control plane ${version} at ${url} (admin ${spec.runai.admin_user}). Values keys: ${valueKeys(values)
            .map((k) => `\`${k}\``)
            .join(', ')}.`,
        ],
        steps,
        phases,
      ),
    );
    return { phase: 'backend', plan: false, controlPlaneUrl: url, chartVersion: version };
  } finally {
    client?.close();
    work.remove();
  }
}

/** The CA the REST client trusts in phase cluster: the spec's, or the one phase backend put in the cluster. */
async function clusterPhaseCa(ctx: StageContext, t: KubeTools): Promise<{ ca?: string; source: string; custom: boolean }> {
  const r = ctx.spec.runai;
  if (r.tls.source === 'provided')
    return r.tls.ca_file
      ? { ca: readSpecFile(r.tls.ca_file, 'runai.tls.ca_file'), source: `runai.tls.ca_file (${r.tls.ca_file})`, custom: true }
      : { source: 'the system trust store', custom: false };
  const ca = (await readSecret(t, BACKEND_NAMESPACE, CA_SECRET))?.[CA_KEY];
  return { ...(ca ? { ca } : {}), source: `the CA in Secret ${BACKEND_NAMESPACE}/${CA_SECRET}`, custom: true };
}

/**
 * The cluster named `name`: found in the list, or created. A refused create is looked up again: another client may
 * have made it in between, and Run:ai documents no status for a taken name.
 */
async function findOrCreateCluster(
  client: RunaiClient,
  name: string,
  body: { version: string; domain: string },
): Promise<{ cluster: RunaiCluster; how: string }> {
  const found = (await client.listClusters()).find((c) => c.name === name);
  if (found) return { cluster: found, how: 'reused' };
  const created = await client.createCluster({ name, ...body });
  if (!('refused' in created)) return { cluster: created, how: 'created' };
  const again = (await client.listClusters()).find((c) => c.name === name);
  if (!again)
    throw new StageError(
      `Run:ai POST /api/v1/clusters refused to create cluster '${name}' (${created.refused}), and lists no cluster of that name`,
    );
  return { cluster: again, how: `reused (created meanwhile: the create answered ${created.refused.split(' ')[0]})` };
}

async function clusterPhase(
  ctx: StageContext,
  inv: Inventory,
  manifest: PlatformManifest,
  release: ChartRelease,
  creds: RunaiCredentials,
  url: string,
  timeoutS: number,
): Promise<RunaiResult> {
  const { spec, reporter } = ctx;
  const phases: TimedPhase[] = [];
  const steps: Step[] = [];
  const name = spec.runai.cluster_name ?? spec.name;
  const pin = pinnedVersion(release, spec, 'cluster');
  const backend = manifest.runai.find((r) => r.name === RELEASE_OF.backend)!;
  const work = openWorkDir('runai');
  let client: RunaiClient | undefined;
  try {
    const access = await timed(phases, 'fetch kubeconfig', () => openClusterAccess(ctx, inv, work));
    const t = await openKubeTools(ctx, work, access.kubeconfig);
    await refuseMissingClusterPrerequisites(ctx, t, 'cluster');
    const backendState = await releaseState(t, backend);
    if (backendState?.status !== 'deployed')
      throw new StageError(
        `the Run:ai control plane (release ${backend.name} in ${backend.namespace}) is ${backendState ? backendState.status : 'not installed'}: run the runai stage with phase backend first`,
      );
    const ca = await clusterPhaseCa(ctx, t);
    if (ca.custom && !(await secretExists(t, CLUSTER_NAMESPACE, CA_SECRET)))
      throw new StageError(
        `Secret ${CLUSTER_NAMESPACE}/${CA_SECRET} is missing (the cluster chart trusts the control plane through it): run phase backend again`,
      );
    client = new RunaiClient({ url, ...(ca.ca ? { ca: ca.ca } : {}), caSource: ca.source });
    client.onToken = (tok) => reporter.secret(tok);
    await timed(phases, 'token', () => client!.login(creds, Math.min(timeoutS, 300) * 1000));
    const { cluster, how } = await timed(phases, 'find or create cluster', () =>
      findOrCreateCluster(client!, name, { version: pin, domain: spec.runai.domain }),
    );
    steps.push({
      name: `cluster ${name}`,
      result: `${how}: ${cluster.uuid} (${cluster.state})`,
      outcome: how === 'created' ? 'ok' : 'unchanged',
    });
    const body = await timed(phases, 'install info', () =>
      waitUntil(
        `Run:ai install info for cluster '${name}'`,
        timeoutS * 1000,
        async () => {
          const r = await client!.installInfo(cluster.uuid, pin);
          if (!r.ready) return { done: false, note: r.note };
          const secret = (r.body as { clientSecret?: unknown }).clientSecret;
          if (typeof secret === 'string') reporter.secret(secret);
          return { done: true, value: r.body };
        },
        { onWait: (note) => reporter.info(`install info not ready yet: ${note}`) },
      ),
    );
    const info = parseInstallInfo(body, cluster.uuid, name);
    reporter.secret(info.clientSecret);
    const version = info.chartVersion ?? pin;
    const line = (v: string) => v.split('.').slice(0, 2).join('.');
    if (line(version) !== line(spec.runai.version))
      throw new StageError(
        `Run:ai asks for runai-cluster ${version}, outside the control plane's line ${line(spec.runai.version)}: refusing to mix versions`,
      );
    if (version !== pin)
      reporter.warning(
        `the control plane asks for runai-cluster ${version}; helm/platform.yaml pins ${pin}. Installing ${version}.`,
        'Run:ai chart version',
      );
    steps.push({ name: 'install info', result: `client secret received (masked), chart version ${version}`, outcome: 'ok' });
    const before = await releaseState(t, release);
    await applyManifests(t, [namespaceObject(CLUSTER_NAMESPACE, release.namespaceLabels)], `namespace ${CLUSTER_NAMESPACE}`, true);
    await timed(phases, 'delete leftover hook jobs', () => deleteHookJobs(t, release.namespace));
    steps.push({
      name: 'leftover hook jobs',
      result: `jobs pre-install, pre-delete and -l run.ai/hook deleted in ${release.namespace} (if any)`,
      outcome: 'ok',
    });
    const values = clusterValues({
      installValues: info.values,
      domain: spec.runai.domain,
      clientSecret: info.clientSecret,
      clusterUid: cluster.uuid,
      customCA: ca.custom,
      overrides: spec.platform.releases[release.name]?.values ?? {},
    });
    const helmOutcome = await timed(phases, `helm ${release.name}`, () => installChart(ctx, t, work, release, version, values, before));
    steps.push({
      name: `chart ${release.chart} ${version}`,
      result: helmOutcome === 'unchanged' ? `${version} deployed with the same values: unchanged` : `${helmOutcome}`,
      outcome: helmOutcome === 'unchanged' ? 'unchanged' : 'ok',
    });
    let connected: RunaiCluster;
    try {
      connected = await timed(phases, 'wait for Connected', () =>
        waitUntil(`cluster '${name}' to report Connected`, timeoutS * 1000, async () => {
          try {
            const c = await client!.getCluster(cluster.uuid, 0);
            return c.state === 'Connected' ? { done: true, value: c } : { done: false, note: `state ${c.state}` };
          } catch (err) {
            if (err instanceof RunaiUnavailable) return { done: false, note: err.message };
            throw err;
          }
        }),
      );
    } catch (err) {
      if (!(err instanceof WaitTimeout)) throw err;
      throw new StageError(
        `Run:ai cluster '${name}' (${cluster.uuid}) did not report Connected within ${timeoutS}s (last: ${err.last}); runai-cluster ${version} is installed. Look at: kubectl -n runai logs deploy/runai-agent; kubectl -n runai logs deploy/cluster-sync; kubectl -n runai get runaiconfig runai -o jsonpath='{.status.conditions}'; then re-run this phase (it reuses the cluster) or raise input timeout`,
      );
    }
    steps.push({
      name: 'Connected',
      result: `GET /api/v1/clusters/${cluster.uuid}: ${connected.state}${connected.version ? ` (${connected.version})` : ''}`,
      outcome: 'ok',
    });
    const state: RunaiState = {
      ...inv.runai,
      controlPlaneUrl: url,
      clusterName: name,
      clusterUuid: cluster.uuid,
      clusterStatus: connected.state,
    };
    writeRunaiState(ctx, inv, state, `cluster: ${name} ${connected.state}`);
    reporter.output('cluster-uuid', cluster.uuid);
    reporter.output('control-plane-url', url);
    reporter.output('chart-version', version);
    reporter.output('changes', String(how === 'created' || helmOutcome !== 'unchanged'));
    reporter.summary(
      report(
        heading(`runai: phase cluster on cluster ${spec.name}`),
        [
          `Run:ai cluster '${name}' (${cluster.uuid}) is Connected to ${url}. Values keys: ${valueKeys(values)
            .map((k) => `\`${k}\``)
            .join(', ')}.`,
        ],
        steps,
        phases,
      ),
    );
    return { phase: 'cluster', plan: false, controlPlaneUrl: url, chartVersion: version, cluster: connected };
  } finally {
    client?.close();
    work.remove();
  }
}

/** The API credentials for a plan, or undefined (the reason noted): a plan never fails for lack of them. */
function planCredentials(ctx: StageContext, s: Secrets, notes: string[]): RunaiCredentials | undefined {
  try {
    return apiCredentials(ctx, s);
  } catch (err) {
    notes.push(errorMessage(err));
    return undefined;
  }
}

/** What a phase would do, read-only: from the cluster and the API where credentials allow, else from the spec. */
async function planPhase(
  ctx: StageContext,
  phase: RunaiPhase,
  inv: Inventory,
  release: ChartRelease,
  url: string,
  problems: string[],
  resolved: string[],
): Promise<RunaiResult> {
  const { spec, reporter } = ctx;
  const steps: Step[] = [];
  const notes: string[] = [];
  let secrets: Secrets | undefined;
  try {
    secrets = readSecrets(ctx);
  } catch (err) {
    notes.push(`credentials not read: ${errorMessage(err)}`);
  }
  const version = pinnedVersion(release, spec, phase);
  const work = openWorkDir('runai');
  let client: RunaiClient | undefined;
  try {
    let t: KubeTools | undefined;
    try {
      t = await openKubeTools(ctx, work, (await openClusterAccess(ctx, inv, work)).kubeconfig);
    } catch (err) {
      notes.push(`cluster not read: ${errorMessage(err).split('\n')[0]}`);
    }
    const current = t ? await releaseState(t, release).catch(() => undefined) : undefined;
    const action = t ? releaseAction(current, release.chart, version) : 'install or upgrade (cluster not read)';
    // Values can't be compared without the secrets: the same chart version, deployed, counts as no change.
    const chartCurrent = Boolean(current && current.status === 'deployed' && deployedVersion(current, release.chart) === version);
    const chartOutcome = chartCurrent ? 'unchanged' : 'planned';
    if (phase === 'backend') {
      steps.push({
        name: 'namespaces and secrets',
        result: `would apply namespaces ${BACKEND_NAMESPACE}, ${CLUSTER_NAMESPACE} (Pod Security privileged), runai-reg-creds in both, ${BACKEND_TLS_SECRET}, runai-cluster-domain-tls-secret${spec.runai.tls.source === 'generate' || spec.runai.tls.ca_file ? `, ${CA_SECRET} in both` : ''}`,
        outcome: 'planned',
      });
      steps.push({
        name: 'TLS',
        result:
          spec.runai.tls.source === 'provided'
            ? 'your certificate'
            : 'the certificate in the cluster while it serves, else a generated CA + certificate',
        outcome: 'planned',
      });
      if (t && resolved.length) {
        const ip = podAddressFor(resolved, inv);
        const dns = await ensureDomainDns(t, spec.runai.domain, ip, { dryRun: true }).catch((err: unknown) => ({
          configMap: errorMessage(err),
          changed: true,
        }));
        steps.push({
          name: 'in-cluster DNS',
          result: `${spec.runai.domain} → ${ip} in ${dns.configMap}: ${dns.changed ? 'would add' : 'unchanged'}`,
          outcome: dns.changed ? 'planned' : 'unchanged',
        });
      } else
        steps.push({
          name: 'in-cluster DNS',
          result: `would answer ${spec.runai.domain} from a hosts entry in nodelocaldns (or coredns)`,
          outcome: 'planned',
        });
      steps.push({ name: `chart ${release.chart} ${version}`, result: `would ${action}`, outcome: chartOutcome });
      steps.push({ name: 'API', result: `would wait for POST ${url}/api/v1/token`, outcome: 'planned' });
    } else {
      const name = spec.runai.cluster_name ?? spec.name;
      const creds = secrets && planCredentials(ctx, secrets, notes);
      if (!creds) {
        notes.push('no Run:ai credentials available (e.g. a pull request from a fork): planned from the spec alone');
        steps.push({ name: `cluster ${name}`, result: `would look up '${name}' by name and create it if absent`, outcome: 'planned' });
      } else {
        try {
          const ca = t ? await clusterPhaseCa(ctx, t) : { source: 'the system trust store' };
          client = new RunaiClient({ url, ...('ca' in ca && ca.ca ? { ca: ca.ca } : {}), caSource: ca.source, retryForMs: 10_000 });
          client.onToken = (tok) => reporter.secret(tok);
          await client.login(creds);
          const found = (await client.listClusters()).find((c) => c.name === name);
          steps.push({
            name: `cluster ${name}`,
            result: found ? `would reuse ${found.uuid} (${found.state})` : `would create '${name}' (not in GET /api/v1/clusters)`,
            outcome: found?.state === 'Connected' ? 'unchanged' : 'planned',
          });
        } catch (err) {
          notes.push(`Run:ai API not read: ${errorMessage(err).split('\n')[0]}`);
          steps.push({ name: `cluster ${name}`, result: `would look up '${name}' by name and create it if absent`, outcome: 'planned' });
        }
      }
      steps.push({
        name: 'install info',
        result: `would read the client secret and chart version (pinned ${version})`,
        outcome: 'planned',
      });
      steps.push({ name: `chart ${release.chart}`, result: `would ${action}`, outcome: chartOutcome });
      steps.push({ name: 'Connected', result: `would wait for GET /api/v1/clusters/<uuid> to report Connected`, outcome: 'planned' });
    }
    reporter.output('control-plane-url', url);
    // Re-applied every run without changing anything when nothing moved: not counted as changes.
    const idempotent = /^(namespaces and secrets|TLS|install info|API|Connected)$/;
    const changes = problems.length > 0 || steps.some((st) => st.outcome === 'planned' && !idempotent.test(st.name));
    reporter.output('changes', String(changes));
    reporter.summary(
      report(
        heading(`runai: phase ${phase} on cluster ${spec.name} (plan)`),
        [
          problems.length ? `**Would stop before changing anything:**\n${bullets(problems)}` : 'Prerequisites: met.',
          ...(notes.length ? [bullets(notes)] : []),
          'Nothing was changed.',
        ],
        steps,
        [],
      ),
    );
    return { phase, plan: true, controlPlaneUrl: url, chartVersion: version };
  } finally {
    client?.close();
    work.remove();
  }
}

export async function runaiStage(inputs: InputSource, reporter: Reporter): Promise<RunaiResult> {
  const ctx = openStage(inputs, reporter);
  const { spec } = ctx;
  const phaseText = requiredInput(inputs, 'phase', `which Run:ai phase to run: ${PHASES.join(' or ')}`);
  if (!(PHASES as readonly string[]).includes(phaseText))
    throw new UsageError(`${inputs.label('phase')} must be one of ${PHASES.join(', ')}, got '${phaseText}'`);
  const phase = phaseText as RunaiPhase;
  const timeoutS = integerInput(inputs, 'timeout', DEFAULT_TIMEOUT_S, 1, 6 * 3600);
  if (!spec.runai.enabled) {
    reporter.summary(
      `${heading(`runai: phase ${phase} on cluster ${spec.name}`)}\n\nRun:ai is off in the spec (runai.enabled: false); nothing was done.`,
    );
    return { phase, plan: ctx.plan, controlPlaneUrl: '' };
  }
  const { inv } = readStageInventory(ctx);
  const manifest = loadPlatformManifest(platformManifestPath());
  const release = manifest.runai.find((r) => r.name === RELEASE_OF[phase]);
  if (!release) throw new StageError(`helm/platform.yaml has no runai entry '${RELEASE_OF[phase]}'`);
  const url = controlPlaneUrl(spec.runai.domain, spec.runai.ingress_port, spec.runai.url);
  const platform = new Set(manifest.releases.map((r) => r.name));
  const domain = await resolveDomain(spec.runai.domain);
  const problems = [...prerequisiteProblems(inv, spec, release, platform), ...('problem' in domain ? [domain.problem] : [])];
  const gpuOperator = inv.platform?.releases.find((r) => r.name === 'gpu-operator');
  if (gpuOperator)
    for (const w of gpuOperatorFindings(spec.runai.version, gpuOperator.version).warnings)
      reporter.warning(w, 'Run:ai GPU Operator support');
  const resolved = 'addresses' in domain ? domain.addresses : [];
  if (ctx.plan) return planPhase(ctx, phase, inv, release, url, problems, resolved);

  const secrets = readSecrets(ctx);
  const usage = usageProblems(ctx, phase, secrets, new Date());
  if (usage.length)
    throw new UsageError(
      `runai phase ${phase}: ${usage.length} problem(s), nothing was changed:\n${usage.map((p) => `  - ${p}`).join('\n')}`,
    );
  if (problems.length) throw new StageError(`Run:ai prerequisites for phase ${phase} are missing; nothing was changed`, problems);
  if (phase === 'backend') return backendPhase(ctx, inv, manifest, release, secrets, url, timeoutS, resolved);
  const creds = apiCredentials(ctx, secrets);
  if (!creds)
    throw new UsageError(
      `phase cluster needs Run:ai credentials: ${inputs.label('runai-admin-password')} (or runai.password_file) for runai.admin_user, or ${inputs.label('runai-client-id')} with ${inputs.label('runai-client-secret')}`,
    );
  return clusterPhase(ctx, inv, manifest, release, creds, url, timeoutS);
}
