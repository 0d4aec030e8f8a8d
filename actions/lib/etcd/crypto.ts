// Snapshots are sealed before they leave the runner's memory: AES-256-GCM under a key derived (scrypt, a
// fresh salt per file) from the etcd-backup-key secret. GCM's tag makes a damaged or foreign file fail to
// open, so a restore refuses it before anything on the cluster is touched.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { StageError, UsageError } from '../util/errors.ts';

const MAGIC = Buffer.from('BCMKETC1');
const SALT = 16;
const IV = 12;
const TAG = 16;
const HEADER = MAGIC.length + SALT + IV + TAG;
export const MIN_KEY_LENGTH = 16;

function key(secret: string, salt: Buffer): Buffer {
  if (secret.length < MIN_KEY_LENGTH)
    throw new UsageError(
      `the etcd backup key must be at least ${MIN_KEY_LENGTH} characters (pass a long random secret as etcd-backup-key, e.g. \`openssl rand -base64 32\`)`,
    );
  return scryptSync(secret, salt, 32);
}

export function sealSnapshot(plain: Buffer, secret: string): Buffer {
  const salt = randomBytes(SALT);
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key(secret, salt), iv);
  cipher.setAAD(MAGIC);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([MAGIC, salt, iv, cipher.getAuthTag(), body]);
}

/** The snapshot inside a sealed file; throws naming the file when it is damaged or sealed with another key. */
export function openSnapshot(sealed: Buffer, secret: string, name: string): Buffer {
  if (sealed.length < HEADER || !sealed.subarray(0, MAGIC.length).equals(MAGIC))
    throw new StageError(`${name} is not a bcmkube etcd snapshot (no BCMKETC1 header): nothing was changed`);
  const salt = sealed.subarray(MAGIC.length, MAGIC.length + SALT);
  const iv = sealed.subarray(MAGIC.length + SALT, MAGIC.length + SALT + IV);
  const tag = sealed.subarray(MAGIC.length + SALT + IV, HEADER);
  const decipher = createDecipheriv('aes-256-gcm', key(secret, salt), iv);
  decipher.setAAD(MAGIC);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(HEADER)), decipher.final()]);
  } catch {
    throw new StageError(
      `${name} failed its integrity check (AES-GCM): the file is damaged or was sealed with another etcd-backup-key; nothing was changed`,
    );
  }
}
