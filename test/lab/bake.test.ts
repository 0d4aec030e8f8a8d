// playbooks/bake-service-user.yml puts the service user into a BCM software image (real ansible-playbook,
// real useradd --root), idempotently, without touching the machine it runs on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generateServiceKeypair } from '../../actions/lib/stages/keygen.ts';

const exec = promisify(execFile);

describe('bake-service-user playbook', () => {
  it('adds user, key and visudo-checked sudoers to the image, once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bake-'));
    const image = join(dir, 'cm/images/default-image');
    try {
      mkdirSync(join(image, 'etc/sudoers.d'), { recursive: true });
      mkdirSync(join(image, 'home'));
      for (const f of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs']) copyFileSync(`/etc/${f}`, join(image, 'etc', f));
      const key = generateServiceKeypair('ed25519', 'bcmkube-service').publicKey;
      writeFileSync(join(dir, 'vars.json'), JSON.stringify({ image_dir: image, service_public_key: key }));
      writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\ninterpreter_python = /usr/bin/python3\nretry_files_enabled = False\n');
      const hostPasswd = readFileSync('/etc/passwd', 'utf8');
      const play = () =>
        exec(
          '/usr/bin/ansible-playbook',
          ['-i', 'localhost,', '-c', 'local', resolve('playbooks/bake-service-user.yml'), '-e', `@${join(dir, 'vars.json')}`],
          { cwd: dir, env: { ...process.env, ANSIBLE_CONFIG: join(dir, 'ansible.cfg') } },
        );
      assert.match((await play()).stdout, /localhost\s+: ok=7\s+changed=5\s+unreachable=0\s+failed=0/);
      assert.match(readFileSync(join(image, 'etc/passwd'), 'utf8'), /^ansiblebcm:x:60000:60000::\/home\/ansiblebcm:\/bin\/bash$/m);
      assert.equal(readFileSync(join(image, 'home/ansiblebcm/.ssh/authorized_keys'), 'utf8'), `${key}\n`);
      assert.equal(statSync(join(image, 'etc/sudoers.d/ansiblebcm')).mode & 0o777, 0o440);
      assert.equal(readFileSync('/etc/passwd', 'utf8'), hostPasswd, 'the machine running it is untouched');
      assert.match((await play()).stdout, /localhost\s+: ok=7\s+changed=0\s+unreachable=0\s+failed=0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
