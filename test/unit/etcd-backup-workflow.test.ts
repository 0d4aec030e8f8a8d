// .github/workflows/etcd-backup.yml: on a schedule and by hand, one backup job per cluster spec, the same
// pins as deploy.yml, the key from its secret, and never a snapshot (or anything else) as an artifact.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { tempDir } from '../temp-dirs.ts';

const text = readFileSync('.github/workflows/etcd-backup.yml', 'utf8');
const doc = yaml.load(text) as any;
const remoteUses = (t: string) => [...t.matchAll(/uses:\s+([\w-]+\/[\w-]+@[0-9a-f]{40} # v[\d.]+)/g)].map((m) => m[1]!);

describe('etcd-backup.yml', () => {
  it('runs on a cron schedule and by hand with a specs input', () => {
    assert.match(doc.on.schedule[0].cron, /^\d+ \d+ \* \* \*$/);
    assert.equal(doc.on.workflow_dispatch.inputs.specs.type, 'string');
    assert.deepEqual(doc.permissions, { contents: 'read' });
    assert.equal(doc.concurrency['cancel-in-progress'], false);
  });

  it('backs up each cluster in its own job: discover-nodes, then etcd operation backup with the key from its secret', () => {
    const job = doc.jobs.backup;
    assert.equal(job.strategy.matrix.spec, '${{ fromJSON(needs.clusters.outputs.specs) }}');
    assert.equal(job.strategy['fail-fast'], false, 'one cluster failing does not cancel the others');
    const uses = job.steps.map((s: any) => s.uses?.split('@')[0]);
    assert.deepEqual(uses, ['actions/checkout', './actions/discover-nodes', './actions/etcd']);
    const backup = job.steps[2];
    assert.equal(backup.with.operation, 'backup');
    assert.equal(backup.with['etcd-backup-key'], '${{ secrets.ETCD_BACKUP_KEY }}');
    assert.equal(backup.with.inventory, '${{ steps.discover.outputs.inventory-path }}');
  });

  it('uploads no artifact and pins every remote action as deploy.yml does', () => {
    assert.doesNotMatch(text, /upload-artifact|actions\/cache/);
    const deployPins = new Set(remoteUses(readFileSync('.github/workflows/deploy.yml', 'utf8')));
    const pins = remoteUses(text);
    assert.ok(pins.length >= 2);
    for (const p of pins) assert.ok(deployPins.has(p), `${p} is deploy.yml's pin`);
    assert.equal(
      text.split('\n').filter((l) => /^\s*(-\s+)?uses:\s/.test(l)).length,
      pins.length + 2,
      'every other uses: is a local action',
    );
  });

  it('lists every spec but the lab by default, the ones named when run by hand, and refuses a missing one', () => {
    const script = doc.jobs.clusters.steps[1].run as string;
    const repo = tempDir('etcd-backup-wf-');
    mkdirSync(join(repo, 'clusters'));
    for (const f of ['prod.yaml', 'lab.yaml', 'east.yaml']) writeFileSync(join(repo, 'clusters', f), 'name: x\n');
    const step = (specs: string) => {
      const out = join(repo, `out-${Math.random()}`);
      writeFileSync(out, '');
      const r = spawnSync('bash', ['-c', script], {
        cwd: repo,
        env: { PATH: process.env.PATH, SPECS: specs, GITHUB_OUTPUT: out },
        encoding: 'utf8',
      });
      return { code: r.status, out: readFileSync(out, 'utf8') + r.stdout };
    };
    assert.deepEqual(step(''), { code: 0, out: 'specs=["clusters/east.yaml","clusters/prod.yaml"]\n' });
    assert.deepEqual(step(' clusters/prod.yaml , clusters/lab.yaml'), {
      code: 0,
      out: 'specs=["clusters/prod.yaml","clusters/lab.yaml"]\n',
    });
    const missing = step('clusters/nope.yaml');
    assert.equal(missing.code, 1);
    assert.match(missing.out, /::error::no such spec: clusters\/nope\.yaml/);
  });
});
