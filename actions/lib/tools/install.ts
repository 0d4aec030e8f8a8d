// Tool downloads: find in the tool cache → download (mirror or upstream) → verify SHA-256 → extract → cache.
// A checksum pinned in the repo or the spec always wins; otherwise the source's published .sha256 is used
// (and said so); a source that publishes none needs a pin.
import * as tc from '@actions/tool-cache';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import pins from './pins.json' with { type: 'json' };
import { StageError } from '../util/errors.ts';

export interface Artifact {
  tool: string;
  version: string;
  url: string;
  /** URL of a published checksum file, when the source has one. */
  checksumUrl?: string;
  /** Key in the pins table: the artifact's file name, e.g. kubespray-v2.27.1.tar.gz. */
  pinKey: string;
  /** For a bare executable (not an archive): the name it gets in the tool cache, made executable. */
  binary?: string;
}

export interface FetchOptions {
  /** PEM of the CA that signs the mirror (air-gapped sites run their own). */
  ca?: string;
  /** Extra pins from the spec (mirrors.sha256), over the repo's table. */
  pins?: Record<string, string>;
  timeoutMs?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/**
 * GET over HTTPS only, following HTTPS redirects (GitHub answers a tag tarball with a 302 to codeload); a
 * redirect to anything but https is refused. The caller checks the SHA-256 of what arrives.
 */
function get(url: string, opts: FetchOptions, sink: (chunk: Buffer) => void, hops = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.protocol !== 'https:') return reject(new StageError(`refusing to download over ${u.protocol} (${url}); use an https mirror`));
    const req = request(u, { ca: opts.ca, timeout: opts.timeoutMs ?? 120_000 }, (res) => {
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status) && res.headers.location) {
        res.resume();
        const next = new URL(res.headers.location, u).toString();
        if (hops >= MAX_REDIRECTS) return reject(new StageError(`download of ${url} redirected more than ${MAX_REDIRECTS} times`));
        if (!next.startsWith('https:'))
          return reject(new StageError(`download of ${url} redirected to ${next}: refusing a redirect away from https`));
        return get(next, opts, sink, hops + 1).then(resolve, reject);
      }
      if (status !== 200) {
        res.resume();
        return reject(new StageError(`download of ${url} answered HTTP ${status}`));
      }
      res.on('data', sink);
      res.on('end', () => resolve());
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new StageError(`download of ${url} timed out`)));
    req.on('error', (e) => reject(e instanceof StageError ? e : new StageError(`download of ${url} failed: ${e.message}`)));
    req.end();
  });
}

async function expectedSha256(a: Artifact, opts: FetchOptions): Promise<{ sha256: string; source: string }> {
  const pinned = opts.pins?.[a.pinKey] ?? (pins as Record<string, string>)[a.pinKey];
  if (pinned) return { sha256: pinned.toLowerCase(), source: 'pinned' };
  if (!a.checksumUrl) {
    throw new StageError(
      `no SHA-256 is pinned for ${a.pinKey} and ${a.url} publishes none: verify the file yourself and add it to mirrors.sha256 in the spec ("${a.pinKey}": "<sha256>")`,
    );
  }
  let text = '';
  await get(a.checksumUrl, opts, (c) => (text += c.toString('utf8')));
  const hex = /\b([0-9a-f]{64})\b/i.exec(text)?.[1];
  if (!hex) throw new StageError(`${a.checksumUrl} holds no SHA-256`);
  return { sha256: hex.toLowerCase(), source: `published at ${a.checksumUrl}` };
}

/**
 * The tool's folder in the tool cache, downloading and verifying it when absent. Returns where it is and
 * whether it came from the cache.
 */
export async function installTool(
  a: Artifact,
  workDir: string,
  opts: FetchOptions = {},
): Promise<{ dir: string; cached: boolean; verifiedBy?: string }> {
  const found = tc.find(a.tool, a.version);
  if (found) return { dir: found, cached: true };
  const expected = await expectedSha256(a, opts);
  // One folder per artifact: tools fetched side by side never see each other's files.
  const own = join(workDir, `${a.tool}-${a.version}`);
  rmSync(own, { recursive: true, force: true });
  mkdirSync(own, { recursive: true });
  const file = join(own, a.pinKey);
  const hash = createHash('sha256');
  const out = createWriteStream(file, { mode: 0o600 });
  // a write error surfaces when the stream ends; the listener keeps it from being an uncaught exception when the
  // download fails first
  out.on('error', () => {});
  try {
    await get(a.url, opts, (c) => {
      hash.update(c);
      out.write(c);
    });
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const actual = hash.digest('hex');
    if (actual !== expected.sha256) {
      throw new StageError(
        `SHA-256 of ${a.url} is ${actual}, expected ${expected.sha256} (${expected.source}); the download was refused and nothing was installed`,
      );
    }
    let extracted: string;
    if (a.pinKey.endsWith('.tar.gz') || a.pinKey.endsWith('.tgz')) {
      extracted = await tc.extractTar(file, join(own, 'extracted'));
    } else {
      extracted = join(own, 'extracted');
      mkdirSync(extracted);
      const bin = join(extracted, a.binary ?? a.pinKey);
      copyFileSync(file, bin);
      if (a.binary) chmodSync(bin, 0o755);
    }
    const dir = await tc.cacheDir(extracted, a.tool, a.version);
    return { dir, cached: false, verifiedBy: expected.source };
  } finally {
    // the file opens asynchronously: remove the folder only once the stream is closed
    if (!out.closed) await new Promise<void>((done) => out.once('close', () => done()).destroy());
    rmSync(own, { recursive: true, force: true });
  }
}

export function kubesprayArtifact(version: string, mirror?: string): Artifact {
  const base = mirror?.replace(/\/$/, '') ?? 'https://github.com/kubernetes-sigs/kubespray/archive/refs/tags';
  return {
    tool: 'kubespray',
    version: version.replace(/^v/, ''),
    url: `${base}/${version}.tar.gz`,
    ...(mirror ? { checksumUrl: `${base}/${version}.tar.gz.sha256` } : {}),
    pinKey: `kubespray-${version}.tar.gz`,
  };
}
