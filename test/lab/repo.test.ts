// The lab's chart repository (charts for the REAL helm) and tool mirror (the real helm and kubectl in the upstream
// layout), its PyPI mirror (the real wheels of Kubespray's requirements.txt), and the Kubespray stand-in run by
// that real Ansible on localhost, without a lab (bcmkube_lab_kube: [], so no control plane is placed).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadPlatformManifest } from '../../actions/lib/helm/manifest.ts';
import { pipEnvironment } from '../../actions/lib/kubespray/ansible-env.ts';
import { ensureLabCa, issueCert } from './pki.ts';
import { reportedVersion } from './repo/content.ts';
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
    // each at the version its real Chart.yaml reports (knative-operator: 1.16.0 for pin v1.16.0)
    assert.deepEqual(
      listed,
      [...manifest.releases, ...manifest.runai].map((r) => `${r.chart}@${reportedVersion(r.chart, r.version)}`).sort(),
    );
    assert.ok(listed.includes('knative-operator@1.16.0') && listed.includes('gpu-operator@v25.3.3'));
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
    await assert.rejects(
      exec('curl', ['-sSf', '--path-as-is', '--cacert', ca.caCert, `${server.url}/tools/../../../../etc/passwd`]),
      /404/,
    );
    await assert.rejects(fetchBytes(`${server.url}/.stamp`), /404|error/);
    const head = await exec('curl', ['-sSfI', '--cacert', ca.caCert, `${server.url}/charts/index.yaml`]);
    assert.match(head.stdout, /content-type: application\/yaml/i);
    assert.deepEqual(
      server.requests().filter((r) => r.method === 'HEAD'),
      [{ method: 'HEAD', path: '/charts/index.yaml', status: 200 }],
    );
    assert.ok(server.requests().some((r) => r.path === '/.stamp' && r.status === 404));
  });

  it('the mirrored helm and kubectl are the real v3.17.3 and v1.31.9, byte for byte, with no environment variable', async () => {
    const x = join(dir, 'mirrored');
    mkdirSync(x);
    await exec('tar', ['-xzf', join(dir, 'repo/tools/helm/helm-v3.17.3-linux-amd64.tar.gz'), '-C', x]);
    const kubectl = join(dir, 'repo/tools/kubectl/release/v1.31.9/bin/linux/amd64/kubectl');
    assert.match((await exec(join(x, 'linux-amd64/helm'), ['version', '--short'])).stdout, /^v3\.17\.3\+/);
    assert.match((await exec(kubectl, ['version', '--client', '-o', 'json'])).stdout, /"gitVersion": "v1\.31\.9"/);
    assert.ok(readFileSync(join(x, 'linux-amd64/helm')).equals(readFileSync(bins.helm)), 'the real helm');
    assert.ok(readFileSync(kubectl).equals(readFileSync(bins.kubectl)), 'the real kubectl');
  });

  it('rebuilding with nothing changed reuses the content (same checksums, no work)', async () => {
    const again = await buildRepoContent(join(dir, 'repo'), { ...bins, manifestPath: join(ROOT, 'helm/platform.yaml') });
    assert.deepEqual(again.sha256, content.sha256);
  });

  it("the Kubespray stand-in keeps Kubespray v2.27.1's contracts with the real Ansible from the lab's PyPI mirror", async () => {
    const ks = join(dir, 'ks');
    mkdirSync(ks);
    await exec('tar', ['-xzf', join(dir, 'repo/tools/kubespray/v2.27.1.tar.gz'), '-C', ks]);
    const root = join(ks, 'kubespray-2.27.1');
    // the venv the kubespray stage builds: Kubespray's requirements.txt from the lab's index (real wheels)
    const venv = join(dir, 'venv');
    await exec('python3', ['-m', 'venv', venv]);
    await exec(
      join(venv, 'bin/pip'),
      [
        'install',
        '--disable-pip-version-check',
        '--no-compile',
        '--index-url',
        `${server.url}/pypi/simple`,
        '--cert',
        ca.caCert,
        '-r',
        join(root, 'requirements.txt'),
      ],
      { env: pipEnvironment({ indexUrl: `${server.url}/pypi/simple`, caFile: ca.caCert }), maxBuffer: 16 << 20 },
    );
    const ansiblePlaybook = join(venv, 'bin/ansible-playbook');
    assert.match((await exec(ansiblePlaybook, ['--version'])).stdout, /^ansible-playbook \[core 2\.16\.\d+\]/);
    const record = join(dir, 'record');
    const inventory = (vars: string) =>
      `all:\n  vars: {ansible_connection: local, ansible_python_interpreter: ${join(venv, 'bin/python')}, bcmkube_lab_record_dir: ${record}, bcmkube_lab_kube_config_dir: ${join(dir, 'kube')}, bcmkube_lab_kube: []${vars}}\n  hosts:\n    cp1: {ansible_host: 127.0.0.1, ip: 127.0.0.1, access_ip: 127.0.0.1}\n    w1: {ansible_host: 127.0.0.1, ip: 127.0.0.1, access_ip: 127.0.0.1}\n  children:\n    kube_control_plane: {hosts: {cp1: {}}}\n    kube_node: {hosts: {w1: {}}}\n    etcd: {hosts: {cp1: {}}}\n    calico_rr: {hosts: {}}\n    k8s_cluster: {children: {kube_control_plane: {}, kube_node: {}, calico_rr: {}}}\n`;
    writeFileSync(
      join(dir, 'good.yaml'),
      inventory(
        ', kube_version: v1.31.9, kube_network_plugin: calico, kube_pods_subnet: 172.29.0.0/16, kube_service_addresses: 10.150.0.0/16',
      ),
    );
    writeFileSync(join(dir, 'novars.yaml'), inventory(''));
    const facts = join(dir, 'facts');
    // Kubespray's own ansible.cfg, with the fact cache moved out of the shared /tmp (as the stage does)
    const kubesprayEnv = { ...process.env, ANSIBLE_CONFIG: join(root, 'ansible.cfg'), ANSIBLE_CACHE_PLUGIN_CONNECTION: facts };
    const failsWith = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: Error & { stdout?: string }) => re.test(e.stdout ?? ''));
    const play = (inv: string, pb: string, extra: string[] = [], opts: { bin?: string; env?: NodeJS.ProcessEnv } = {}) =>
      exec(opts.bin ?? ansiblePlaybook, ['-i', join(dir, inv), pb, ...extra], { env: opts.env ?? kubesprayEnv, cwd: root });
    const playbooks = ['cluster.yml', 'scale.yml', 'upgrade-cluster.yml', 'remove-node.yml', 'reset.yml', 'playbooks/facts.yml'];
    await exec(ansiblePlaybook, ['--syntax-check', '-i', join(dir, 'good.yaml'), ...playbooks], { env: kubesprayEnv, cwd: root });
    // without Kubespray's ansible.cfg, the role is not found: what the real Kubespray says
    writeFileSync(join(dir, 'other.cfg'), '[defaults]\nretry_files_enabled = False\n');
    await assert.rejects(
      exec(ansiblePlaybook, ['--syntax-check', '-i', join(dir, 'good.yaml'), 'cluster.yml'], {
        env: { ...process.env, ANSIBLE_CONFIG: join(dir, 'other.cfg') },
        cwd: root,
      }),
      (e: Error & { stderr?: string }) => /the role 'kubespray-defaults' was not found/.test(e.stderr ?? ''),
    );
    // Debian's ansible-core 2.14 is outside the range: the version gate stops the first play
    await failsWith(
      play('good.yaml', 'upgrade-cluster.yml', [], { bin: '/usr/bin/ansible-playbook' }),
      /Ansible must be >= 2\.16\.4 and < 2\.17\.0; this is 2\.14/,
    );
    await failsWith(play('novars.yaml', 'upgrade-cluster.yml'), /lacks kube_version/);
    await failsWith(play('good.yaml', 'reset.yml'), /needs -e reset_confirmation=yes/);
    // no terminal: the confirmation prompt answers nothing, and the play fails as the real one does
    await failsWith(play('good.yaml', 'remove-node.yml', ['-e', 'node=w1']), /Delete nodes confirmation failed/);
    await failsWith(play('good.yaml', 'scale.yml'), /needs --limit/);
    // --limit without the fact cache of the excluded hosts is refused; facts.yml first fills it
    await failsWith(
      play('good.yaml', 'scale.yml', ['--limit', 'w1'], {
        env: { ...kubesprayEnv, ANSIBLE_CACHE_PLUGIN_CONNECTION: join(dir, 'no-facts') },
      }),
      /--limit needs the fact cache of every host it leaves out[\s\S]*Not cached: \['cp1'\]/,
    );
    const emptyCache = { ...kubesprayEnv, ANSIBLE_CACHE_PLUGIN_CONNECTION: join(dir, 'facts-first') };
    await play('good.yaml', 'playbooks/facts.yml', [], { env: emptyCache });
    await play('good.yaml', 'scale.yml', ['--limit', 'w1'], { env: emptyCache });
    await play('good.yaml', 'cluster.yml');
    const again = await play('good.yaml', 'cluster.yml');
    assert.match(again.stdout, /cp1\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=0/);
    const kubeconfig = readFileSync(join(dir, 'kube/admin.conf'), 'utf8');
    assert.match(kubeconfig, /lab stand-in/);
    assert.match(kubeconfig, /server: https:\/\/127\.0\.0\.1:6443/);
    await play('good.yaml', 'remove-node.yml', ['-e', 'node=w1', '-e', 'skip_confirmation=true', '-e', 'reset_nodes=false']);
    await play('good.yaml', 'reset.yml', ['-e', 'reset_confirmation=yes']);
    const records = readFileSync(join(record, 'kubespray.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      records.filter((r) => r.host === 'cp1').map((r) => r.playbook),
      ['cluster.yml', 'cluster.yml', 'reset.yml'],
      'remove-node with reset_nodes=false reaches no node',
    );
    const cluster = records.find((r) => r.playbook === 'cluster.yml' && r.host === 'cp1')!;
    assert.deepEqual(
      [cluster.host, cluster.kube_version, cluster.kube_pods_subnet, cluster.groups, cluster.become_user],
      ['cp1', 'v1.31.9', '172.29.0.0/16', ['etcd', 'k8s_cluster', 'kube_control_plane'], userInfo().username],
    );
    assert.equal(records.find((r) => r.playbook === 'scale.yml')!.limit, 'w1');
  });
});
