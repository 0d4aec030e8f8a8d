// The lab's chart repository and tool mirror with the REAL helm and kubectl, the Kubespray stand-in with
// the real ansible-playbook, and the recording cluster stand-ins.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadPlatformManifest } from '../../actions/lib/helm/manifest.ts';
import { ensureLabCa, issueCert } from './pki.ts';
import { buildRepoContent, ensureRealHelmKubectl, helmEnv, startRepoServer, type RepoContent, type RepoServer } from './repo/index.ts';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'lab-repo-test-'));
let bins: { helm: string; kubectl: string };
let content: RepoContent;
let server: RepoServer;
const ca = ensureLabCa(join(dir, 'pki'));

async function fetchBytes(url: string): Promise<Buffer> {
  const { stdout } = await exec('curl', ['-sSf', '--cacert', ca.caCert, url], { encoding: 'buffer', maxBuffer: 256 << 20 });
  return stdout;
}

describe('lab chart repository and tool mirror', () => {
  before(async () => {
    bins = await ensureRealHelmKubectl(join(ROOT, '.tools/k8s-bin'));
    content = await buildRepoContent(join(dir, 'repo'), { ...bins, manifestPath: join(ROOT, 'helm/platform.yaml') });
    const cert = issueCert(ca, 'repo', ['127.0.0.1'], 'server');
    server = await startRepoServer({ dir: join(dir, 'repo'), tls: cert });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a chart for every release of helm/platform.yaml with its pinned version, to the real helm', async () => {
    const env = helmEnv(join(dir, 'helm'));
    await exec(bins.helm, ['repo', 'add', 'lab', `${server.url}/charts`, '--ca-file', ca.caCert], { env });
    const { stdout } = await exec(bins.helm, ['search', 'repo', 'lab/', '--versions', '-o', 'json'], { env });
    const listed = (JSON.parse(stdout) as Array<{ name: string; version: string }>)
      .map((c) => `${c.name.replace('lab/', '')}@${c.version}`)
      .sort();
    const manifest = loadPlatformManifest(join(ROOT, 'helm/platform.yaml'));
    assert.deepEqual(listed, [...manifest.releases, ...manifest.runai].map((r) => `${r.chart}@${r.version}`).sort());
  });

  it('helm pulls a pinned version, templates it with values and lints it', async () => {
    const env = helmEnv(join(dir, 'helm'));
    const out = join(dir, 'pulled');
    mkdirSync(out);
    await exec(bins.helm, ['pull', 'lab/gpu-operator', '--version', 'v25.3.3', '--destination', out], { env });
    const tgz = join(out, 'gpu-operator-v25.3.3.tgz');
    assert.equal(createHash('sha256').update(readFileSync(tgz)).digest('hex'), content.sha256['charts/gpu-operator-v25.3.3.tgz']);
    const { stdout } = await exec(
      bins.helm,
      ['template', 'gpu-operator', tgz, '--namespace', 'gpu-operator', '--set', 'driver.enabled=false'],
      { env },
    );
    assert.match(stdout, /name: gpu-operator-lab/);
    assert.match(stdout, /enabled: false/);
    await exec(bins.helm, ['lint', tgz], { env });
    await assert.rejects(exec(bins.helm, ['pull', 'lab/gpu-operator', '--version', 'v9.9.9', '--destination', out], { env }), /v9\.9\.9/);
  });

  it('mirrors helm, kubectl and Kubespray with upstream layout and matching .sha256 files', async () => {
    const helmTar = await fetchBytes(`${server.url}/tools/helm/helm-v3.17.3-linux-amd64.tar.gz`);
    const helmSum = (await fetchBytes(`${server.url}/tools/helm/helm-v3.17.3-linux-amd64.tar.gz.sha256sum`)).toString();
    assert.equal(helmSum, `${createHash('sha256').update(helmTar).digest('hex')}  helm-v3.17.3-linux-amd64.tar.gz\n`);
    const kubectl = await fetchBytes(`${server.url}/tools/kubectl/release/v1.31.9/bin/linux/amd64/kubectl`);
    assert.equal(
      (await fetchBytes(`${server.url}/tools/kubectl/release/v1.31.9/bin/linux/amd64/kubectl.sha256`)).toString(),
      createHash('sha256').update(kubectl).digest('hex'),
    );
    const ks = await fetchBytes(`${server.url}/tools/kubespray/v2.27.1.tar.gz`);
    assert.equal(content.sha256['tools/kubespray/v2.27.1.tar.gz'], createHash('sha256').update(ks).digest('hex'));
    await assert.rejects(fetchBytes(`${server.url}/tools/../../etc/passwd`), /404|error/);
    await assert.rejects(fetchBytes(`${server.url}/.stamp`), /404|error/);
  });

  it('rebuilding with nothing changed reuses the content (same checksums, no work)', async () => {
    const again = await buildRepoContent(join(dir, 'repo'), { ...bins, manifestPath: join(ROOT, 'helm/platform.yaml') });
    assert.deepEqual(again.sha256, content.sha256);
  });

  it("the Kubespray stand-in asserts Kubespray's groups and vars, is idempotent, and reset needs confirmation (real ansible-playbook)", async () => {
    const ks = join(dir, 'ks');
    mkdirSync(ks);
    await exec('tar', ['-xzf', join(dir, 'repo/tools/kubespray/v2.27.1.tar.gz'), '-C', ks]);
    const root = join(ks, 'kubespray-2.27.1');
    const record = join(dir, 'record');
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\ninterpreter_python = /usr/bin/python3\nretry_files_enabled = False\n');
    const inventory = (vars: string) =>
      `all:\n  vars: {ansible_connection: local, ansible_become: false, bcmkube_lab_record_dir: ${record}${vars}}\n  hosts:\n    cp1: {ansible_host: 127.0.0.1, ip: 127.0.0.1, access_ip: 127.0.0.1}\n  children:\n    kube_control_plane: {hosts: {cp1: {}}}\n    kube_node: {hosts: {cp1: {}}}\n    etcd: {hosts: {cp1: {}}}\n    calico_rr: {hosts: {}}\n    k8s_cluster: {children: {kube_control_plane: {}, kube_node: {}, calico_rr: {}}}\n`;
    writeFileSync(
      join(dir, 'good.yaml'),
      inventory(
        ', kube_version: v1.31.9, kube_network_plugin: calico, kube_pods_subnet: 172.29.0.0/16, kube_service_addresses: 10.150.0.0/16',
      ),
    );
    writeFileSync(join(dir, 'novars.yaml'), inventory(''));
    const failsWith = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: Error & { stdout?: string }) => re.test(e.stdout ?? ''));
    const play = (inv: string, pb: string, extra: string[] = []) =>
      exec('/usr/bin/ansible-playbook', ['-i', join(dir, inv), join(root, pb), ...extra], {
        env: { ...process.env, ANSIBLE_CONFIG: join(dir, 'ansible.cfg') },
        cwd: dir,
      });
    await play('good.yaml', 'upgrade-cluster.yml');
    const ok = await play('good.yaml', 'upgrade-cluster.yml');
    assert.match(ok.stdout, /cp1\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=0/);
    const line = JSON.parse(readFileSync(join(record, 'kubespray.jsonl'), 'utf8').trim().split('\n').at(-1)!);
    assert.deepEqual(
      [line.playbook, line.kube_version, line.groups],
      ['upgrade-cluster.yml', 'v1.31.9', ['etcd', 'k8s_cluster', 'kube_control_plane', 'kube_node']],
    );
    await failsWith(play('novars.yaml', 'upgrade-cluster.yml'), /lacks kube_version/);
    await failsWith(play('good.yaml', 'reset.yml'), /needs -e reset_confirmation=yes/);
    await play('good.yaml', 'reset.yml', ['-e', 'reset_confirmation=yes']);
    await failsWith(play('good.yaml', 'remove-node.yml'), /needs -e node=/);
    await failsWith(play('good.yaml', 'scale.yml'), /needs --limit/);
  });
});

