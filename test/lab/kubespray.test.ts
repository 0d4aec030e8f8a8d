// The kubespray stage on the lab: Kubespray (the lab's named stand-in tarball) downloaded from the lab mirror,
// checksum-verified and cached; its playbooks run by the real ansible-playbook over real SSH as the service
// user; the kubeconfig fetched with its server rewritten and never shown; GPU labels via the kubectl stand-in.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../actions/lib/cli/main.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { startLabCluster, type LabCluster } from './cluster-fixture.ts';
import { defaultLabNodes, nodeExec } from './nodes.ts';
import { issueCert } from './pki.ts';
import { buildRepoContent, ensureRealHelmKubectl, startRepoServer, type RepoServer } from './repo/index.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SUBNET = 26;
const dir = mkdtempSync(join(tmpdir(), 'kubespray-'));
const out = join(dir, 'out');
let lab: LabCluster;
let repo: RepoServer;
const savedEnv = { ...process.env };

async function cli(...argv: string[]) {
  const r = new TerminalReporter(() => {});
  const code = await main(argv, r);
  return { code, out: r.lines.join('\n'), outputs: r.outputs };
}

function writeSpec(name: string, mutate: (s: Record<string, any>) => void = () => {}): string {
  return lab.writeSpec(name, (s) => {
    s.mirrors = { ...s.mirrors, kubespray: `${repo.url}/tools/kubespray`, ca_file: lab.ca.caCert };
    mutate(s);
  });
}

const records = async (node: string) =>
  (await nodeExec(dir, node, ['cat', '/var/lib/bcmkube-lab/kubespray.jsonl'])).stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);
