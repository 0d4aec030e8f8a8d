import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chainCommand, main, type ChainDeps } from '../../actions/lib/cli/main.ts';
import { readInventory, writeInventory } from '../../actions/lib/inventory/document.ts';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { PLAN_MARKER } from '../../actions/lib/report/plan.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import { withStageReport } from '../../actions/lib/report/stage-report.ts';
import type { StageDef } from '../../actions/lib/stages/catalog.ts';
import { PIPELINE } from '../../actions/lib/stages/pipeline.ts';
import type { StageRunner } from '../../actions/lib/stages/registry.ts';
import { StageError } from '../../actions/lib/util/errors.ts';
import { STAGES } from '../../actions/lib/stages/catalog.ts';
import { tempDir } from '../temp-dirs.ts';

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  const r = new TerminalReporter(() => {});
  const code = await main(argv, r);
  return { code, out: r.lines.join('\n') };
}

describe('bcmkube CLI', () => {
  it('prints usage and exits 2 without a command, 0 with --help', async () => {
    const none = await cli();
    assert.equal(none.code, 2);
    assert.match(none.out, /usage: bcmkube <command>/);
    assert.equal((await cli('--help')).code, 0);
  });

  it('refuses an unknown command and an unknown flag with exit 2', async () => {
    const unknown = await cli('deplo');
    assert.equal(unknown.code, 2);
    assert.match(unknown.out, /unknown command 'deplo'/);
    const badFlag = await cli('discover', '--spec', 'clusters/lab.yaml', '--bogus', 'x');
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.out, /bogus/);
  });

  it("lists a stage's options, which are its action's inputs", async () => {
    const help = await cli('discover', '--help');
    assert.equal(help.code, 0);
    for (const flag of ['--spec', '--plan', '--out-dir', '--bcm-password VALUE (or --bcm-password-file FILE)', '--insecure'])
      assert.ok(help.out.includes(flag), flag);
  });

  it('every stage is built; a bad runai phase is named with exit 2 before anything is read', async () => {
    assert.deepEqual(
      STAGES.filter((s) => s.pending).map((s) => s.action),
      [],
    );
    const r = await cli('runai', '--spec', 'clusters/example.yaml', '--phase', 'both');
    assert.equal(r.code, 2);
    assert.match(r.out, /--phase must be one of backend, cluster, got 'both'/);
  });

  it('validates the shipped specs', async () => {
    for (const spec of ['clusters/example.yaml', 'clusters/lab.yaml']) {
      const r = await cli('validate', '--spec', spec);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /valid spec for cluster/);
    }
  });

  it('requires --spec for stage commands, naming the flag', async () => {
    const r = await cli('discover');
    assert.equal(r.code, 2);
    assert.match(r.out, /--spec is required/);
  });

  it('keygen writes an OpenSSH keypair (private 0600) and refuses to overwrite it', async () => {
    const dir = tempDir('keygen-');
    const r = await cli('keygen', '--out', dir);
    assert.equal(r.code, 0, r.out);
    const priv = join(dir, 'service');
    assert.equal(statSync(priv).mode & 0o777, 0o600);
    assert.match(readFileSync(priv, 'utf8'), /^-----BEGIN OPENSSH PRIVATE KEY-----/);
    assert.match(readFileSync(`${priv}.pub`, 'utf8'), /^ssh-ed25519 AAAA\S+ bcmkube-service\n$/);
    assert.equal(r.out.includes(readFileSync(priv, 'utf8').split('\n')[1]!), false, 'private key never printed');
    const again = await cli('keygen', '--out', dir);
    assert.equal(again.code, 2);
    assert.match(again.out, /exists; keep it/);
    const rsa = await cli('keygen', '--out', dir, '--type', 'rsa', '--name', 'rsa');
    assert.equal(rsa.code, 0);
    assert.match(readFileSync(join(dir, 'rsa.pub'), 'utf8'), /^ssh-rsa /);
    assert.ok(existsSync(join(dir, 'rsa')));
  });
});

