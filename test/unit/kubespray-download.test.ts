// Downloading Kubespray: GitHub answers a tag tarball with a redirect (302 to codeload), so HTTPS redirects are
// followed; a redirect to http is refused, and the SHA-256 is checked on what finally arrives.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installTool, kubesprayArtifact } from '../../actions/lib/tools/install.ts';
import { ensureLabCa, issueCert } from '../lab/pki.ts';
import { tempDir } from '../temp-dirs.ts';

const dir = tempDir('ks-download-');
const ca = ensureLabCa(join(dir, 'pki'));
mkdirSync(join(dir, 'src/kubespray-2.27.1'), { recursive: true });
writeFileSync(join(dir, 'src/kubespray-2.27.1/cluster.yml'), '[]\n');
execFileSync('tar', ['-C', join(dir, 'src'), '-czf', join(dir, 'ks.tar.gz'), 'kubespray-2.27.1']);
const tarball = readFileSync(join(dir, 'ks.tar.gz'));
const sha = createHash('sha256').update(tarball).digest('hex');
let server: Server;
let base = '';

describe('Kubespray download through redirects', () => {
  before(async () => {
    const cert = issueCert(ca, 'dl', ['127.0.0.1'], 'server');
    server = createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
      const to = (location: string) => res.writeHead(302, { location }).end();
      if (req.url === '/gh/v2.27.1.tar.gz') return to('/codeload/v2.27.1.tar.gz');
      if (req.url === '/codeload/v2.27.1.tar.gz') return res.writeHead(200).end(tarball);
      if (req.url === '/http/v2.27.1.tar.gz')
        return to(`http://127.0.0.1:${(server.address() as AddressInfo).port}/codeload/v2.27.1.tar.gz`);
      if (req.url === '/loop/v2.27.1.tar.gz') return to('/loop/v2.27.1.tar.gz');
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const fetchFrom = (path: string, cache: string, pin = sha) => {
    process.env.RUNNER_TOOL_CACHE = join(dir, cache);
    return installTool(kubesprayArtifact('v2.27.1', `${base}/${path}`), join(dir, 'work'), {
      ca: readFileSync(ca.caCert, 'utf8'),
      pins: { 'kubespray-v2.27.1.tar.gz': pin },
    });
  };

  it('follows an HTTPS redirect to the file, checks its SHA-256 and installs it', async () => {
    const got = await fetchFrom('gh', 'c1');
    assert.equal(got.cached, false);
    assert.ok(existsSync(join(got.dir, 'kubespray-2.27.1/cluster.yml')));
  });
  it('still refuses what arrives through a redirect when its SHA-256 does not match the pin', async () => {
    await assert.rejects(
      fetchFrom('gh', 'c4', '0'.repeat(64)),
      /SHA-256 of https:\S+\/gh\/v2\.27\.1\.tar\.gz is [0-9a-f]{64}, expected 0{64}/,
    );
  });
  it('refuses a redirect to http', async () => {
    await assert.rejects(
      fetchFrom('http', 'c2'),
      /redirected to http:\/\/127\.0\.0\.1:\d+\/codeload\/v2\.27\.1\.tar\.gz: refusing a redirect away from https/,
    );
  });
  it('gives up on a redirect loop', async () => {
    await assert.rejects(fetchFrom('loop', 'c3'), /redirected more than 5 times/);
  });
});
