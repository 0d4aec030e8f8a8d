// Where the upstream conformance suite finds real upstream data: ../shared/upstream beside the repository
// (README "Tests"). It is read in place and never copied into the repository.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const UPSTREAM_DIR = resolve(process.env.BCMKUBE_UPSTREAM_DIR ?? join(repoRoot, '..', 'shared', 'upstream'));

if (!existsSync(join(UPSTREAM_DIR, 'README.md'))) {
  throw new Error(
    `upstream data not found at ${UPSTREAM_DIR}: npm run test:upstream reads ../shared/upstream beside the repository ` +
      '(or BCMKUBE_UPSTREAM_DIR); see README "Tests"',
  );
}

/** Absolute path of a file under the upstream data folder, e.g. upstreamPath('charts', 'gpu-operator', 'values.yaml'). */
export function upstreamPath(...parts: string[]): string {
  return join(UPSTREAM_DIR, ...parts);
}

export function readUpstream(...parts: string[]): string {
  return readFileSync(upstreamPath(...parts), 'utf8');
}

export function readUpstreamJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readUpstream(...parts)) as T;
}
