// Every stage command alone on the lab, as a person runs them after `bcmkube lab up`: one process each, with
// clusters/lab.yaml (here aimed at this test's lab folder and subnet) and nothing else in the environment —
// discover, prepare, kubespray, platform, runai --phase backend, runai --phase cluster. Kubespray's stand-in
// brings the real control plane up; helm and kubectl are the real ones from the lab's tool mirror; what each
// stage left is asked of the real API server and helm.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureRealHelmKubectl } from './repo/index.ts';

const SUBNET = 90;
const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'stages-'));
const lab = join(dir, 'lab');
const cwd = join(dir, 'work');
const spec = join(dir, 'lab.yaml');
/** What a person's shell has: no variable of the lab or of GitHub Actions. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(BCMKUBE_|RUNNER_|GITHUB_|INPUT_)/.test(k)),
) as NodeJS.ProcessEnv;

const run = (file: string, args: string[], where = ROOT) =>
  new Promise<{ code: number; out: string }>((done) => {
    execFile(file, args, { cwd: where, env, maxBuffer: 256 << 20 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
  });
const bcmkube = (...args: string[]) => run('bash', [join(ROOT, 'scripts/node24.sh'), join(ROOT, 'actions/lib/cli/main.ts'), ...args], cwd);
const labCli = (...args: string[]) => run('bash', [join(ROOT, 'scripts/node24.sh'), join(ROOT, 'test/lab/cli.ts'), ...args, '--dir', lab]);
let tools: { helm: string; kubectl: string };
const kubeconfig = () => join(lab, 'kube/admin.conf');
const kubectl = async (...args: string[]) => {
  const r = await run(tools.kubectl, ['--kubeconfig', kubeconfig(), ...args]);
  assert.equal(r.code, 0, r.out);
  return r.out;
};

describe('each stage command alone on the lab, with only the spec', () => {
  before(async () => {
    tools = await ensureRealHelmKubectl();
    const up = await labCli('up', '--subnet', String(SUBNET));
    assert.equal(up.code, 0, up.out);
    // clusters/lab.yaml as it is, aimed at this lab: its addresses and its folder
    writeFileSync(
      spec,
      readFileSync(join(ROOT, 'clusters/lab.yaml'), 'utf8')
        .replaceAll('127.0.1.', `127.0.${SUBNET}.`)
        .replaceAll('.bcmkube/lab/', `${lab}/`),
    );
    rmSync(cwd, { recursive: true, force: true });
    await run('mkdir', ['-p', cwd]);
  });
  after(async () => {
    await labCli('down');
    rmSync(dir, { recursive: true, force: true });
  });

  it('discover, prepare, kubespray: the real control plane answers with the five nodes Ready', async () => {
    for (const stage of ['discover', 'prepare', 'kubespray']) {
      const r = await bcmkube(stage, '--spec', spec);
      assert.equal(r.code, 0, `${stage}: ${r.out}`);
    }
    const nodes = await kubectl(
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}',
    );
    assert.deepEqual(nodes.trim().split(' '), ['cpu-03=True', 'cpu-05=True', 'cpu-06=True', 'dgx-05=True', 'dgx-06=True']);
    assert.match(await kubectl('version', '-o', 'json'), /"gitVersion": "v1\.31\.9"/);
  });

  it('platform: every release deployed by the real helm; the GPU nodes advertise their GPUs; the CUDA smoke pod ran', async () => {
    const r = await bcmkube('platform', '--spec', spec);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /CUDA smoke pod on dgx-0[56]: ok: .*H100/, "its log (KWOK: the node's nvidia-smi -L) names the GPUs");
    const releases = JSON.parse((await run(tools.helm, ['--kubeconfig', kubeconfig(), 'list', '-A', '-o', 'json'])).out) as Array<{
      name: string;
      status: string;
    }>;
    assert.ok(releases.length >= 8, JSON.stringify(releases));
    assert.ok(
      releases.every((x) => x.status === 'deployed'),
      JSON.stringify(releases),
    );
    const gpus = await kubectl(
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.allocatable.nvidia\\.com/gpu} {end}',
    );
    assert.deepEqual(gpus.trim().split(' '), ['cpu-03=', 'cpu-05=', 'cpu-06=', 'dgx-05=8', 'dgx-06=8']);
    assert.match(await kubectl('get', 'ingressclass', '-o', 'jsonpath={.items[*].metadata.annotations}'), /is-default-class":"true"/);
    // GPU observability: the alert rules (with the fewer-GPUs rule per GPU node) and the dashboards are in the cluster
    const rule = JSON.parse(await kubectl('get', 'prometheusrule', 'bcmkube-gpu', '-n', 'prometheus', '-o', 'json'));
    assert.equal(rule.metadata.labels.release, 'kube-prometheus-stack');
    assert.match(JSON.stringify(rule.spec), /dgx-05/);
    assert.match(
      await kubectl('get', 'configmap', '-n', 'prometheus', '-l', 'grafana_dashboard=1', '-o', 'name'),
      /bcmkube-gpu-gpu-cluster\nconfigmap\/bcmkube-gpu-gpu-node/,
    );
  });

  it('runai --phase backend, then --phase cluster: both Run:ai releases deployed on the real API server', async () => {
    const token = ['--jfrog-token-file', join(lab, 'secrets/jfrog-token')];
    for (const phase of ['backend', 'cluster']) {
      const r = await bcmkube('runai', '--spec', spec, '--phase', phase, ...token);
      assert.equal(r.code, 0, `runai --phase ${phase}: ${r.out}`);
    }
    const releases = (await run(tools.helm, ['--kubeconfig', kubeconfig(), 'list', '-A', '-o', 'json'])).out;
    for (const name of ['runai-backend', 'runai-cluster']) assert.match(releases, new RegExp(`"name":"${name}"[^}]*"status":"deployed"`));
  });
});
