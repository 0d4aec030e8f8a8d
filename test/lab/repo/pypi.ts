// The lab's Python package index (PEP 503 "simple" layout) for the venv the kubespray stage builds from
// Kubespray's requirements.txt. It serves the REAL wheels of those pins (ansible 9.13.0 → ansible-core 2.16.x,
// cryptography, jmespath, netaddr and their dependencies), downloaded once from PyPI with `pip download` into the
// git-ignored .tools/ and reused from there, so the stage's `mirrors.pypi` path installs real Ansible.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEP 503 project name: lower case, runs of '-', '_' and '.' become one '-'. */
export function normalizedProject(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The project of a wheel file (`ansible_core-2.16.20-py3-none-any.whl` → `ansible-core`). */
export function wheelProject(file: string): string {
  return normalizedProject(file.split('-')[0]!);
}

/**
 * The wheels of `requirements` for this machine's python3, downloaded from PyPI once into `cacheDir` (a folder
 * per requirements file content). Returns the wheel files.
 */
export async function ensureWheels(requirements: string, cacheRoot: string): Promise<string[]> {
  const key = createHash('sha256').update(readFileSync(requirements)).digest('hex').slice(0, 16);
  const { stdout: py } = await run('python3', ['-c', 'import sys; print("py%d.%d" % sys.version_info[:2])']);
  const dir = join(cacheRoot, `${key}-${py.trim()}`);
  if (!existsSync(join(dir, '.complete'))) {
    const tmp = `${dir}.partial`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      await run(
        'python3',
        ['-m', 'pip', 'download', '--disable-pip-version-check', '--no-input', '--only-binary=:all:', '--dest', tmp, '-r', requirements],
        { maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
      );
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(
        `the lab's PyPI mirror needs the real wheels of ${requirements}, downloaded once from PyPI (python3 -m pip download): ${(err as Error).message.split('\n').slice(-3).join(' ')}`,
      );
    }
    writeFileSync(join(tmp, '.complete'), '');
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.whl'))
    .sort()
    .map((f) => join(dir, f));
}

/** Lays out the simple index under <dir>/pypi; returns the served paths of the wheels. */
export function buildLabPypi(dir: string, wheels: string[]): string[] {
  mkdirSync(join(dir, 'pypi/files'), { recursive: true });
  const byProject = new Map<string, string[]>();
  for (const wheel of wheels) {
    const file = wheel.split('/').at(-1)!;
    copyFileSync(wheel, join(dir, 'pypi/files', file));
    byProject.set(wheelProject(file), [...(byProject.get(wheelProject(file)) ?? []), file]);
  }
  const page = (links: string[]) => `<!DOCTYPE html><html><body>${links.join('\n')}</body></html>\n`;
  for (const [project, files] of byProject) {
    mkdirSync(join(dir, `pypi/simple/${project}`), { recursive: true });
    const links = files.map((f) => {
      const sha = createHash('sha256')
        .update(readFileSync(join(dir, 'pypi/files', f)))
        .digest('hex');
      return `<a href="../../files/${f}#sha256=${sha}">${f}</a>`;
    });
    writeFileSync(join(dir, `pypi/simple/${project}/index.html`), page(links));
  }
  writeFileSync(join(dir, 'pypi/simple/index.html'), page([...byProject.keys()].sort().map((p) => `<a href="${p}/">${p}</a>`)));
  return wheels.map((w) => `pypi/files/${w.split('/').at(-1)!}`);
}
