// `bcmkube keygen`: the service user's keypair, made once and stored as secrets. The actions never make
// a key silently: a key baked into BCM images must stay the same across runs.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ssh2 from 'ssh2';
import type { Reporter } from '../report/reporter.ts';
import { errorMessage, UsageError } from '../util/errors.ts';

export interface GeneratedKeypair {
  privateKey: string;
  publicKey: string;
}

export function generateServiceKeypair(type: 'ed25519' | 'rsa', comment: string): GeneratedKeypair {
  const pair =
    type === 'rsa'
      ? ssh2.utils.generateKeyPairSync('rsa', { bits: 4096, comment })
      : ssh2.utils.generateKeyPairSync('ed25519', { comment });
  return { privateKey: pair.private, publicKey: pair.public.trim() };
}

export async function runKeygen(argv: string[], reporter: Reporter): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        type: { type: 'string', default: 'ed25519' },
        out: { type: 'string', default: '.bcmkube/keys' },
        name: { type: 'string', default: 'service' },
        comment: { type: 'string', default: 'bcmkube-service' },
        force: { type: 'boolean', default: false },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  if (values.help) {
    reporter.info(
      'usage: bcmkube keygen [--type ed25519|rsa] [--out DIR] [--name service] [--comment TEXT] [--force]\n\nWrites DIR/NAME (private, 0600) and DIR/NAME.pub in OpenSSH format. RSA keys are 4096 bits.',
    );
    return 0;
  }
  if (values.type !== 'ed25519' && values.type !== 'rsa') throw new UsageError(`--type must be ed25519 or rsa, got '${values.type}'`);
  if (!/^[A-Za-z0-9._-]+$/.test(values.name)) throw new UsageError('--name may hold only letters, digits, dot, dash and underscore');
  const privPath = join(values.out, values.name);
  if (existsSync(privPath) && !values.force)
    throw new UsageError(`${privPath} exists; keep it (nodes and BCM images trust it) or pass --force to replace it`);
  const pair = generateServiceKeypair(values.type, values.comment);
  mkdirSync(values.out, { recursive: true, mode: 0o700 });
  writeFileSync(privPath, pair.privateKey, { mode: 0o600 });
  writeFileSync(`${privPath}.pub`, `${pair.publicKey}\n`, { mode: 0o644 });
  reporter.info(
    [
      `wrote ${privPath} (private key, mode 0600) and ${privPath}.pub`,
      '',
      'Store them once, then reuse them on every run:',
      `  - the private key as the repository secret SERVICE_SSH_KEY (gh secret set SERVICE_SSH_KEY < ${privPath})`,
      `  - the public key in the spec: access.service_user.public_key: "${pair.publicKey}"`,
      '  - and bake the same public key into BCM software images (playbooks/bake-service-user.yml).',
    ].join('\n'),
  );
  return 0;
}
