// The recording helm/kubectl cluster stand-ins (named so: no Kubernetes API server can run here), called
// from PATH as the actions call them, with the REAL helm and kubectl behind them for cluster-free commands.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ensureRealHelmKubectl, helmEnv } from './repo/index.ts';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

interface LogLine {
  tool: string;
  argv: string[];
  start: number;
  end: number;
  pid: number;
  cwd: string;
  release?: string;
  outcome?: string;
}

describe('cluster stand-ins for helm and kubectl', () => {
  const work = mkdtempSync(join(tmpdir(), 'standin-'));
  let env: NodeJS.ProcessEnv;
  const helm = (...args: string[]) => exec('helm', args, { env, cwd: work });
  const kubectl = (...args: string[]) => exec('kubectl', args, { env, cwd: work });
  const configure = (config: object) => writeFileSync(join(work, 'config.json'), JSON.stringify(config));
  const log = () =>
    readFileSync(join(work, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogLine);
  const install = (name: string, ...extra: string[]) =>
    helm('upgrade', '--install', name, `lab/${name}`, '--namespace', 'ns', '--version', '1.0.0', '--atomic', ...extra);
  const released = async () =>
    (JSON.parse((await helm('list', '-A', '-o', 'json')).stdout) as Array<{ name: string; chart: string; revision: string }>).map(
      (r) => `${r.name} ${r.chart} r${r.revision}`,
    );

  before(async () => {
    const bins = await ensureRealHelmKubectl();
    env = {
      ...helmEnv(join(work, 'helm')),
      PATH: `${join(ROOT, 'test/lab/standins')}:${process.env.PATH}`,
      BCMKUBE_STANDIN_LOG: join(work, 'log.jsonl'),
      BCMKUBE_STANDIN_STATE: join(work, 'state.json'),
      BCMKUBE_STANDIN_CONFIG: join(work, 'config.json'),
      BCMKUBE_REAL_HELM: bins.helm,
      BCMKUBE_REAL_KUBECTL: bins.kubectl,
    };
    configure({});
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('records each call, and helm list reflects earlier installs (a re-run is an upgrade of the same chart)', async () => {
    await helm(
      'upgrade',
      '--install',
      'metrics-server',
      'lab/metrics-server',
      '-n',
      'kube-system',
      '--version',
      '3.13.0',
      '--wait',
      '--timeout',
      '300s',
    );
    const second = await helm('upgrade', '--install', 'metrics-server', 'lab/metrics-server', '-n', 'kube-system', '--version', '3.13.0');
    assert.match(second.stdout, /has been upgraded[\s\S]*REVISION: 2/);
    const list = JSON.parse((await helm('list', '-A', '-o', 'json')).stdout);
    assert.deepEqual(
      list.map((r: { name: string; chart: string; namespace: string; status: string }) => [r.name, r.chart, r.namespace, r.status]),
      [['metrics-server', 'metrics-server-3.13.0', 'kube-system', 'deployed']],
    );
    const first = log()[0]!;
    assert.deepEqual([first.tool, first.argv.slice(0, 3), first.cwd], ['helm', ['upgrade', '--install', 'metrics-server'], work]);
    assert.ok(first.pid > 0 && first.end >= first.start);
  });

  it('a release told to fail exits 1 with helm\'s atomic error and a recorded rollback; "once" fails only the first try', async () => {
    await install('gpu-operator');
    configure({ releases: { 'gpu-operator': { fail: true }, lws: { fail: 'once' } } });
    await assert.rejects(
      install('gpu-operator'),
      (e: Error & { code?: number; stderr?: string }) => e.code === 1 && /UPGRADE FAILED.*rolled back due to atomic/.test(e.stderr ?? ''),
    );
    assert.deepEqual([log().at(-1)!.release, log().at(-1)!.outcome], ['gpu-operator', 'rolled-back']);
    await assert.rejects(install('lws'), /INSTALLATION FAILED.*uninstalled due to atomic/);
    await install('lws');
    assert.deepEqual(
      (await released()).filter((r) => !r.startsWith('metrics')),
      ['gpu-operator gpu-operator-1.0.0 r1', 'lws lws-1.0.0 r1'],
    );
    configure({});
  });

  it("delays releases as told and records each install's interval; concurrent calls lose no state", async () => {
    configure({ releases: { a: { delayMs: 300 }, b: { delayMs: 300 } } });
    await Promise.all(['a', 'b', 'c', 'd'].map((n) => install(n)));
    const [a, b] = ['a', 'b'].map((n) => log().find((l) => l.release === n && l.outcome === 'deployed')!);
    assert.ok(a!.end - a!.start >= 300 && b!.end - b!.start >= 300, 'the delay was applied');
    // whether two installs overlap depends on process start-up under load; the DAG tests assert overlap
    // with delays long enough for that. Here: the intervals are recorded, in order.
    assert.ok(a!.start < a!.end && b!.start < b!.end);
    assert.deepEqual((await released()).filter((r) => /^[abcd] /.test(r)).length, 4);
    configure({});
  });

  it('kubectl keeps node labels and applied objects and answers get from them', async () => {
    await kubectl('label', 'node', 'dgx-05', 'nvidia.com/gpu.present=true', '--overwrite');
    const nodes = JSON.parse((await kubectl('get', 'nodes', '-o', 'json')).stdout);
    assert.deepEqual(nodes.items[0].metadata, { name: 'dgx-05', labels: { 'nvidia.com/gpu.present': 'true' } });
    writeFileSync(join(work, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: runai\n');
    await kubectl('apply', '-f', join(work, 'ns.yaml'));
    const ns = JSON.parse((await kubectl('get', 'namespaces', '-o', 'json')).stdout);
    assert.deepEqual(
      ns.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ['runai'],
    );
  });

  it('passes cluster-free commands to the real helm and kubectl', async () => {
    const chart = join(work, 'chart');
    cpSync(join(ROOT, 'test/lab/repo/chart-template'), chart, { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 1.2.3\n');
    const rendered = await helm('template', 'demo', chart, '--namespace', 'x', '--set', 'labels.team=lab');
    assert.match(rendered.stdout, /name: demo-lab/);
    assert.match(rendered.stdout, /team: lab/);
    assert.match((await kubectl('version', '--client', '-o', 'json')).stdout, /"gitVersion": "v1\.31\.9"/);
    const cm = await kubectl('create', 'configmap', 'c', '--from-literal=k=v', '--dry-run=client', '-o', 'yaml');
    assert.match(cm.stdout, /data:\n  k: v\nkind: ConfigMap/);
    assert.deepEqual(
      log()
        .slice(-3)
        .map((l) => [l.tool, l.argv[0]]),
      [
        ['helm', 'template'],
        ['kubectl', 'version'],
        ['kubectl', 'create'],
      ],
    );
  });
});
