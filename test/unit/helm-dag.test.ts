// The platform's dependency graph: order, bounded concurrency, failure isolation, and the timing arithmetic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { criticalPath, readySteps, runDag, simulateDag, transitiveDependents, type DagStep } from '../../actions/lib/helm/dag.ts';
import { loadPlatformManifest } from '../../actions/lib/helm/manifest.ts';

const manifest = loadPlatformManifest('helm/platform.yaml');
const platform: DagStep[] = manifest.releases.map((r) => ({ name: r.name, needs: r.needs }));
const timeouts = Object.fromEntries(manifest.releases.map((r) => [r.name, r.timeoutSeconds]));

/** Runs the graph with fake installs that take `ms[name]` and fail where told; records start/end order. */
async function fakeRun(steps: DagStep[], concurrency: number, ms: Record<string, number>, fail: string[] = []) {
  const events: string[] = [];
  let running = 0;
  let peak = 0;
  const results = await runDag(steps, concurrency, async (name) => {
    running++;
    peak = Math.max(peak, running);
    events.push(`start ${name}`);
    await new Promise((r) => setTimeout(r, ms[name] ?? 5));
    events.push(`end ${name}`);
    running--;
    return { ok: !fail.includes(name), value: name };
  });
  return { results, events, peak };
}

describe('release dependency graph', () => {
  it('starts a release only after every release it needs has finished', async () => {
    const { events } = await fakeRun(platform, 8, { 'local-path-provisioner': 30, 'kube-prometheus-stack': 20 });
    for (const r of manifest.releases)
      for (const need of r.needs)
        assert.ok(events.indexOf(`end ${need}`) < events.indexOf(`start ${r.name}`), `${r.name} started before ${need} ended`);
  });

  it('runs independent releases at the same time, never more than the concurrency', async () => {
    const wide: DagStep[] = Array.from({ length: 10 }, (_, i) => ({ name: `r${i}`, needs: [] }));
    const two = await fakeRun(wide, 2, {});
    assert.equal(two.peak, 2);
    const all = await fakeRun(wide, 16, Object.fromEntries(wide.map((s) => [s.name, 20])));
    assert.equal(all.peak, 10, 'all ten independent releases overlap when allowed');
    const one = await fakeRun(platform, 1, {});
    assert.equal(one.peak, 1);
  });

  it('a failed release skips only its transitive dependents; the rest finish', async () => {
    const { results, events } = await fakeRun(platform, 4, {}, ['local-path-provisioner']);
    const status = Object.fromEntries([...results].map(([n, r]) => [n, `${r.status}${r.because ? `<${r.because}` : ''}`]));
    assert.deepEqual(status, {
      'local-path-provisioner': 'failed',
      'ingress-nginx': 'skipped<local-path-provisioner',
      'gpu-operator': 'ok',
      'kube-prometheus-stack': 'skipped<local-path-provisioner',
      'prometheus-adapter': 'skipped<local-path-provisioner',
      'metrics-server': 'ok',
      lws: 'ok',
      'knative-operator': 'ok',
    });
    assert.ok(
      !events.some((e) => /start (ingress-nginx|kube-prometheus-stack|prometheus-adapter)/.test(e)),
      'skipped releases never start',
    );
  });

  it('a runner that throws counts as a failed step with its message', async () => {
    const results = await runDag(
      [
        { name: 'a', needs: [] },
        { name: 'b', needs: ['a'] },
      ],
      2,
      async () => {
        throw new Error('namespace a: kubectl exit 1');
      },
    );
    assert.deepEqual(results.get('a'), { status: 'failed', error: 'namespace a: kubectl exit 1' });
    assert.deepEqual(results.get('b'), { status: 'skipped', because: 'a' });
  });

  it('names unknown needs and cycles before running anything', async () => {
    let ran = 0;
    const count = async () => ({ ok: true, value: ran++ });
    await assert.rejects(runDag([{ name: 'a', needs: ['ghost'] }], 2, count), /a needs 'ghost', which is not a release/);
    await assert.rejects(
      runDag(
        [
          { name: 'a', needs: ['c'] },
          { name: 'b', needs: ['a'] },
          { name: 'c', needs: ['b'] },
        ],
        2,
        count,
      ),
      /dependency cycle a → c → b → a/,
    );
    assert.equal(ran, 0);
  });

  it('ready steps come in graph order and respect the free slots', () => {
    const state = new Map(platform.map((s) => [s.name, 'pending' as const]));
    assert.deepEqual(readySteps(platform, state, 3), ['local-path-provisioner', 'gpu-operator', 'metrics-server']);
    assert.deepEqual(readySteps(platform, state, 0), []);
    assert.deepEqual(transitiveDependents(platform, 'kube-prometheus-stack'), ['prometheus-adapter']);
  });

  it("the platform's critical path is local-path → Prometheus stack → adapter, and 4 at a time achieves it", () => {
    const cp = criticalPath(platform, timeouts);
    assert.deepEqual(cp, { length: 1200, path: ['local-path-provisioner', 'kube-prometheus-stack', 'prometheus-adapter'] });
    const sum = Object.values(timeouts).reduce((a, b) => a + b, 0);
    assert.equal(sum, 3600);
    assert.equal(simulateDag(platform, timeouts, 4).makespan, 1200);
    assert.equal(simulateDag(platform, timeouts, 1).makespan, sum);
    const two = simulateDag(platform, timeouts, 2);
    assert.ok(two.makespan > 1200 && two.makespan < sum, `2 at a time: ${two.makespan}`);
    assert.equal(simulateDag(platform, timeouts, 4).starts['prometheus-adapter'], 900);
  });
});
