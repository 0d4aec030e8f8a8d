// `bcmkube lab …` through the bundled CLI (dist/cli/index.js, the package's bin), as a user runs it from a
// checkout: it starts the lab's own entry point as a process and passes its output and exit code on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const BUNDLE = 'dist/cli/index.js';
const base = mkdtempSync(join(tmpdir(), 'lab-cli-'));

async function bundled(...argv: string[]): Promise<{ code: number; out: string }> {
  return exec(process.execPath, [BUNDLE, ...argv]).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout}${e.stderr}` }),
  );
}

describe('bcmkube lab through the bundled CLI', () => {
  before(async () => {
    if (!existsSync(BUNDLE)) await exec('bash', ['scripts/build.sh'], { maxBuffer: 64 << 20 });
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  it('lab status answers for a folder with no lab, naming the whole folder', async () => {
    const dir = join(base, 'a-rather-long-folder-name-so-that-a-cut-message-would-show'.repeat(3), 'lab');
    const r = await bundled('lab', 'status', '--dir', dir);
    assert.equal(r.code, 1, r.out);
    assert.equal(r.out.trim(), `no lab in ${dir}; start one with: npm run lab -- up`);
  });

  it('a bad lab sub-command or option exits 2 with the lab usage', async () => {
    const bad = await bundled('lab', 'bogus');
    assert.equal(bad.code, 2, bad.out);
    assert.match(bad.out, /^error: unknown lab command 'bogus'\nusage: bcmkube lab <up\|down\|status\|fault>/);
    const option = await bundled('lab', 'up', '--subnet', '999', '--dir', join(base, 'x'));
    assert.equal(option.code, 2, option.out);
    assert.match(option.out, /--subnet must be a whole number from 1 to 250/);
    assert.equal((await bundled('lab')).code, 2);
  });
});
