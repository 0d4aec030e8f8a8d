import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../actions/lib/cli/main.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';

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

  it('says a stage is not built yet, exits 2, and changes nothing', async () => {
    const r = await cli('platform', '--spec', 'clusters/example.yaml');
    assert.equal(r.code, 2);
    assert.match(r.out, /helm-platform is not built yet \(issue 7/);
    assert.match(r.out, /nothing was changed/);
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
    const dir = mkdtempSync(join(tmpdir(), 'keygen-'));
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