// The deploy / plan chain without the lab: stand-in stages (through the same stage-report wrapper as the real
// ones) record what they were given, so the order, the Run:ai phases and the inventory hand-over are visible.
describe('bcmkube deploy / plan chain', () => {
  type Call = { step: string; plan: string; inventory: string; outDir: string };

  function fakeStages(opts: { failAt?: string; changes?: boolean } = {}) {
    const calls: Call[] = [];
    const runner =
      (def: StageDef): StageRunner =>
      (inputs, reporter) =>
        withStageReport(def, inputs, reporter, async (i, r) => {
          const step = def.action === 'runai' ? `runai-${i.get('phase')}` : def.action;
          const outDir = i.get('out-dir');
          calls.push({ step, plan: i.get('plan'), inventory: i.get('inventory'), outDir });
          if (step === opts.failAt) throw new StageError(`${step}: the cluster said no`);
          const before: Inventory = i.get('inventory')
            ? readInventory(i.get('inventory'))
            : {
                schemaVersion: 1,
                cluster: 'dgx-lab',
                specHash: 'x',
                bcm: { endpoint: 'https://127.0.1.254:8081' },
                nodes: [],
                history: [],
              };
          const path = join(outDir, 'inventory.json');
          writeInventory(path, { ...before, history: [...before.history, { stage: step, at: '2026-11-24T00:00:00Z', result: 'ok' }] });
          r.output('inventory-path', path);
          r.output('changes', String(opts.changes ?? false));
          r.summary(`## ${step}${i.get('plan') === 'true' ? ' (plan)' : ''}`);
        });
    return { calls, runner };
  }
  const run = async (command: 'deploy' | 'plan', argv: string[], deps: ChainDeps) => {
    const r = new TerminalReporter(() => {});
    let code: number;
    try {
      code = await chainCommand(command, argv, r, deps);
    } catch (err) {
      r.info(String(err));
      code = err instanceof StageError ? 1 : 2;
    }
    return { code, out: r.lines.join('\n') };
  };

  it('deploy runs every step in order, Run:ai backend then cluster, each reading the artifact of the step before', async () => {
    const out = tempDir('chain-');
    const { calls, runner } = fakeStages();
    const r = await run('deploy', ['--spec', 'clusters/lab.yaml', '--out', out], { runner });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(
      calls.map((c) => c.step),
      PIPELINE.map((s) => s.key),
    );
    assert.deepEqual(
      calls.map((c) => c.inventory),
      ['', ...PIPELINE.slice(0, -1).map((s) => join(out, 'artifacts', `inventory-${s.key}.json`))],
    );
    assert.ok(calls.every((c) => c.plan === 'false' && c.outDir === out));
    const last = readInventory(join(out, 'artifacts/inventory-runai-cluster.json'));
    assert.deepEqual(
      last.history.map((h) => h.stage),
      PIPELINE.map((s) => s.key),
      'every step built on the one before',
    );
    const doc = readFileSync(join(out, 'deploy.md'), 'utf8');
    assert.match(doc, /## bcmkube deploy: cluster `dgx-lab` \(`clusters\/lab\.yaml`\)/);
    assert.match(r.out, new RegExp(`the run document: ${join(out, 'deploy.md')}`));
    assert.match(r.out, new RegExp(`inventory artifacts: ${join(out, 'artifacts')}`));
  });

  it('plan runs every step in plan mode and writes the plan document; "no changes" when no step has any', async () => {
    const out = tempDir('chain-');
    const quiet = fakeStages();
    const r = await run('plan', ['--spec', 'clusters/lab.yaml', '--out', out], { runner: quiet.runner });
    assert.equal(r.code, 0, r.out);
    assert.ok(quiet.calls.every((c) => c.plan === 'true'));
    const doc = readFileSync(join(out, 'plan.md'), 'utf8');
    assert.ok(doc.startsWith(PLAN_MARKER));
    assert.match(doc, /\*\*No changes\*\* in the cluster/);
    assert.match(r.out, /plan: no changes in any stage\./);

    const busy = fakeStages({ changes: true });
    const again = await run('plan', ['--spec', 'clusters/lab.yaml', '--out', out], { runner: busy.runner });
    assert.equal(again.code, 0);
    assert.match(again.out, /plan: discover-nodes \(would change\), prepare-nodes \(would change\)/);
    assert.doesNotMatch(readFileSync(join(out, 'plan.md'), 'utf8'), /No changes/);
  });

  it('stops at the first failure: later steps never run, the document says where it stopped, exit 1', async () => {
    const out = tempDir('chain-');
    const { calls, runner } = fakeStages({ failAt: 'kubespray' });
    const r = await run('deploy', ['--spec', 'clusters/lab.yaml', '--out', out], { runner });
    assert.equal(r.code, 1);
    assert.deepEqual(
      calls.map((c) => c.step),
      ['discover-nodes', 'prepare-nodes', 'kubespray'],
    );
    assert.match(
      r.out,
      /deploy: ran discover-nodes, prepare-nodes; not run: kubespray, helm-platform, runai-backend, runai-cluster — kubespray failed/,
    );
    assert.match(r.out, /the cluster said no/);
    assert.match(readFileSync(join(out, 'deploy.md'), 'utf8'), /\| kubespray \| failure \| kubespray: the cluster said no \|/);
    assert.ok(!existsSync(join(out, 'artifacts/inventory-kubespray.json')), 'no artifact from a failed step');
  });

  it('stops before a stage that is not built yet and says so, exit 2', async () => {
    const out = tempDir('chain-');
    const stages = STAGES.map((s) => (s.action === 'helm-platform' ? { ...s, pending: 'issue 7' } : s));
    const { calls, runner } = fakeStages();
    const r = await run('deploy', ['--spec', 'clusters/lab.yaml', '--out', out], { runner, stages });
    assert.equal(r.code, 2);
    assert.deepEqual(
      calls.map((c) => c.step),
      ['discover-nodes', 'prepare-nodes', 'kubespray'],
    );
    assert.match(r.out, /not run: helm-platform, runai-backend, runai-cluster — helm-platform is not built yet \(issue 7\)/);
  });

  it('refuses --phase and --inventory, and a bad spec, before running anything', async () => {
    const { calls, runner } = fakeStages();
    for (const flag of ['--phase', '--inventory']) {
      const r = await run('deploy', ['--spec', 'clusters/lab.yaml', flag, 'x'], { runner });
      assert.equal(r.code, 2);
      assert.match(r.out, new RegExp(`${flag} is not a deploy option`));
    }
    const missing = await cli('plan', '--spec', 'clusters/no-such.yaml');
    assert.equal(missing.code, 2);
    assert.match(missing.out, /no-such\.yaml/);
    assert.equal(calls.length, 0);
    const help = await cli('plan', '--help');
    assert.equal(help.code, 0);
    assert.match(help.out, /discover-nodes → prepare-nodes → kubespray → helm-platform → runai-backend → runai-cluster/);
  });
});
