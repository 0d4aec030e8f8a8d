// The tools the lab and the rule tests build from Go modules say in one line when Go is missing, with the version.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { tempDir } from '../temp-dirs.ts';

describe('building tools from Go modules without Go', () => {
  for (const script of ['scripts/build-kube.sh', 'scripts/build-promtool.sh']) {
    it(`${script} exits 3 with one line naming Go 1.26`, () => {
      const tools = tempDir('no-go-');
      const r = spawnSync('bash', [script], {
        encoding: 'utf8',
        env: { PATH: '/usr/bin:/bin', BCMKUBE_KUBE_TOOLS: tools, BCMKUBE_TOOLS: tools },
      });
      assert.equal(r.status, 3);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /needs Go 1\.26 or newer \(found: no go\)/);
    });
  }
});
