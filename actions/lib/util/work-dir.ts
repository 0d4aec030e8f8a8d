// A private folder per stage under RUNNER_TEMP for keys, kubeconfigs and downloads: removed by the stage
// when it ends and, should the job be cancelled first, by the action's post step.
import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The runner's tool cache and temp folder (set by Actions; the CLI uses .bcmkube/). */
export function runnerDirs(): { toolCache: string; temp: string } {
  process.env.RUNNER_TOOL_CACHE ||= resolve('.bcmkube/tool-cache');
  process.env.RUNNER_TEMP ||= resolve('.bcmkube/tmp');
  return { toolCache: process.env.RUNNER_TOOL_CACHE, temp: process.env.RUNNER_TEMP };
}

const WORK_DIRS_STATE = 'work-dirs';
const opened: string[] = [];

export interface WorkDir {
  path: string;
  /** Writes a file only the runner's user can read. */
  secretFile(name: string, content: string): string;
  remove(): void;
}

/**
 * A fresh 0700 folder under RUNNER_TEMP for keys, kubeconfigs and downloads. Removed by remove() (call it in a
 * finally) and, should the job be killed first, by the action's post step (removeWorkDirs).
 */
export function openWorkDir(stage: string): WorkDir {
  const path = join(runnerDirs().temp, `bcmkube-${stage}-${randomBytes(6).toString('hex')}`);
  mkdirSync(path, { recursive: true, mode: 0o700 });
  opened.push(path);
  if (process.env.GITHUB_STATE) core.saveState(WORK_DIRS_STATE, JSON.stringify(opened));
  return {
    path,
    secretFile(name, content) {
      const file = join(path, name);
      writeFileSync(file, content, { mode: 0o600 });
      return file;
    },
    remove() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** The post step: removes every work folder the main step recorded (only folders under RUNNER_TEMP). */
export function removeWorkDirs(): string[] {
  const temp = resolve(runnerDirs().temp);
  let dirs: unknown;
  try {
    dirs = JSON.parse(core.getState(WORK_DIRS_STATE) || '[]');
  } catch {
    dirs = [];
  }
  const removed: string[] = [];
  for (const dir of Array.isArray(dirs) ? dirs : []) {
    if (typeof dir !== 'string' || !resolve(dir).startsWith(`${temp}/bcmkube-`)) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
