// A small lab cluster for stage tests and benchmarks: real nodes, a BCM simulator serving them, an admin
// key, the service keypair, and a spec (clusters/lab.yaml pointed at all of it) to adjust per test.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { generateServiceKeypair } from '../../actions/lib/stages/keygen.ts';
import { buildBcmFixture } from './bcm-sim/fixture.ts';
import { startBcmSimulator, type BcmSimulator } from './bcm-sim/server.ts';
import { startNodes, stopNodes, type LabNodeSpec, type NodesOptions } from './nodes.ts';
import { ensureLabCa, issueCert, type LabCa } from './pki.ts';

const exec = promisify(execFile);

export interface LabCluster {
  dir: string;
  subnet: number;
  ca: LabCa;
  bcm: BcmSimulator;
  /** Writes <dir>/<name>.yaml: clusters/lab.yaml aimed at this cluster, then `mutate`; returns its path. */
  writeSpec(name: string, mutate?: (spec: Record<string, any>) => void): string;
  close(): Promise<void>;
}

export async function startLabCluster(opts: {
  dir: string;
  subnet: number;
  nodes: LabNodeSpec[];
  passwordAdmin?: NodesOptions['passwordAdmin'];
  /** The BCM password of labadmin (a canary in the secret-leak tests). */
  bcmPassword?: string;
}): Promise<LabCluster> {
  const { dir, subnet } = opts;
  const bcmPassword = opts.bcmPassword ?? 'lab-bcm-pw';
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lab-admin', '-f', join(dir, 'admin')]);
  const service = generateServiceKeypair('ed25519', 'bcmkube-service');
  await exec('mkdir', ['-p', join(dir, 'keys')]);
  writeFileSync(join(dir, 'keys/service'), service.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'keys/service.pub'), `${service.publicKey}\n`);
  const ca = ensureLabCa(join(dir, 'pki'));
  const cert = issueCert(ca, 'bcm', ['127.0.0.1'], 'server');
  writeFileSync(join(dir, 'bcm-password'), bcmPassword, { mode: 0o600 });
  const bcm = await startBcmSimulator({
    fixture: buildBcmFixture(
      opts.nodes.map((n) => ({
        hostname: n.name,
        index: n.index,
        productionIp: `127.0.${subnet}.${n.index}`,
        category: n.gpus ? 'dgx-h100' : 'cpu-nodes',
      })),
      { version: 'bcm11', subnet },
    ),
    tls: { cert: cert.cert, key: cert.key, ca: ca.caCert },
    users: { labadmin: bcmPassword },
  });
  try {
    await startNodes({
      dir,
      subnet,
      nodes: opts.nodes,
      adminPublicKey: readFileSync(join(dir, 'admin.pub'), 'utf8').trim(),
      ...(opts.passwordAdmin ? { passwordAdmin: opts.passwordAdmin } : {}),
    });
  } catch (err) {
    await bcm.close();
    throw err;
  }
  return {
    dir,
    subnet,
    ca,
    bcm,
    writeSpec(name, mutate = () => {}) {
      const s = yaml.load(readFileSync('clusters/lab.yaml', 'utf8')) as Record<string, any>;
      s.bcm = { ...s.bcm, endpoint: bcm.url, ca_file: ca.caCert, password_file: join(dir, 'bcm-password') };
      s.access = {
        ...s.access,
        admin: { user: 'root', auth: 'key', key_file: join(dir, 'admin') },
        service_user: { public_key_file: join(dir, 'keys/service.pub'), private_key_file: join(dir, 'keys/service') },
        known_hosts_file: join(dir, 'known_hosts'),
      };
      mutate(s);
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, yaml.dump(s));
      return file;
    },
    async close() {
      await stopNodes(dir);
      await bcm.close();
    },
  };
}
