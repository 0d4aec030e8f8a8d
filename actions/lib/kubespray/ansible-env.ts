// The Ansible that runs Kubespray: either the user's (ansible-playbook-path) or a Python venv with Kubespray's
// requirements.txt, built once per Kubespray version and Python version in the tool cache. Either way its
// ansible-core must be inside the range Kubespray itself enforces (playbooks/ansible_version.yml), checked
// before any playbook runs so a mismatch fails in seconds, not after the first play.
import * as tc from '@actions/tool-cache';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import * as semver from 'semver';
import { StageError, UsageError } from '../util/errors.ts';
import { runProcess } from '../util/process.ts';
import { runnerDirs } from '../util/work-dir.ts';

export interface AnsibleRange {
  /** Lowest supported ansible-core (inclusive). */
  min: string;
  /** First unsupported ansible-core (exclusive), when Kubespray sets one. */
  max?: string;
}

/** Kubespray's supported ansible-core range, from playbooks/ansible_version.yml; undefined if it sets none. */
export function kubesprayAnsibleRange(kubesprayRoot: string): AnsibleRange | undefined {
  const file = ['playbooks/ansible_version.yml', 'playbooks/ansible_version.yaml'].map((f) => join(kubesprayRoot, f)).find(existsSync);
  if (!file) return undefined;
  const text = JSON.stringify(yaml.load(readFileSync(file, 'utf8')));
  const version = (name: string) => semver.coerce(new RegExp(`"${name}":"?([0-9][0-9.]*)`).exec(text)?.[1] ?? '')?.version;
  const min = version('minimal_ansible_version');
  if (!min) return undefined;
  const max = version('maximal_ansible_version');
  return max ? { min, max } : { min };
}

/** The ansible-core version in `ansible-playbook --version` output ("ansible-playbook [core 2.16.14]"). */
export function parseAnsibleCoreVersion(text: string): string | undefined {
  const m = /^ansible-playbook \[core ([0-9][^\]\s]*)\]/m.exec(text) ?? /^ansible-playbook ([0-9][^\s]*)/m.exec(text);
  return m ? (semver.coerce(m[1]!)?.version ?? undefined) : undefined;
}

/** Why this ansible-core cannot run this Kubespray, or undefined when it can. */
export function ansibleMismatch(version: string, range: AnsibleRange): string | undefined {
  if (semver.lt(version, range.min)) return `ansible-core ${version} is older than ${range.min}`;
  if (range.max && semver.gte(version, range.max)) return `ansible-core ${version} is not below ${range.max}`;
  return undefined;
}

export interface AnsibleChoice {
  /** The ansible-playbook to run. */
  bin: string;
  version: string;
  /** How it was obtained, for the log and summary. */
  origin: string;
}

async function ansibleVersionOf(bin: string): Promise<string> {
  const r = await runProcess(bin, ['--version'], { missingHint: 'install ansible-core, or pass ansible-playbook-path' });
  const version = parseAnsibleCoreVersion(r.stdout);
  if (r.code !== 0 || !version)
    throw new UsageError(`${bin} --version did not report an ansible-core version (exit ${r.code}): ${r.stderr.trim().slice(0, 200)}`);
  return version;
}

async function pythonVersion(python: string): Promise<string> {
  const r = await runProcess(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
    missingHint: 'install Python 3 with its venv module (Debian: apt-get install python3-venv), or pass ansible-playbook-path',
  });
  const v = r.stdout.trim();
  if (r.code !== 0 || !/^\d+\.\d+$/.test(v)) throw new UsageError(`${python} does not run: ${r.stderr.trim().slice(0, 200)}`);
  return v;
}

/**
 * With mirrors.pypi set, pip sees only our index and CA: the runner's pip configuration is ignored, and
 * REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE are dropped because they override --cert inside pip's HTTP library.
 * Without it, the runner's own pip configuration (often a corporate index) is respected.
 */
export function pipEnvironment(opts: { indexUrl?: string; caFile?: string }): NodeJS.ProcessEnv {
  if (!opts.indexUrl) return { ...process.env };
  const drop = (k: string) => /^PIP_/.test(k) || (opts.caFile !== undefined && /^(REQUESTS|CURL)_CA_BUNDLE$/.test(k));
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !drop(k))), PIP_CONFIG_FILE: '/dev/null' };
}

