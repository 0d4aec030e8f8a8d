// The certificate for the Run:ai domain: the user's (checked before anything is installed), the one already
// in the cluster (kept while it still fits, so re-runs converge), or a generated CA and a separate server
// certificate for the domain. X.509 is read with node:crypto; certificates are made by the openssl binary
// (node:crypto cannot issue them), in the stage's private work folder.
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StageError } from '../util/errors.ts';
import { runProcess } from '../util/process.ts';
import { CA_SECRET } from './objects.ts';

export interface TlsMaterial {
  /** Server certificate followed by its chain (PEM). */
  certChain: string;
  key: string;
  /** The private CA to trust, shipped as runai-ca-cert; absent for a publicly trusted certificate. */
  ca?: string;
  origin: 'generated' | 'provided' | 'reused';
  notAfter: string;
}

const DAY_MS = 86_400_000;
/** A certificate in the cluster is replaced when it has fewer days left than this. */
export const RENEW_DAYS = 30;

export function pemCertificates(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** What is wrong with a certificate + key (+ CA) for `domain` at `now`; [] when it serves. */
export function tlsProblems(domain: string, certChain: string, key: string, ca: string | undefined, now: Date): string[] {
  const chain = pemCertificates(certChain).map(parse);
  const leaf = chain[0];
  if (!leaf || chain.some((c) => !c)) return ['the certificate is not PEM X.509 (-----BEGIN CERTIFICATE-----)'];
  const problems: string[] = [];
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(key))) problems.push('the key does not belong to the certificate');
  } catch {
    problems.push('the key is not a PEM private key');
  }
  if (!leaf.checkHost(domain)) problems.push(`the certificate does not name ${domain} (it names: ${leaf.subjectAltName ?? leaf.subject})`);
  if (new Date(leaf.validTo).getTime() <= now.getTime()) problems.push(`the certificate expired on ${leaf.validTo}`);
  if (new Date(leaf.validFrom).getTime() > now.getTime()) problems.push(`the certificate is not valid before ${leaf.validFrom}`);
  if (ca !== undefined) {
    const caCert = parse(pemCertificates(ca)[0] ?? '');
    const top = chain.at(-1)!;
    if (!caCert) problems.push('the CA is not PEM X.509');
    else if (!(top.checkIssued(caCert) && top.verify(caCert.publicKey)) && top.fingerprint256 !== caCert.fingerprint256)
      problems.push(`the certificate was not issued by the CA (${caCert.subject.replace(/\n/g, ', ')})`);
  }
  return problems;
}

export function notAfter(certChain: string): string {
  const leaf = parse(pemCertificates(certChain)[0] ?? '');
  return leaf ? new Date(leaf.validTo).toISOString() : '';
}

/** Whether the certificate already in the cluster can stay: why not, or undefined when it can. */
export function replaceReason(domain: string, existing: { certChain?: string; key?: string; ca?: string }, now: Date): string | undefined {
  if (!existing.certChain || !existing.key) return 'no certificate in the cluster yet';
  if (!existing.ca) return `no ${CA_SECRET} in the cluster yet`;
  const problems = tlsProblems(domain, existing.certChain, existing.key, existing.ca, now);
  if (problems.length) return `the certificate in the cluster does not serve: ${problems[0]}`;
  const left = new Date(notAfter(existing.certChain)).getTime() - now.getTime();
  if (left < RENEW_DAYS * DAY_MS)
    return `the certificate in the cluster expires within ${RENEW_DAYS} days (${notAfter(existing.certChain)})`;
  return undefined;
}

async function openssl(args: string[]): Promise<void> {
  const r = await runProcess('openssl', args, { missingHint: 'install openssl on the runner, or use runai.tls.source: provided' });
  if (r.code !== 0) throw new StageError(`openssl ${args[0]} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 200)}`);
}

/** A new CA (10 years) and a server certificate signed by it for `domain` and `*.domain` (825 days). */
export async function generateTls(domain: string, clusterName: string, dir: string): Promise<TlsMaterial> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-sha256'];
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-days',
    '3650',
    '-subj',
    `/O=bcmkube/CN=Run:ai CA ${clusterName}`,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await openssl(['req', ...ec, '-subj', `/CN=${domain}`, '-keyout', f('tls.key'), '-out', f('tls.csr')]);
  writeFileSync(
    f('tls.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=DNS:${domain},DNS:*.${domain}`,
      '',
    ].join('\n'),
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    f('tls.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-days',
    '825',
    '-sha256',
    '-extfile',
    f('tls.ext'),
    '-out',
    f('tls.crt'),
  ]);
  const ca = readFileSync(f('ca.pem'), 'utf8');
  const certChain = readFileSync(f('tls.crt'), 'utf8') + ca;
  return { certChain, key: readFileSync(f('tls.key'), 'utf8'), ca, origin: 'generated', notAfter: notAfter(certChain) };
}
