// prepare-nodes on 50 lab nodes, side by side in one run with the same work done by Ansible
// (forks 10, pipelining) and with a bare node-ssh `true` fan-out, plus the converged re-run.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { generateServiceKeypair } from '../actions/lib/stages/keygen.ts';
import { buildBcmFixture } from '../test/lab/bcm-sim/fixture.ts';
import { startBcmSimulator } from '../test/lab/bcm-sim/server.ts';
import { nodeExec, startNodes, stopNodes, syntheticNodes } from '../test/lab/nodes.ts';
import { ensureLabCa, issueCert } from '../test/lab/pki.ts';
import { measure, spread } from './measure.ts';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const SUBNET = 40;
const CONCURRENCY = 16;

export async function benchPrepare50() {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const ansibleRuns = Number(process.env.BENCH_ANSIBLE_RUNS ?? 1);
  const dir = mkdtempSync(join(tmpdir(), 'bench-prepare-'));
  const specs = syntheticNodes(50, 10);
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'admin')]);
  const service = generateServiceKeypair('ed25519', 'bench');
  writeFileSync(join(dir, 'service'), service.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'service.pub'), `${service.publicKey}\n`);
  const ca = ensureLabCa(join(dir, 'pki'));
  const cert = issueCert(ca, 'bcm', ['127.0.0.1'], 'server');
  writeFileSync(join(dir, 'bcm-password'), 'bench');
  const bcm = await startBcmSimulator({
    fixture: buildBcmFixture(
      specs.map((n) => ({
        hostname: n.name,
        index: n.index,
        productionIp: `127.0.${SUBNET}.${n.index}`,
        category: n.gpus ? 'dgx-h200' : 'cpu-nodes',
      })),
      { version: 'bcm11', subnet: SUBNET },
    ),
    tls: { cert: cert.cert, key: cert.key, ca: ca.caCert },
    users: { labadmin: 'bench' },
  });
  const resetUsers = () =>
    Promise.all(
      specs.map((n) =>
        nodeExec(dir, n.name, [
          'sh',
          '-c',
          'userdel -r ansiblebcm 2>/dev/null; groupdel ansiblebcm 2>/dev/null; rm -f /etc/sudoers.d/ansiblebcm; true',
        ]),
      ),
    );
  try {
    const nodes = await startNodes({
      dir,
      subnet: SUBNET,
      nodes: specs,
      adminPublicKey: readFileSync(join(dir, 'admin.pub'), 'utf8').trim(),
    });
    const spec = yaml.load(readFileSync(join(ROOT, 'clusters/lab.yaml'), 'utf8')) as Record<string, any>;
    spec.name = 'bench-50';
    spec.bcm = { ...spec.bcm, endpoint: bcm.url, ca_file: ca.caCert, password_file: join(dir, 'bcm-password') };
    spec.nodes = {
      control_plane: ['node-00[1-3]'],
      workers: ['node-0[04-50]'],
      gpu_workers: specs.filter((n) => n.gpus).map((n) => n.name),
    };
    spec.access = {
      ...spec.access,
      admin: { user: 'root', auth: 'key', key_file: join(dir, 'admin') },
      service_user: { public_key_file: join(dir, 'service.pub'), private_key_file: join(dir, 'service') },
      known_hosts_file: join(dir, 'known_hosts'),
      concurrency: CONCURRENCY,
    };
    const specFile = join(dir, 'spec.yaml');
    writeFileSync(specFile, yaml.dump(spec));
    const out = join(dir, 'out');
    const d = await measure(['dist/cli/index.js', 'discover', '--spec', specFile, '--out', out]);
    if (d.code !== 0) throw new Error('bench: discover failed');

    const fanout: number[] = [];
    const fromZero: number[] = [];
    const converged: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < runs; i++) {
      const f = await measure([
        'bench/fanout.ts',
        join(dir, 'nodes.json'),
        join(dir, 'admin'),
        join(dir, 'known_hosts'),
        String(CONCURRENCY),
      ]);
      if (f.code !== 0) throw new Error('bench: fan-out failed');
      fanout.push(f.wallMs / 1000);
      await resetUsers();
      const p = await measure(['dist/cli/index.js', 'prepare', '--spec', specFile, '--out', out]);
      if (p.code !== 0) throw new Error('bench: prepare from zero failed');
      fromZero.push(p.wallMs / 1000);
      rss.push(p.peakRssMb);
      const c = await measure(['dist/cli/index.js', 'prepare', '--spec', specFile, '--out', out]);
      if (c.code !== 0) throw new Error('bench: converged prepare failed');
      converged.push(c.wallMs / 1000);
    }

    const ansibleDir = join(dir, 'ansible');
    await exec('mkdir', ['-p', ansibleDir]);
    writeFileSync(
      join(ansibleDir, 'ansible.cfg'),
      `[defaults]\nforks = 10\nhost_key_checking = True\ninterpreter_python = /usr/bin/python3\nretry_files_enabled = False\n[ssh_connection]\npipelining = True\nssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${join(dir, 'known_hosts')} -o IdentitiesOnly=yes\n`,
    );
    writeFileSync(
      join(ansibleDir, 'hosts.ini'),
      `[lab]\n${nodes.map((n) => `${n.name} ansible_host=${n.address}`).join('\n')}\n[lab:vars]\nansible_user=root\nansible_ssh_private_key_file=${join(dir, 'admin')}\n`,
    );
    writeFileSync(
      join(ansibleDir, 'vars.json'),
      JSON.stringify({ service_public_key: service.publicKey, service_private_key_file: join(dir, 'service') }),
    );
    const ansible: number[] = [];
    for (let i = 0; i < ansibleRuns; i++) {
      await resetUsers();
      const start = performance.now();
      await exec(
        '/usr/bin/ansible-playbook',
        ['-i', 'hosts.ini', join(ROOT, 'bench/ansible/prepare.yml'), '-e', `@${join(ansibleDir, 'vars.json')}`],
        { cwd: ansibleDir, env: { ...process.env, ANSIBLE_CONFIG: join(ansibleDir, 'ansible.cfg') }, maxBuffer: 64 << 20 },
      );
      ansible.push((performance.now() - start) / 1000);
    }
    const med = (v: number[]) => spread(v).median;
    return {
      what: `50 lab nodes (5 with 8 GPUs), concurrency ${CONCURRENCY}; prepare-nodes = bundled CLI: probe + preflight + converge + proof login; Ansible = bench/ansible/prepare.yml (gather_facts, group, user, authorized_key, sudoers with visudo, become check), forks 10, pipelining; fan-out = node-ssh connect + 'true'`,
      fanoutSeconds: spread(fanout),
      prepareFromZeroSeconds: spread(fromZero),
      prepareConvergedSeconds: spread(converged),
      preparePeakRssMb: spread(rss),
      // BENCH_ANSIBLE_RUNS=0 skips the 5-minute Ansible run (and its ratio) while working on prepare-nodes
      ansibleSeconds: ansible.length ? spread(ansible) : null,
      ratios: {
        ansibleOverPrepare: ansible.length ? Number((med(ansible) / med(fromZero)).toFixed(1)) : null,
        prepareOverFanout: Number((med(fromZero) / med(fanout)).toFixed(2)),
      },
      goal: { ansibleOverPrepareAtLeast: 20, prepareOverFanoutAtMost: 1.5 },
    };
  } finally {
    await stopNodes(dir);
    await bcm.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
