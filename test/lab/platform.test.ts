// The helm-platform stage on the lab: helm and kubectl installed from the lab's tool mirror (real download,
// SHA-256 and tool cache; the mirror serves the cluster stand-ins, which run the REAL helm for repo add, pull,
// template and lint against the lab's chart repository), the kubeconfig fetched over real SSH, and every
// cluster change recorded by the stand-in: order, overlap, failures, re-runs, verification and secrets.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { loadPlatformManifest } from '../../actions/lib/helm/manifest.ts';
import { startStageLab, type StageLab } from './stage-fixture.ts';

const exec = promisify(execFile);
const SUBNET = 50;
const CANARY = 'canary-Grafana-7f3e9b1d';
const dir = mkdtempSync(join(tmpdir(), 'platform-'));
const manifest = loadPlatformManifest('helm/platform.yaml');
let stage: StageLab;
let spec: string;

type Line = Record<string, any> & { tool: string; argv: string[]; start: number; end: number };
const log = () => stage.standinLog() as Line[];
const since = (n: number) => log().slice(n);
const upgrades = (lines: Line[]) => lines.filter((l) => l.tool === 'helm' && l.argv.includes('upgrade'));
const sub = (l: Line) =>
  l.argv.filter((a, i) => !a.startsWith('-') && !['--kubeconfig', '--namespace', '--output'].includes(l.argv[i - 1]!));
const passthrough = (lines: Line[], cmd: string) => lines.filter((l) => l.tool === 'helm' && l.passthrough && sub(l)[0] === cmd);
const state = () => JSON.parse(readFileSync(join(dir, 'standin-state.json'), 'utf8'));
const configure = (config: object) => writeFileSync(join(dir, 'standin-config.json'), JSON.stringify(config));
const releasesOut = (outputs: Record<string, string>) =>
  Object.fromEntries((JSON.parse(outputs.releases!) as Array<{ name: string; outcome: string }>).map((r) => [r.name, r.outcome]));
const platform = (...extra: string[]) => stage.cli('platform', '--spec', spec, '--out', stage.out, ...extra);

/** Every file under `root` whose bytes contain `needle`. */
function filesHolding(root: string, needle: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => statSync(f).size < 50 << 20 && readFileSync(f).includes(needle));
}