describe('cluster stand-ins (named so: no Kubernetes API server can run here)', () => {
  const work = mkdtempSync(join(tmpdir(), 'standin-'));
  const env = () => ({
    ...process.env,
    BCMKUBE_STANDIN_LOG: join(work, 'log.jsonl'),
    BCMKUBE_STANDIN_STATE: join(work, 'state.json'),
    BCMKUBE_STANDIN_CONFIG: join(work, 'config.json'),
    BCMKUBE_REAL_HELM: bins.helm,
    BCMKUBE_REAL_KUBECTL: bins.kubectl,
    ...helmEnv(join(work, 'helm')),
  });
  const helm = (...args: string[]) => exec(join(ROOT, 'test/lab/standins/helm'), args, { env: env() });
  const kubectl = (...args: string[]) => exec(join(ROOT, 'test/lab/standins/kubectl'), args, { env: env() });
  const log = () =>
    readFileSync(join(work, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tool: string; argv: string[]; start: number; end: number; release?: string; outcome?: string });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('records upgrade --install, and helm list reflects it; a second install is an upgrade', async () => {
    writeFileSync(join(work, 'config.json'), '{}');
    await helm(
      'upgrade',
      '--install',
      'metrics-server',
      'lab/metrics-server',
      '--namespace',
      'kube-system',
      '--version',
      '3.13.0',
      '--atomic',
      '--wait',
      '--timeout',
      '300s',
    );
    const second = await helm(
      'upgrade',
      '--install',
      'metrics-server',
      'lab/metrics-server',
      '--namespace',
      'kube-system',
      '--version',
      '3.13.0',
      '--atomic',
    );
    assert.match(second.stdout, /REVISION: 2/);
    const list = JSON.parse((await helm('list', '-A', '-o', 'json')).stdout);
    assert.deepEqual(
      list.map((r: { name: string; chart: string; namespace: string }) => [r.name, r.chart, r.namespace]),
      [['metrics-server', 'metrics-server-3.13.0', 'kube-system']],
    );
    assert.deepEqual(log()[0]!.argv.slice(0, 3), ['upgrade', '--install', 'metrics-server']);
  });

  it('fails a release as told, reporting the atomic rollback, and exits 1', async () => {
    writeFileSync(join(work, 'config.json'), JSON.stringify({ releases: { 'gpu-operator': { fail: true } } }));
    await assert.rejects(
      helm('upgrade', '--install', 'gpu-operator', 'lab/gpu-operator', '-n', 'gpu-operator', '--version', 'v25.3.3', '--atomic'),
      (e: Error & { code?: number; stderr?: string }) =>
        e.code === 1 && /INSTALLATION FAILED.*uninstalled due to atomic/.test(e.stderr ?? ''),
    );
    assert.equal(log().at(-1)!.outcome, 'uninstalled');
    assert.equal(JSON.parse((await helm('list', '-A', '-o', 'json')).stdout).length, 1);
  });

  it('delays as told, so concurrent installs overlap in the log', async () => {
    writeFileSync(join(work, 'config.json'), JSON.stringify({ releases: { a: { delayMs: 400 }, b: { delayMs: 400 } } }));
    await Promise.all(['a', 'b'].map((n) => helm('upgrade', '--install', n, `lab/${n}`, '-n', 'x', '--version', '1.0.0')));
    const [a, b] = ['a', 'b'].map((n) => log().find((l) => l.release === n && l.outcome === 'deployed')!);
    assert.ok(a!.end - a!.start >= 400 && b!.end - b!.start >= 400);
    assert.ok(a!.start < b!.end && b!.start < a!.end, 'the two installs overlapped');
  });

  it('records node labels and answers get nodes from them', async () => {
    await kubectl('label', 'node', 'dgx-05', 'nvidia.com/gpu.present=true', '--overwrite');
    const nodes = JSON.parse((await kubectl('get', 'nodes', '-o', 'json')).stdout);
    assert.deepEqual(nodes.items[0].metadata, { name: 'dgx-05', labels: { 'nvidia.com/gpu.present': 'true' } });
  });

  it('passes commands that need no cluster to the real binaries', async () => {
    assert.match((await helm('version', '--short')).stdout, /^v3\.17\.3/);
    assert.match((await kubectl('version', '--client', '-o', 'json')).stdout, /"gitVersion": "v1\.31\.9"/);
  });
});
