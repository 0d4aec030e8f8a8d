// The lab's certificate authority: real X.509 made by the openssl CLI, so every simulator speaks real TLS
// and every client verifies it against a CA file, as it must against BCM's own CA in production.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LabCa {
  dir: string;
  caCert: string;
  caKey: string;
}

export interface IssuedCert {
  cert: string;
  key: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Creates (once) a CA under dir: ca.pem + ca.key. Idempotent. */
export function ensureLabCa(dir: string, commonName = 'bcmkube lab CA'): LabCa {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caCert = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  if (!existsSync(caCert) || !existsSync(caKey)) {
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-sha256',
      '-days',
      '3650',
      '-subj',
      `/CN=${commonName}`,
      '-keyout',
      caKey,
      '-out',
      caCert,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }
  return { dir, caCert, caKey };
}

/**
 * Issues (once) a leaf certificate named `name` signed by the CA. `sans` are DNS names or IPs;
 * kind 'server' or 'client' sets extendedKeyUsage. Idempotent: an existing pair for the same names is reused.
 */
export function issueCert(ca: LabCa, name: string, sans: string[], kind: 'server' | 'client'): IssuedCert {
  const cert = join(ca.dir, `${name}.pem`);
  const key = join(ca.dir, `${name}.key`);
  const csr = join(ca.dir, `${name}.csr`);
  const ext = join(ca.dir, `${name}.ext`);
  const sanList = sans.map((s) => (/^[0-9.]+$/.test(s) || s.includes(':') ? `IP:${s}` : `DNS:${s}`)).join(',');
  const extText =
    [
      'basicConstraints=CA:FALSE',
      `extendedKeyUsage=${kind === 'server' ? 'serverAuth' : 'clientAuth'}`,
      ...(sanList ? [`subjectAltName=${sanList}`] : []),
    ].join('\n') + '\n';
  // reused only while it names the same hosts: a lab upgraded to new names gets a new certificate
  if (existsSync(cert) && existsSync(key) && existsSync(ext) && readFileSync(ext, 'utf8') === extText) return { cert, key };
  writeFileSync(ext, extText);
  openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-sha256',
    '-subj',
    `/CN=${sans[0] ?? name}`,
    '-keyout',
    key,
    '-out',
    csr,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.caCert,
    '-CAkey',
    ca.caKey,
    '-CAcreateserial',
    '-days',
    '825',
    '-sha256',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key };
}