describe('helm-platform stage on the lab', () => {
  before(async () => {
    stage = await startStageLab({ dir, subnet: SUBNET, through: 'kubespray' });
    process.env.BCMKUBE_STANDIN_CONFIG = join(dir, 'standin-config.json');
    configure({});
    spec = stage.writeSpec('platform', (s) => (s.mirrors.charts = `${stage.repo.url}/charts`));
  });
  after(async () => {
    delete process.env.BCMKUBE_STANDIN_CONFIG;
    await stage?.close();
  });

  it('plan on a fresh cluster: every release an install; each chart pulled by its pinned version, rendered and linted by the real helm; nothing changed', async () => {
    const n = log().length;
    const r = await platform('--plan');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Would change: 8 install, 0 upgrade, 0 unchanged\. Nothing was changed\./);
    assert.match(
      r.out,
      /helm v3\.17\.3: downloaded, SHA-256 published at https:\/\/127\.0\.0\.1:\d+\/tools\/helm\/helm-v3\.17\.3-linux-amd64\.tar\.gz\.sha256sum|helm v3\.17\.3: from the tool cache/,
    );
    assert.deepEqual(
      Object.values(releasesOut(r.outputs)),
      manifest.releases.map(() => 'install'),
    );
    const lines = since(n);
    assert.deepEqual(
      passthrough(lines, 'repo').map((l) => sub(l).slice(0, 3)),
      [['repo', 'add', 'bcmkube-mirror']],
      'one repository: the mirror',
    );
    assert.deepEqual(
      passthrough(lines, 'pull')
        .map((l) => `${sub(l)[1]}@${l.argv[l.argv.indexOf('--version') + 1]}`)
        .sort(),
      manifest.releases.map((x) => `bcmkube-mirror/${x.chart}@${x.version}`).sort(),
    );
    for (const cmd of ['template', 'lint']) {
      assert.equal(passthrough(lines, cmd).length, 8, `helm ${cmd} for every chart`);
      assert.ok(passthrough(lines, cmd).every((l) => l.exitCode === 0 && l.argv.filter((a) => a === '--values').length === 2));
    }
    assert.match(r.out, /\| gpu-operator \| gpu-operator@v25\.3\.3 \| gpu-operator \| install \| ok \(\d+ objects\) \|/);
    assert.deepEqual(upgrades(lines), []);
    assert.ok(!lines.some((l) => l.tool === 'kubectl' && ['apply', 'annotate', 'delete'].includes(sub(l)[0]!)), 'plan applies nothing');
    assert.deepEqual(readdirSync(join(dir, 'runner-temp')), [], 'work folder removed');
  });

  it('install: every release with upgrade --install --atomic --wait, its pinned version and timeout; needs respected, independent ones in parallel; then verified', async () => {
    configure({ releases: { 'local-path-provisioner': { delayMs: 2500 }, 'gpu-operator': { delayMs: 2500 } } });
    const n = log().length;
    const r = await platform('--grafana-admin-password', CANARY);
    configure({});
    assert.equal(r.code, 0, r.out);
    const lines = since(n);
    const ups = upgrades(lines);
    const byName = new Map(ups.map((u) => [u.release as string, u]));
    assert.deepEqual([...byName.keys()].sort(), manifest.releases.map((x) => x.name).sort());
    for (const rel of manifest.releases) {
      const u = byName.get(rel.name)!;
      const arg = (f: string) => u.argv[u.argv.indexOf(f) + 1];
      assert.deepEqual(
        [arg('--version'), arg('--timeout'), arg('--namespace'), u.argv.includes('--atomic'), u.argv.includes('--wait')],
        [rel.version, `${rel.timeoutSeconds}s`, rel.namespace, true, true],
        rel.name,
      );
      assert.match(
        sub(u)[2]!,
        new RegExp(`/charts/${rel.name}/${rel.chart}-v?${rel.version.replace(/^v/, '').replace(/\./g, '\\.')}\\.tgz$`),
        'the pulled archive is installed (named by the version its Chart.yaml reports: knative-operator 1.16.0 for pin v1.16.0)',
      );
      assert.ok(!u.argv.some((a) => a.startsWith('--set')), 'values only from files');
      for (const need of rel.needs) assert.ok(u.start >= byName.get(need)!.end, `${rel.name} started before ${need} finished`);
    }
    const [lp, gpu] = [byName.get('local-path-provisioner')!, byName.get('gpu-operator')!];
    assert.ok(lp.start < gpu.end && gpu.start < lp.end, 'independent releases overlap in time');

    const applied = state().applied as Array<Record<string, any>>;
    const ns = (name: string) => applied.find((a) => a.kind === 'Namespace' && a.name === name);
    assert.equal(ns('gpu-operator')?.labels['pod-security.kubernetes.io/enforce'], 'privileged');
    assert.equal(ns('lws-system')?.labels['app.kubernetes.io/name'], 'lws');
    const secret = applied.find((a) => a.kind === 'Secret' && a.name === 'grafana-admin')!;
    assert.deepEqual([secret.namespace, secret.keys], ['prometheus', ['admin-password', 'admin-user']]);
    const secretApply = lines.find((l) => l.objects?.some((o: any) => o.kind === 'Secret'))!;
    assert.ok(secretApply.argv.includes('--server-side'), 'no last-applied annotation holding the password');
    assert.ok(secretApply.end <= byName.get('kube-prometheus-stack')!.start, 'the Secret exists before Grafana starts');
    const knative = lines.find((l) => l.objects?.some((o: any) => o.kind === 'KnativeServing'))!;
    assert.ok(knative.start >= byName.get('knative-operator')!.end, 'KnativeServing after its operator');
    const waits = lines.filter((l) => l.tool === 'kubectl' && sub(l)[0] === 'wait');
    const ready = waits.find((l) => sub(l)[1] === 'knativeserving/knative-serving')!;
    assert.ok(ready.argv.includes('--for=condition=Ready') && ready.start >= knative.end, 'then waits until KnativeServing is Ready');
    assert.deepEqual(
      waits
        .filter((l) => l.argv.includes('--for=condition=Available'))
        .map((l) => `${sub(l)[1]} ${l.argv[l.argv.indexOf('--namespace') + 1]}`)
        .sort(),
      [
        'alertmanagers.monitoring.coreos.com/kube-prometheus-stack-alertmanager prometheus',
        'prometheuses.monitoring.coreos.com/kube-prometheus-stack-prometheus prometheus',
      ],
      'Prometheus and Alertmanager are checked: their StatefulSets (and volume claims) come from prometheus-operator, not the chart',
    );
    assert.ok(
      applied.some(
        (a) =>
          a.kind === 'StorageClass' && a.name === 'local-path' && a.annotations['storageclass.kubernetes.io/is-default-class'] === 'true',
      ),
    );

    assert.match(r.out, /8 installed, 0 upgraded, 0 unchanged, 0 failed, 0 skipped, 0 off; concurrency 4/);
    assert.match(
      r.out,
      /```mermaid\nflowchart LR[\s\S]*local_path_provisioner --> kube_prometheus_stack[\s\S]*style gpu_operator fill:#d4f7d4/,
    );
    assert.match(r.out, /rollout status: 8\/8 releases ready/);
    assert.match(r.out, /GPUs allocatable: dgx-05 8, dgx-06 8/);
    assert.match(r.out, /CUDA smoke pod on dgx-05: ok: GPU 0: NVIDIA H100 80GB HBM3/);
    assert.ok(!applied.some((a) => a.namespace === 'bcmkube-smoke' || a.name === 'bcmkube-smoke'), 'smoke namespace removed on success');
    assert.equal(
      lines.filter((l) => l.tool === 'kubectl' && sub(l)[0] === 'rollout').length,
      9,
      "one workload per lab chart, and the GPU Operator's device-plugin DaemonSet",
    );
    assert.deepEqual(new Set(Object.values(releasesOut(r.outputs))), new Set(['installed']));

    const inv = JSON.parse(readFileSync(join(stage.out, 'inventory.json'), 'utf8')) as Inventory;
    assert.deepEqual(
      inv.platform!.releases.map((x) => `${x.name} ${x.chart}@${x.version} ${x.namespace} ${x.status}`),
      manifest.releases.map((x) => `${x.name} ${x.chart}@${x.version} ${x.namespace} deployed`),
    );
    assert.equal(inv.history.at(-1)!.stage, 'helm-platform');

    // The canary password is in the cluster's Secret only: nowhere in output, logs, values or files.
    assert.ok(!r.out.includes(CANARY) && !JSON.stringify(r.outputs).includes(CANARY));
    const places = [
      stage.out,
      join(dir, 'runner-temp'),
      join(dir, 'tool-cache'),
      ...readdirSync(dir)
        .map((f) => join(dir, f))
        .filter((f) => statSync(f).isFile()),
    ];
    assert.deepEqual(
      places.flatMap((p) => (statSync(p).isFile() ? (readFileSync(p).includes(CANARY) ? [p] : []) : filesHolding(p, CANARY))),
      [],
      'no file of the out dir, RUNNER_TEMP, tool cache, stand-in log and state, or specs holds it',
    );
    assert.deepEqual(readdirSync(join(dir, 'runner-temp')), [], 'work folder (kubeconfig, values, charts) removed');
    const kpsValues = byName.get('kube-prometheus-stack')!.values;
    assert.equal(kpsValues.grafana.admin.existingSecret, 'grafana-admin');
    assert.ok(!JSON.stringify(ups.map((u) => u.values)).match(/adminPassword|sha256/), 'no values file holds a secret');
  });

  it('a re-run with nothing changed plans and reports every release unchanged (knative-operator 1.16.0 = pin v1.16.0) and installs nothing', async () => {
    const plan = await platform('--plan');
    assert.equal(plan.code, 0, plan.out);
    assert.match(plan.out, /Would change: 0 install, 0 upgrade, 8 unchanged\. Nothing was changed\./);
    assert.match(plan.out, /\| knative-operator \| knative-operator@v1\.16\.0 \| knative-operator \| unchanged \|/);
    assert.deepEqual(new Set(Object.values(releasesOut(plan.outputs))), new Set(['unchanged']));
    const n = log().length;
    const r = await platform();
    assert.equal(r.code, 0, r.out);
    const lines = since(n);
    assert.deepEqual(upgrades(lines), []);
    assert.deepEqual(new Set(Object.values(releasesOut(r.outputs))), new Set(['unchanged']));
    assert.match(r.out, /0 installed, 0 upgraded, 8 unchanged/);
    assert.match(r.out, /\| knative-serving \| KnativeServing 1\.16 \|  \| unchanged \|/);
    assert.match(r.out, /Grafana admin password: kept \(Secret prometheus\/grafana-admin exists/);
    assert.ok(!lines.some((l) => sub(l)[0] === 'annotate'), 'local-path already the only default StorageClass');
  });

  it('plan after changes: upgrade from → to with the reason, unchanged for the rest; a chart that rejects its values is named, and install then changes nothing', async () => {
    // An older metrics-server deployed by hand (through the stand-in, as `helm` would).
    await exec(
      'helm',
      ['upgrade', '--install', 'metrics-server', 'lab/metrics-server', '--namespace', 'kube-system', '--version', '3.12.0'],
      {
        env: process.env,
      },
    );
    const changed = stage.writeSpec('changed', (s) => {
      s.mirrors.charts = `${stage.repo.url}/charts`;
      s.platform = {
        releases: {
          'kube-prometheus-stack': { values: { prometheus: { prometheusSpec: { retention: '30d' } } } },
          lws: { values: { replicaCount: 'two' } },
        },
      };
    });
    const n = log().length;
    const r = await stage.cli('platform', '--spec', changed, '--out', stage.out, '--plan');
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      /\| metrics-server \| metrics-server@3\.13\.0 \| kube-system \| upgrade 3\.12\.0 → 3\.13\.0 \(chart 3\.12\.0 → 3\.13\.0; values changed\) \|/,
    );
    assert.match(r.out, /\| kube-prometheus-stack \| [^|]+ \| prometheus \| upgrade 77\.6\.2 → 77\.6\.2 \(values changed\) \|/);
    assert.match(r.out, /\| gpu-operator \| [^|]+ \| gpu-operator \| unchanged \|/);
    assert.match(
      r.out,
      /1 chart\(s\) do not render with their values[\s\S]*lws: .*replicaCount: Invalid type\. Expected: integer, given: string/,
    );
    const refused = await stage.cli('platform', '--spec', changed, '--out', stage.out);
    assert.equal(refused.code, 1);
    assert.match(refused.out, /do not render with their values; nothing was changed/);
    const lines = since(n);
    assert.deepEqual(upgrades(lines), []);
    assert.ok(!lines.some((l) => l.tool === 'kubectl' && ['apply', 'annotate', 'delete'].includes(sub(l)[0]!)));
  });

  it('refuses a helm download whose SHA-256 does not match the published one, installing and changing nothing', async () => {
    const tar = join(dir, 'repo/tools/helm/helm-v3.17.3-linux-amd64.tar.gz');
    copyFileSync(tar, `${tar}.good`);
    writeFileSync(tar, Buffer.concat([readFileSync(`${tar}.good`), Buffer.from('tampered')]));
    process.env.RUNNER_TOOL_CACHE = join(dir, 'tool-cache-fresh');
    const n = log().length;
    try {
      const r = await platform();
      assert.equal(r.code, 1, r.out);
      assert.match(
        r.out,
        /SHA-256 of https:\/\/127\.0\.0\.1:\d+\/tools\/helm\/helm-v3\.17\.3-linux-amd64\.tar\.gz is [0-9a-f]{64}, expected [0-9a-f]{64} \(published at \S+\.sha256sum\); the download was refused and nothing was installed/,
      );
      assert.equal(existsSync(join(dir, 'tool-cache-fresh/helm')), false);
      assert.deepEqual(upgrades(since(n)), []);
    } finally {
      copyFileSync(`${tar}.good`, tar);
      process.env.RUNNER_TOOL_CACHE = join(dir, 'tool-cache');
    }
  });

  it('a failing release rolls back and skips only its dependents; the rest finish; failed checks are named and the smoke pod kept', async () => {
    const st = state();
    st.releases = {};
    writeFileSync(join(dir, 'standin-state.json'), JSON.stringify(st));
    configure({
      releases: { 'local-path-provisioner': { fail: true }, lws: { rolloutFail: true } },
      nodes: { 'dgx-06': { gpus: 0 } },
      smoke: 'fail',
    });
    const quick = stage.writeSpec('quick-checks', (s) => {
      s.mirrors.charts = `${stage.repo.url}/charts`;
      s.platform = { verify: { timeout_seconds: 1 } };
    });
    const n = log().length;
    const r = await stage.cli('platform', '--spec', quick, '--out', stage.out);
    configure({});
    assert.equal(r.code, 1, r.out);
    assert.deepEqual(releasesOut(r.outputs), {
      'local-path-provisioner': 'failed',
      'ingress-nginx': 'skipped',
      'gpu-operator': 'failed',
      'kube-prometheus-stack': 'skipped',
      'prometheus-adapter': 'skipped',
      'metrics-server': 'installed',
      lws: 'failed',
      'knative-operator': 'installed',
    });
    const lines = since(n);
    assert.deepEqual(
      upgrades(lines)
        .map((u) => `${u.release}:${u.outcome}`)
        .sort(),
      [
        'gpu-operator:deployed',
        'knative-operator:deployed',
        'local-path-provisioner:uninstalled',
        'lws:deployed',
        'metrics-server:deployed',
      ],
      'dependents of the failed release never start; --atomic removed the failed install',
    );
    assert.match(
      r.out,
      /local-path-provisioner: Error: INSTALLATION FAILED: release local-path-provisioner failed, and has been uninstalled due to atomic being set/,
    );
    assert.match(r.out, /ingress-nginx: skipped \(needs local-path-provisioner, which failed\)/);
    assert.match(r.out, /default-storageclass: skipped/);
    assert.match(r.out, /lws: verification failed: lws: deployment\/lws-lab in lws-system did not roll out/);
    assert.match(r.out, /dgx-06: advertises no nvidia\.com\/gpu after 1s/);
    assert.match(
      r.out,
      /CUDA smoke pod on dgx-05: pod Failed after 1s: Failed to initialize NVML: Unknown Error; kept for debugging: kubectl -n bcmkube-smoke describe pod cuda-smoke/,
    );
    assert.ok(
      state().applied.some((a: any) => a.kind === 'Pod' && a.name === 'cuda-smoke'),
      'the failed smoke pod is kept',
    );
    assert.match(r.out, /style ingress_nginx fill:#eeeeee[\s\S]*style metrics_server fill:#d4f7d4/);
    const inv = JSON.parse(readFileSync(join(stage.out, 'inventory.json'), 'utf8')) as Inventory;
    assert.deepEqual(Object.fromEntries(inv.platform!.releases.map((x) => [x.name, x.status])), {
      'local-path-provisioner': 'failed',
      'ingress-nginx': 'skipped',
      'gpu-operator': 'failed',
      'kube-prometheus-stack': 'skipped',
      'prometheus-adapter': 'skipped',
      'metrics-server': 'deployed',
      lws: 'failed',
      'knative-operator': 'deployed',
    });
  });
});
