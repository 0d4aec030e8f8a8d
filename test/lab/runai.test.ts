// The runai stage on the lab: a Kubespray-deployed lab cluster (real nodes, kubeconfig fetched over SSH), the
// cluster stand-ins for helm/kubectl (no Kubernetes API server can run here), the lab chart repository, and the
// Run:ai simulator over TLS from the lab CA. helm-platform's results are seeded into the inventory; the
// Kubespray DNS ConfigMaps into the stand-in. Canary secrets are checked absent from everything left behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { writeInventory } from '../../actions/lib/inventory/document.ts';
import { knativeServingManifests } from '../../actions/lib/helm/knative.ts';
import { loadPlatformManifest } from '../../actions/lib/helm/manifest.ts';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { RunaiClient } from '../../actions/lib/runai/client.ts';
import { issueCert } from './pki.ts';
import { dnsConfigMaps } from './runai-sim/kubespray-dns.ts';
import { startRunaiSimulator, type RunaiSimulator } from './runai-sim/server.ts';
import { startStageLab, type CliRun, type StageLab } from './stage-fixture.ts';

const SUBNET = 55;
const dir = mkdtempSync(join(tmpdir(), 'runai-'));
const ADMIN = 'admin@lab.local';
const CANARY = {
  jfrog: 'jfrog-Canary-7d3e1f0b9a',
  password: 'Canary-Admin-9!x4',
  appSecret: 'canary-App-Secret-5b1c',
  wrongPassword: 'Wrong-Canary-2?q',
};
const DEFAULT_INGRESS_CLASS = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name: 'nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
  spec: { controller: 'k8s.io/ingress-nginx' },
};
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let stage: StageLab;
let sim: RunaiSimulator;
let spec: string;
let out: string;
const runs: CliRun[] = [];
const files: Record<string, string> = {};

const cli = async (...argv: string[]) => {
  const r = await stage.cli(...argv);
  runs.push(r);
  return r;
};
const runai = (phase: string, ...extra: string[]) =>
  cli('runai', '--spec', spec, '--out', out, '--phase', phase, '--jfrog-token-file', files.jfrog!, ...extra);
/** A recorded call's arguments without the --kubeconfig every stage call starts with. */
const cmd = (l: Record<string, any>): string[] => (l.argv[0] === '--kubeconfig' ? l.argv.slice(2) : l.argv);
const log = (): Array<Record<string, any>> => stage.standinLog().map((l) => ({ ...l, args: cmd(l) }));
const state = () => JSON.parse(readFileSync(join(dir, 'standin-state.json'), 'utf8'));
const inventory = () => JSON.parse(readFileSync(join(out, 'inventory.json'), 'utf8')) as Inventory;
const helmInstalls = (release: string) => log().filter((l) => l.tool === 'helm' && l.args[0] === 'upgrade' && l.release === release);
const applied = (from = 0) =>
  log()
    .slice(from)
    .filter((l) => l.tool === 'kubectl' && l.args[0] === 'apply')
    .flatMap((l) => l.objects ?? []);
const simCalls = (method: string, path: string) =>
  sim
    .requests()
    .filter((r) => r.method === method && r.path === path)
    .map((r) => r.status);
const secretFile = (name: string, text: string) => {
  const f = join(dir, 'secrets', name);
  writeFileSync(f, text, { mode: 0o600 });
  files[name] = f;
  return f;
};

/** Phase backend with another spec. */
const backendWith = (spec: string, timeoutS: number) =>
  cli('runai', '--spec', spec, '--out', out, '--phase', 'backend', '--jfrog-token-file', files.jfrog!, '--timeout', String(timeoutS));

/** A spec whose Run:ai is another simulator serving the lab's Run:ai certificate. */
function specAt(name: string, other: RunaiSimulator): string {
  return stage.writeSpec(name, (s) => {
    s.mirrors.charts = `${stage.repo.url}/charts`;
    s.runai = {
      domain: 'localhost',
      url: other.url,
      cluster_name: 'dgx-lab-55',
      admin_user: ADMIN,
      password_file: files.password,
      tls: { source: 'provided', cert_file: join(stage.lab.ca.dir, 'runai-sim.pem'), key_file: files.simKey, ca_file: stage.lab.ca.caCert },
    };
  });
}

