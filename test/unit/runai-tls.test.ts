// The Run:ai domain certificate: generated as a separate CA and server certificate (real openssl), checked with
// node's X.509 when provided, and kept on re-runs only while it still serves the domain.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateTls, pemCertificates, RENEW_DAYS, replaceReason, tlsProblems, type TlsMaterial } from '../../actions/lib/runai/tls.ts';

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'runai-tls-'));
let tls: TlsMaterial;
let other: TlsMaterial;

describe('Run:ai TLS', () => {
  before(async () => {
    tls = await generateTls('runai.example.com', 'dgx', join(dir, 'a'));
    other = await generateTls('runai.example.com', 'dgx', join(dir, 'b'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a CA and a separate server certificate for the domain and its subdomains', () => {
    const [leaf, chainCa] = pemCertificates(tls.certChain).map((p) => new X509Certificate(p));
    const ca = new X509Certificate(tls.ca!);
    assert.equal(chainCa!.fingerprint256, ca.fingerprint256, 'the chain ends with the CA');
    assert.equal(leaf!.ca, false);
    assert.equal(ca.ca, true);
    assert.notEqual(leaf!.fingerprint256, ca.fingerprint256);
    assert.ok(leaf!.checkIssued(ca) && leaf!.verify(ca.publicKey));
    assert.equal(leaf!.subjectAltName, 'DNS:runai.example.com, DNS:*.runai.example.com');
    assert.equal(leaf!.checkHost('ws1.runai.example.com'), '*.runai.example.com', 'workspace subdomains are covered');
    assert.match(leaf!.keyUsage?.join(',') ?? '', /1\.3\.6\.1\.5\.5\.7\.3\.1/, 'serverAuth');
    assert.deepEqual(tlsProblems('runai.example.com', tls.certChain, tls.key, tls.ca, new Date()), []);
    assert.match(tls.key, /BEGIN PRIVATE KEY/);
    assert.doesNotMatch(tls.certChain + tls.ca!, /PRIVATE KEY/, 'no key in what is shipped as certificates');
  });

  it('names each problem of a provided certificate', () => {
    const now = new Date();
    assert.deepEqual(tlsProblems('other.example.com', tls.certChain, tls.key, tls.ca, now), [
      'the certificate does not name other.example.com (it names: DNS:runai.example.com, DNS:*.runai.example.com)',
    ]);
    assert.deepEqual(tlsProblems('runai.example.com', tls.certChain, other.key, tls.ca, now), [
      'the key does not belong to the certificate',
    ]);
    assert.match(
      tlsProblems('runai.example.com', tls.certChain, tls.key, other.ca, now)[0]!,
      /not issued by the CA \(O=bcmkube, CN=Run:ai CA dgx\)/,
    );
    assert.match(tlsProblems('runai.example.com', tls.certChain, tls.key, tls.ca, new Date(Date.now() + 900 * DAY))[0]!, /expired on/);
    assert.deepEqual(tlsProblems('runai.example.com', 'not a cert', tls.key, undefined, now), [
      'the certificate is not PEM X.509 (-----BEGIN CERTIFICATE-----)',
    ]);
    assert.deepEqual(tlsProblems('runai.example.com', tls.certChain, 'garbage', undefined, now), ['the key is not a PEM private key']);
  });

  it('keeps the certificate in the cluster while it serves; replaces it, saying why, when it does not', () => {
    const now = new Date();
    const existing = { certChain: tls.certChain, key: tls.key, ca: tls.ca! };
    assert.equal(replaceReason('runai.example.com', existing, now), undefined);
    assert.equal(replaceReason('runai.example.com', {}, now), 'no certificate in the cluster yet');
    assert.equal(
      replaceReason('runai.example.com', { certChain: tls.certChain, key: tls.key }, now),
      'no runai-ca-cert in the cluster yet',
    );
    assert.match(replaceReason('new.example.com', existing, now)!, /does not serve: the certificate does not name new\.example\.com/);
    assert.match(
      replaceReason('runai.example.com', existing, new Date(Date.now() + (825 - RENEW_DAYS + 1) * DAY))!,
      /expires within 30 days/,
    );
  });
});