const standinLog = () =>
  existsSync(join(dir, 'standin.jsonl'))
    ? readFileSync(join(dir, 'standin.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    : [];
const kubesprayDownloads = () => repo.requests().filter((r) => r.path === '/tools/kubespray/v2.27.1.tar.gz').length;

describe('kubespray stage on the lab', () => {
  let spec: string;
  before(async () => {
    lab = await startLabCluster({ dir, subnet: SUBNET, nodes: defaultLabNodes() });
    const bins = await ensureRealHelmKubectl(join(ROOT, '.tools/k8s-bin'));
    await buildRepoContent(join(dir, 'repo'), { ...bins, manifestPath: join(ROOT, 'helm/platform.yaml') });
    repo = await startRepoServer({ dir: join(dir, 'repo'), tls: issueCert(lab.ca, 'repo', ['127.0.0.1'], 'server') });
    Object.assign(process.env, {
      RUNNER_TOOL_CACHE: join(dir, 'tool-cache'),
      RUNNER_TEMP: join(dir, 'runner-temp'),
      PATH: `${join(ROOT, 'test/lab/standins')}:${process.env.PATH}`,
      BCMKUBE_STANDIN_LOG: join(dir, 'standin.jsonl'),
      BCMKUBE_STANDIN_STATE: join(dir, 'standin-state.json'),
      BCMKUBE_REAL_KUBECTL: bins.kubectl,
    });
    spec = writeSpec('spec');
    for (const stage of ['discover', 'prepare']) {
      const r = await cli(stage, '--spec', spec, '--out', out);
      assert.equal(r.code, 0, r.out);
    }
  });
  after(async () => {
    process.env = savedEnv;
    await lab.close();
    await repo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plan renders the inventory and says what would run, running nothing', async () => {
    const r = await cli('kubespray', '--spec', spec, '--out', out, '--plan');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Would run Kubespray v2\.27\.1: `ansible-playbook -i \S+hosts\.yaml cluster\.yml` as ansiblebcm/);
    assert.equal(kubesprayDownloads(), 0);
    assert.deepEqual(await records('cpu-03'), []);
  });

  it('deploy: downloads and verifies Kubespray, runs cluster.yml as the service user with sudo, fetches the kubeconfig, labels GPU nodes', async () => {
    const r = await cli('kubespray', '--spec', spec, '--out', out);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /downloaded, SHA-256 published at https:\/\/127\.0\.0\.1:\d+\/tools\/kubespray\/v2\.27\.1\.tar\.gz\.sha256/);
    const recap = JSON.parse(r.outputs.recap!) as Array<{ host: string; failed: number; unreachable: number }>;
    assert.deepEqual(
      recap.filter((h) => h.host !== 'localhost').map((h) => `${h.host}:${h.failed}:${h.unreachable}`),
      ['cpu-03:0:0', 'cpu-05:0:0', 'cpu-06:0:0', 'dgx-05:0:0', 'dgx-06:0:0'],
    );
    const dgx = (await records('dgx-05')).at(-1)!;
    assert.deepEqual(
      [dgx.playbook, dgx.user, dgx.become_user, dgx.kube_version, dgx.containerd_storage_dir, dgx.ip],
      ['cluster.yml', 'ansiblebcm', 'root', 'v1.31.9', '/raid/containerd', `127.0.${SUBNET}.105`],
    );
    assert.deepEqual((await records('cpu-05')).at(-1)!.groups, ['etcd', 'k8s_cluster', 'kube_control_plane']);
    const labels = standinLog().filter((l: any) => l.tool === 'kubectl' && l.argv.includes('label'));
    assert.deepEqual(
      labels.map((l: any) => l.argv[l.argv.indexOf('node') + 1]),
      ['dgx-05', 'dgx-06'],
    );
    assert.ok(
      labels.every((l: any) => l.kubeconfigServer === `https://127.0.${SUBNET}.3:6443` && l.argv.includes('nvidia.com/gpu.present=true')),
      'server rewritten to the first control-plane node',
    );
    const state = JSON.parse(readFileSync(join(dir, 'standin-state.json'), 'utf8'));
    assert.equal(state.nodes['dgx-06'].labels['node-role.kubernetes.io/gpu'], 'worker');
    assert.deepEqual(readdirSync(join(dir, 'runner-temp')), [], 'key, known_hosts and kubeconfig removed from RUNNER_TEMP');
    assert.doesNotMatch(r.out, /client-key-data: \S/, 'kubeconfig credentials never printed');
    assert.doesNotMatch(JSON.stringify(r.outputs), /kubeconfig|BEGIN/, 'no kubeconfig or key in outputs');
    const inv = JSON.parse(readFileSync(join(out, 'inventory.json'), 'utf8')) as Inventory;
    assert.equal(inv.history.at(-1)!.stage, 'kubespray');
  });

  it('a second run takes Kubespray from the tool cache and changes nothing', async () => {
    const before = kubesprayDownloads();
    const r = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'upgrade');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /from the tool cache/);
    assert.equal(kubesprayDownloads(), before);
    assert.ok(JSON.parse(r.outputs.recap!).every((h: { changed: number }) => h.changed === 0));
  });

  it('refuses a Kubespray archive whose checksum does not match the pin, installing nothing', async () => {
    process.env.RUNNER_TOOL_CACHE = join(dir, 'tool-cache-2');
    try {
      const pinned = writeSpec('pinned', (s) => (s.mirrors.sha256 = { 'kubespray-v2.27.1.tar.gz': '0'.repeat(64) }));
      const r = await cli('kubespray', '--spec', pinned, '--out', out);
      assert.equal(r.code, 1);
      assert.match(
        r.out,
        /SHA-256 of https:\/\/\S+v2\.27\.1\.tar\.gz is [0-9a-f]{64}, expected 0{64} \(pinned\); the download was refused/,
      );
      assert.equal(existsSync(join(dir, 'tool-cache-2/kubespray')), false);
    } finally {
      process.env.RUNNER_TOOL_CACHE = join(dir, 'tool-cache');
    }
  });

  it('reset and remove-node refuse without confirm: <cluster>; reset runs with it', async () => {
    const before = (await records('cpu-03')).length;
    const refused = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'reset');
    assert.equal(refused.code, 2);
    assert.match(refused.out, /pass confirm: dgx-lab/);
    assert.equal(
      (await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'remove-node', '--nodes', 'dgx-06', '--confirm', 'other')).code,
      2,
    );
    assert.equal((await records('cpu-03')).length, before, 'nothing ran');
    const reset = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'reset', '--confirm', 'dgx-lab');
    assert.equal(reset.code, 0, reset.out);
    assert.equal((await records('cpu-03')).at(-1)!.playbook, 'reset.yml');
  });

  it('scale runs scale.yml limited to the new nodes, and refuses control-plane nodes', async () => {
    const r = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'scale', '--nodes', 'dgx-06');
    assert.equal(r.code, 0, r.out);
    assert.equal((await records('dgx-06')).at(-1)!.playbook, 'scale.yml');
    assert.notEqual((await records('dgx-05')).at(-1)!.playbook, 'scale.yml');
    const cp = await cli('kubespray', '--spec', spec, '--out', out, '--operation', 'scale', '--nodes', 'cpu-03');
    assert.equal(cp.code, 2);
    assert.match(cp.out, /control-plane nodes are added with operation deploy/);
  });
});