/**
 * A venv with Kubespray's requirements.txt, cached in the tool cache as kubespray-venv/<version>-py<X.Y>. Venvs are
 * not relocatable, so it is built in place and marked complete only after pip succeeds.
 */
async function kubesprayVenv(
  kubesprayRoot: string,
  kubesprayVersion: string,
  opts: { python: string; indexUrl?: string; caFile?: string; workDir: string; log: (line: string) => void },
): Promise<{ bin: string; cached: boolean; key: string }> {
  const py = await pythonVersion(opts.python);
  const key = `${semver.coerce(kubesprayVersion)?.version ?? kubesprayVersion}-py${py}`;
  const found = tc.find('kubespray-venv', key);
  if (found) return { bin: join(found, 'bin/ansible-playbook'), cached: true, key };
  const dir = join(runnerDirs().toolCache, 'kubespray-venv', key, 'x64');
  rmSync(dir, { recursive: true, force: true });
  const created = await runProcess(opts.python, ['-m', 'venv', dir]);
  if (created.code !== 0)
    throw new UsageError(
      `could not create a Python ${py} venv (${created.stderr.trim().slice(0, 200)}); install python3-venv, or pass ansible-playbook-path`,
    );
  const requirements = join(kubesprayRoot, 'requirements.txt');
  // --no-compile: Python compiles what Ansible imports on first use; compiling all of ansible's collections up
  // front doubles the install time
  const pipArgs = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--no-compile', '-r', requirements];
  if (opts.indexUrl) pipArgs.push('--index-url', opts.indexUrl);
  if (opts.caFile) pipArgs.push('--cert', opts.caFile);
  const pip = await runProcess(join(dir, 'bin/python'), pipArgs, {
    env: { ...pipEnvironment(opts), PIP_CACHE_DIR: join(opts.workDir, 'pip-cache') },
    onLine: opts.log,
  });
  if (pip.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    const tail = pip.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300);
    throw new StageError(
      `pip could not install Kubespray's requirements.txt from ${opts.indexUrl ?? 'the default index (pypi.org)'}: ${tail}; for an air-gapped site set mirrors.pypi`,
    );
  }
  if (!existsSync(join(dir, 'bin/ansible-playbook')))
    throw new StageError(`Kubespray's requirements.txt installed no ansible-playbook into the venv (${dir})`);
  writeFileSync(`${dir}.complete`, '');
  return { bin: join(dir, 'bin/ansible-playbook'), cached: false, key };
}

/** The ansible-playbook for this Kubespray, checked against the ansible-core range Kubespray supports. */
export async function kubesprayAnsible(
  kubesprayRoot: string,
  kubesprayVersion: string,
  opts: { ansiblePlaybookPath?: string; python?: string; indexUrl?: string; caFile?: string; workDir: string; log: (line: string) => void },
): Promise<AnsibleChoice> {
  let bin: string;
  let origin: string;
  if (opts.ansiblePlaybookPath) {
    bin = opts.ansiblePlaybookPath;
    origin = `ansible-playbook-path ${bin}`;
  } else {
    const venv = await kubesprayVenv(kubesprayRoot, kubesprayVersion, { ...opts, python: opts.python ?? 'python3' });
    bin = venv.bin;
    origin = `${venv.cached ? 'cached' : 'new'} venv kubespray-venv/${venv.key}`;
  }
  const version = await ansibleVersionOf(bin);
  const range = kubesprayAnsibleRange(kubesprayRoot);
  const mismatch = range && ansibleMismatch(version, range);
  if (mismatch)
    throw new UsageError(
      `Kubespray ${kubesprayVersion} needs ansible-core >= ${range.min}${range.max ? ` and < ${range.max}` : ''} (playbooks/ansible_version.yml), but ${origin}: ${mismatch}; ${opts.ansiblePlaybookPath ? 'point ansible-playbook-path at a matching Ansible, or leave it empty to use a venv with the requirements.txt of Kubespray' : 'check the packages on the mirror'}`,
    );
  return { bin, version, origin };
}