describe('runai stage on the lab', () => {
  before(async () => {
    stage = await startStageLab({ dir, subnet: SUBNET, through: 'kubespray' });
    out = stage.out;
    const simTls = issueCert(stage.lab.ca, 'runai-sim', ['localhost', '127.0.0.1'], 'server');
    files.simKey = simTls.key;
    sim = await startRunaiSimulator({
      tls: simTls,
      users: { [ADMIN]: CANARY.password },
      apps: { deployer: CANARY.appSecret },
      // the control plane's global.domain: its install command and Keycloak's issuer follow it
      domain: 'localhost',
      installInfoLagCalls: 2,
      autoConnectAfterPolls: 2,
    });
    spawnSync('mkdir', ['-p', join(dir, 'secrets')]);
    secretFile('jfrog', CANARY.jfrog);
    secretFile('password', CANARY.password);
    secretFile('wrong', CANARY.wrongPassword);
    secretFile('app', CANARY.appSecret);
    // localhost: a domain that resolves on this machine; the simulator's lab certificate names it
    spec = specAt('runai', sim);
    // helm-platform's results, as that stage records them
    const inv = inventory();
    inv.platform = {
      releases: loadPlatformManifest('helm/platform.yaml').releases.map((r) => ({
        name: r.name,
        chart: r.chart,
        version: r.version,
        namespace: r.namespace,
        status: 'deployed',
      })),
    };
    writeInventory(join(out, 'inventory.json'), inv);
    // and what helm-platform leaves in the cluster that Run:ai checks: the default IngressClass, the KnativeServing
    const seeded = spawnSync('kubectl', ['apply', '-f', '-'], {
      input: yaml.dump({
        apiVersion: 'v1',
        kind: 'List',
        items: [...dnsConfigMaps(['nodelocaldns', 'coredns']), DEFAULT_INGRESS_CLASS, ...knativeServingManifests('v1.16.0')],
      }),
    });
    assert.equal(seeded.status, 0, String(seeded.stderr));
  });
  after(async () => {
    await sim?.close();
    await stage?.close();
  });

  it('plan with no Run:ai credentials (a pull request from a fork): planned from the spec alone, nothing changed', async () => {
    const bare = stage.writeSpec('bare', (s) => {
      s.mirrors.charts = `${stage.repo.url}/charts`;
      s.runai = { domain: 'localhost', url: sim.url, cluster_name: 'dgx-lab-55', admin_user: ADMIN };
    });
    const before = log().length;
    const r = await cli('runai', '--spec', bare, '--out', out, '--phase', 'cluster', '--plan');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /no Run:ai credentials available \(e\.g\. a pull request from a fork\): planned from the spec alone/);
    assert.match(r.out, /\| cluster dgx-lab-55 \| would look up 'dgx-lab-55' by name and create it if absent \|/);
    assert.match(r.out, /\| chart runai-cluster \| would install \|/);
    assert.match(r.out, /Prerequisites: met\.[\s\S]*Nothing was changed\./);
    assert.deepEqual(
      log()
        .slice(before)
        .filter((l) => !['list', 'get', 'version'].includes(l.args[0]) && !l.passthrough),
      [],
      'only reads',
    );
    assert.deepEqual(sim.requests(), []);
  });

  it('refuses before anything changes, naming every caller mistake: no registry token, a weak admin password', async () => {
    const weak = secretFile('weak', 'weakpass');
    const before = log().length;
    const r = await cli('runai', '--spec', spec, '--out', out, '--phase', 'backend', '--runai-admin-password-file', weak);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /runai phase backend: 2 problem\(s\), nothing was changed/);
    assert.match(r.out, /--jfrog-token: the Run:ai registry token \(runai\.jfrog\.io\) is missing/);
    assert.match(r.out, /--runai-admin-password: the Run:ai admin password needs a digit, an upper-case letter, a symbol/);
    assert.equal(log().length, before, 'no helm or kubectl ran');
  });

  it('refuses missing prerequisites, each named: platform not deployed, a domain that does not resolve', async () => {
    const inv = inventory();
    delete inv.platform;
    const noPlatform = join(dir, 'no-platform.json');
    writeInventory(noPlatform, inv);
    const nowhere = stage.writeSpec('nowhere', (s) => {
      s.runai = { domain: 'runai-nowhere.invalid', admin_user: ADMIN, password_file: files.password };
    });
    const before = log().length;
    const r = await cli(
      'runai',
      '--spec',
      nowhere,
      '--out',
      out,
      '--inventory',
      noPlatform,
      '--phase',
      'backend',
      '--jfrog-token-file',
      files.jfrog!,
    );
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /Run:ai prerequisites for phase backend are missing; nothing was changed/);
    assert.match(
      r.out,
      /- platform releases \(ingress-nginx, kube-prometheus-stack, prometheus-adapter, gpu-operator\): the inventory has no platform section; run the helm-platform stage \(bcmkube platform\) first/,
    );
    assert.match(r.out, /- runai\.domain 'runai-nowhere\.invalid' does not resolve on the runner \(ENOTFOUND\)/);
    assert.equal(log().length, before);
  });

  it('refuses a cluster without what Run:ai needs, each named: no default IngressClass (backend), KnativeServing without its flags (cluster)', async () => {
    const kubectl = (args: string[], input?: string) => {
      const k = spawnSync('kubectl', args, { input, encoding: 'utf8' });
      assert.equal(k.status, 0, k.stderr);
    };
    const before = log().filter((l) => l.tool === 'helm' && l.args[0] === 'upgrade').length;
    kubectl(['delete', 'ingressclass', 'nginx']);
    try {
      const r = await runai('backend');
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /the cluster lacks what Run:ai needs for phase backend; nothing was changed/);
      assert.match(
        r.out,
        /- no default IngressClass \(annotation ingressclass\.kubernetes\.io\/is-default-class: "true"\) among none: Run:ai needs one/,
      );
    } finally {
      kubectl(['apply', '-f', '-'], yaml.dump(DEFAULT_INGRESS_CLASS));
    }
    const [, serving] = knativeServingManifests('v1.16.0') as [unknown, { spec: Record<string, unknown> }];
    kubectl(['apply', '-f', '-'], yaml.dump({ ...serving, spec: { ...serving.spec, config: {} } }));
    try {
      const r = await runai('cluster');
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /the cluster lacks what Run:ai needs for phase cluster; nothing was changed/);
      assert.match(r.out, /- Knative: KnativeServing knative-serving lacks what Run:ai needs for inference, in spec\.config: autoscaler\./);
    } finally {
      kubectl(['apply', '-f', '-'], yaml.dump(serving));
    }
    assert.equal(log().filter((l) => l.tool === 'helm' && l.args[0] === 'upgrade').length, before, 'no chart installed');
  });

  it('backend: namespaces and secrets, the domain in nodelocaldns, the control-plane chart with one values file, then waits for the API', async () => {
    sim.setFault({ status: 503, times: 3, route: '/api/v1/token' });
    const from = log().length;
    const r = await runai('backend');
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(
      applied(from).map((o: any) => `${o.kind} ${o.namespace}/${o.name}${o.keys ? ` [${o.keys.join(',')}]` : ''}`),
      [
        'Namespace default/runai-backend',
        'Namespace default/runai',
        'Secret runai-backend/runai-reg-creds [.dockerconfigjson]',
        'Secret runai/runai-reg-creds [.dockerconfigjson]',
        'Secret runai-backend/runai-backend-tls [tls.crt,tls.key]',
        'Secret runai/runai-cluster-domain-tls-secret [tls.crt,tls.key]',
        'Secret runai-backend/runai-ca-cert [runai-ca.pem]',
        'Secret runai/runai-ca-cert [runai-ca.pem]',
      ],
    );
    const applyCall = log()
      .slice(from)
      .find((l) => l.tool === 'kubectl' && l.args[0] === 'apply')!;
    assert.ok(applyCall.argv.includes('--server-side'), 'server-side: no secret in a last-applied annotation');
    const objects = state().applied;
    const ns = objects.find((o: any) => o.kind === 'Namespace' && o.name === 'runai');
    assert.equal(ns.labels['pod-security.kubernetes.io/enforce'], 'privileged');
    const ca = objects.find((o: any) => o.kind === 'Secret' && o.namespace === 'runai' && o.name === 'runai-ca-cert');
    assert.deepEqual(ca.labels, { 'run.ai/cluster-wide': 'true', 'run.ai/name': 'runai-ca-cert' });

    const corefile: string = objects.find((o: any) => o.name === 'nodelocaldns').data.Corefile;
    assert.match(
      corefile,
      /^localhost:53 \{\n {4}errors\n {4}cache 30\n {4}reload\n {4}bind 169\.254\.25\.10\n {4}hosts \{\n {8}127\.0\.55\.3 localhost\n {8}fallthrough\n {4}\}\n {4}forward \. \/etc\/resolv\.conf\n\}$/m,
    );
    assert.doesNotMatch(objects.find((o: any) => o.name === 'coredns').data.Corefile, /localhost:53/, 'CoreDNS is not what pods ask here');
    assert.ok(log().some((l) => l.tool === 'kubectl' && l.args.join(' ').includes('rollout restart daemonset/nodelocaldns')));

    const install = helmInstalls('runai-backend')[0]!;
    assert.deepEqual(install.args.slice(0, 2), ['upgrade', '--install']);
    const args = install.args.join(' ');
    assert.match(
      args,
      /runai-backend \S+\/control-plane-2\.21\.63\.tgz --namespace runai-backend --version 2\.21\.63 --atomic --wait --timeout 1200s --values \S+runai-backend\.values\.yaml/,
    );
    assert.equal(install.argv.filter((a: string) => a === '--values').length, 1, 'one values file');
    assert.ok(!install.argv.some((a: string) => a.startsWith('--set')), 'no --set');
    assert.deepEqual(install.valuesModes, ['600']);
    const port = new URL(sim.url).port;
    assert.deepEqual(install.values, {
      global: {
        domain: 'localhost',
        customCA: { enabled: true },
        imagePullSecrets: [{ name: 'runai-reg-creds' }],
        ingress: { tlsSecretName: 'runai-backend-tls', ingressClass: 'nginx' },
        keycloakExternalEndpoint: `localhost:${port}`,
      },
      tenantsManager: { config: { adminUsername: ADMIN, adminPassword: { sha256: sha256(CANARY.password) } } },
      keycloakx: {
        extraEnv: `- name: KC_HOSTNAME\n  value: https://localhost:${port}/auth\n- name: KC_HOSTNAME_STRICT\n  value: 'false'\n`,
      },
      clusterService: { keycloakExternalEndpoint: `localhost:${port}` },
    });
    assert.match(
      r.out,
      new RegExp(`\\| token issuer \\| https://localhost:${port}/auth/realms/runai \\(the backend accepts its tokens\\) \\|`),
    );
    assert.ok(applyCall.end <= install.start, 'secrets exist before the chart installs');
    assert.deepEqual(simCalls('POST', '/api/v1/token'), [503, 503, 503, 200], 'the warm-up is waited out');
    assert.match(r.out, /\| chart control-plane 2\.21\.63 \| installed \|/);
    assert.match(r.out, /\| in-cluster DNS \| localhost → 127\.0\.55\.3 in kube-system\/nodelocaldns: added \(workload restarted\) \|/);
    assert.match(r.out, /```mermaid\nflowchart LR/);
    assert.deepEqual(r.outputs['control-plane-url'], sim.url);
    assert.deepEqual(r.outputs['chart-version'], '2.21.63');
    assert.deepEqual(inventory().runai, { controlPlaneUrl: sim.url, backendVersion: '2.21.63' });
    assert.equal(inventory().history.at(-1)!.stage, 'runai');
    assert.deepEqual(readdirSync(join(dir, 'runner-temp')), [], 'work folder (kubeconfig, values, keys) removed');
  });

  it('backend again converges: same objects, DNS unchanged and not restarted, the chart left alone', async () => {
    const from = log().length;
    const r = await runai('backend');
    assert.equal(r.code, 0, r.out);
    assert.equal(applied(from).length, 8);
    assert.match(r.out, /in kube-system\/nodelocaldns: unchanged \|/);
    assert.ok(
      !log()
        .slice(from)
        .some((l) => l.argv.includes('restart')),
      'no restart when nothing changed',
    );
    assert.match(r.out, /\| chart control-plane 2\.21\.63 \| 2\.21\.63 deployed with the same values: unchanged \|/);
    assert.equal(helmInstalls('runai-backend').length, 1, 'helm was not asked again');
    assert.equal(
      state()
        .applied.find((o: any) => o.name === 'nodelocaldns')
        .data.Corefile.split('localhost:53').length,
      2,
      'one block',
    );
  });

  it('plan of phase backend on the installed control plane: chart and DNS unchanged; only reads', async () => {
    const from = log().length;
    const tokens = simCalls('POST', '/api/v1/token').length;
    const r = await runai('backend', '--plan');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\| chart control-plane 2\.21\.63 \| would leave as is unless its values differ \(2\.21\.63 is deployed\) \|/);
    assert.match(r.out, /\| in-cluster DNS \| localhost → 127\.0\.55\.3 in kube-system\/nodelocaldns: unchanged \|/);
    assert.deepEqual(
      log()
        .slice(from)
        .filter((l) => !['list', 'get', 'version'].includes(l.args[0]) && !l.passthrough)
        .map((l) => l.args.join(' ')),
      [],
    );
    assert.equal(simCalls('POST', '/api/v1/token').length, tokens);
  });

  it('backend with a generated certificate: CA and server certificate made for the domain, the API verified against that CA only', async () => {
    const generated = stage.writeSpec('generated', (s) => {
      s.mirrors.charts = `${stage.repo.url}/charts`;
      s.runai = { domain: 'localhost', url: sim.url, cluster_name: 'dgx-lab-55', admin_user: ADMIN, password_file: files.password };
    });
    const from = log().length;
    const r = await backendWith(generated, 5);
    assert.equal(r.code, 1, r.out);
    assert.deepEqual(
      applied(from)
        .filter((o: any) => o.name === 'runai-ca-cert')
        .map((o: any) => o.namespace),
      ['runai-backend', 'runai'],
    );
    assert.match(
      r.out,
      /TLS verification of https:\/\/127\.0\.0\.1:\d+ failed \(\w+\): the control plane's certificate does not chain to the CA in Secret runai-backend\/runai-ca-cert/,
    );
    assert.deepEqual(readdirSync(join(dir, 'runner-temp')), [], 'the generated keys went with the work folder');
    // put the provided certificate back for the phases below
    assert.equal((await runai('backend')).code, 0);
  });

  it('backend: Keycloak advertising an issuer the backend does not validate stops the phase, naming both issuers', async () => {
    const portless = await startRunaiSimulator({
      tls: { cert: join(stage.lab.ca.dir, 'runai-sim.pem'), key: files.simKey! },
      users: { [ADMIN]: CANARY.password },
      domain: 'localhost',
      // Keycloak left at the chart's port-less default while users reach a NodePort
      issuer: 'https://localhost/auth/realms/runai',
    });
    try {
      const spec = specAt('portless', portless);
      const r = await backendWith(spec, 20);
      assert.equal(r.code, 1, r.out);
      const port = new URL(portless.url).port;
      assert.match(
        r.out,
        new RegExp(
          `Keycloak advertises the token issuer https://localhost/auth/realms/runai, but the backend validates tokens against https://localhost:${port}/auth/realms/runai: every API call would be refused`,
        ),
      );
    } finally {
      await portless.close();
    }
    // the control plane of the phases below again
    assert.equal((await runai('backend')).code, 0);
  });

  it('cluster: a refused login names the credential, and nothing is installed', async () => {
    const r = await runai('cluster', '--runai-admin-password-file', files.wrong!);
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      /Run:ai refused the admin login of 'admin@lab\.local' \(401 Invalid credentials\): check --runai-admin-password \(or runai\.password_file\) for runai\.admin_user 'admin@lab\.local'/,
    );
    assert.deepEqual(helmInstalls('runai-cluster'), []);
    assert.deepEqual(sim.clusters(), []);
  });

  it('cluster: creates the cluster, waits out the install-info lag, clears hook jobs, installs runai-cluster, waits for Connected', async () => {
    const from = log().length;
    const r = await runai('cluster', '--runai-client-id', 'deployer', '--runai-client-secret-file', files.app!);
    assert.equal(r.code, 0, r.out);
    const [cluster] = sim.clusters();
    assert.deepEqual([sim.clusters().length, cluster!.name, cluster!.status.state], [1, 'dgx-lab-55', 'Connected']);
    assert.deepEqual(simCalls('POST', '/api/v1/clusters'), [201]);
    assert.deepEqual(simCalls('GET', `/api/v1/clusters/${cluster!.uuid}/cluster-install-info`), [503, 503, 200], 'retried while not ready');
    const secret = await clientSecretOf(cluster!.uuid);
    const calls = log().slice(from);
    const deletes = calls.filter((l) => l.tool === 'kubectl' && l.args[0] === 'delete').map((l) => l.args.join(' '));
    assert.deepEqual(deletes, [
      'delete job pre-install pre-delete --namespace runai --ignore-not-found',
      'delete job --selector run.ai/hook --namespace runai --ignore-not-found',
    ]);
    const install = helmInstalls('runai-cluster')[0]!;
    assert.ok(calls.find((l) => l.args[0] === 'delete')!.end <= install.start, 'hook jobs go before the install');
    assert.match(
      install.args.join(' '),
      /runai-cluster \S+\/runai-cluster-2\.21\.63\.tgz --namespace runai --version 2\.21\.63 --atomic --wait --timeout 900s --values \S+runai-cluster\.values\.yaml$/,
    );
    assert.deepEqual(install.values, {
      // as the control plane's install command writes them: bare host names, no https://, no port
      controlPlane: { url: 'localhost', clientSecret: { sha256: sha256(secret) } },
      cluster: { uid: cluster!.uuid, url: 'localhost' },
      global: { customCA: { enabled: true } },
    });
    assert.deepEqual(install.valuesModes, ['600']);
    assert.match(r.out, /\| cluster dgx-lab-55 \| created: [0-9a-f-]{36} \(WaitingToConnect\) \|/);
    assert.match(r.out, /install info not ready yet: .*503/);
    assert.match(r.out, /\| Connected \| GET \/api\/v1\/clusters\/[0-9a-f-]{36}: Connected \(2\.21\.63\) \|/);
    assert.equal(r.outputs['cluster-uuid'], cluster!.uuid);
    assert.equal(r.outputs['chart-version'], '2.21.63');
    assert.deepEqual(inventory().runai, {
      controlPlaneUrl: sim.url,
      backendVersion: '2.21.63',
      clusterName: 'dgx-lab-55',
      clusterUuid: cluster!.uuid,
      clusterStatus: 'Connected',
    });
  });

  it('cluster again: reuses the cluster by name (no second create), the chart left alone', async () => {
    const installs = helmInstalls('runai-cluster').length;
    const r = await runai('cluster');
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(simCalls('POST', '/api/v1/clusters'), [201], 'no new create');
    assert.equal(sim.clusters().length, 1);
    assert.match(r.out, /\| cluster dgx-lab-55 \| reused: [0-9a-f-]{36} \(Connected\) \|/);
    assert.match(r.out, /\| chart runai-cluster 2\.21\.63 \| 2\.21\.63 deployed with the same values: unchanged \|/);
    assert.equal(helmInstalls('runai-cluster').length, installs, 'helm was not asked again');
  });

  it('a refused create (made meanwhile by someone else) is looked up and reused, whatever status the refusal has', async () => {
    sim.hideClustersFromList(1);
    const r = await runai('cluster');
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(simCalls('POST', '/api/v1/clusters'), [201, 409]);
    assert.equal(sim.clusters().length, 1);
    assert.match(r.out, /reused \(created meanwhile: the create answered 409\)/);
  });

  it('an empty client secret in the install info is refused; runai-cluster is not touched', async () => {
    const installs = helmInstalls('runai-cluster').length;
    sim.blankInstallSecrets(true);
    try {
      const r = await runai('cluster');
      assert.equal(r.code, 1, r.out);
      assert.match(
        r.out,
        /Run:ai gave no client secret for cluster 'dgx-lab-55' \([0-9a-f-]{36}\) in its install info; refusing to install runai-cluster with an empty secret/,
      );
      assert.equal(helmInstalls('runai-cluster').length, installs);
    } finally {
      sim.blankInstallSecrets(false);
    }
  });

  it('plan with credentials: the cluster would be reused, the chart upgraded in place; nothing changes', async () => {
    const posts = simCalls('POST', '/api/v1/clusters').length;
    const installs = helmInstalls('runai-cluster').length;
    const r = await runai('cluster', '--plan');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\| cluster dgx-lab-55 \| would reuse [0-9a-f-]{36} \(Connected\) \|/);
    assert.match(r.out, /\| chart runai-cluster \| would leave as is unless its values differ/);
    assert.equal(simCalls('POST', '/api/v1/clusters').length, posts);
    assert.equal(helmInstalls('runai-cluster').length, installs);
  });

  it('waits for Connected and times out clearly, saying where to look', async () => {
    const stuck = await startRunaiSimulator({
      tls: { cert: join(stage.lab.ca.dir, 'runai-sim.pem'), key: files.simKey! },
      users: { [ADMIN]: CANARY.password },
    });
    try {
      const stuckSpec = specAt('stuck', stuck);
      const before = JSON.stringify(inventory().runai);
      const started = Date.now();
      const r = await cli('runai', '--spec', stuckSpec, '--out', out, '--phase', 'cluster', '--timeout', '3');
      assert.equal(r.code, 1, r.out);
      assert.match(
        r.out,
        /Run:ai cluster 'dgx-lab-55' \([0-9a-f-]{36}\) did not report Connected within 3s \(last: state WaitingToConnect\); runai-cluster 2\.21\.63 is installed\. Look at: kubectl -n runai logs deploy\/runai-agent/,
      );
      assert.ok(Date.now() - started < 60_000);
      assert.equal(JSON.stringify(inventory().runai), before, 'the inventory keeps the last good state');
    } finally {
      await stuck.close();
    }
  });

  it('no secret anywhere: not in any log line, output, summary, inventory, stand-in record, file left behind or RUNNER_TEMP', async () => {
    const [cluster] = sim.clusters();
    const secrets = [
      ...Object.values(CANARY),
      await clientSecretOf(cluster!.uuid),
      readFileSync(files.simKey!, 'utf8').split('\n')[1]!,
      Buffer.from(CANARY.jfrog).toString('base64').slice(0, 16),
    ];
    const texts: Array<[string, string]> = runs.flatMap((r, i) => [
      [`run ${i} log and summary`, r.out],
      [`run ${i} outputs`, JSON.stringify(r.outputs)],
    ]);
    // the stand-in's state is the cluster: Helm keeps a release's values there (in its release Secret) as it does for
    // real; checked are the log of every helm/kubectl call with its arguments, and what kubectl applied
    texts.push(
      ['stand-in log', readFileSync(join(dir, 'standin.jsonl'), 'utf8')],
      ['objects kubectl applied', JSON.stringify(state().applied)],
    );
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
    for (const f of walk(out)) texts.push([f, readFileSync(f, 'utf8')]);
    assert.ok(texts.some(([what]) => what.endsWith('inventory.json')));
    for (const [what, text] of texts)
      for (const s of secrets) assert.equal(text.includes(s), false, `a secret (${s.slice(0, 4)}…) in ${what}`);
    for (const r of runs) assert.doesNotMatch(r.out, /eyJ[\w-]{10,}\.eyJ/, 'no access token');
    assert.deepEqual(existsSync(join(dir, 'runner-temp')) ? readdirSync(join(dir, 'runner-temp')) : [], []);
  });
});

/** The client secret Run:ai holds for a cluster, read by the test itself (to look for it everywhere). */
async function clientSecretOf(uuid: string): Promise<string> {
  const c = new RunaiClient({ url: sim.url, ca: readFileSync(stage.lab.ca.caCert, 'utf8'), caSource: 'lab CA' });
  try {
    await c.login({ kind: 'password', username: ADMIN, password: CANARY.password, source: 'test' });
    const info = await c.installInfo(uuid, '2.21.63');
    assert.ok(info.ready);
    return (info.body as { clientSecret: string }).clientSecret;
  } finally {
    c.close();
  }
}
