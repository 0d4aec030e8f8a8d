// The whole life of an action: typed inputs in, one clear failure message out; then, in the post step, the
// stage's private work folders are removed even when the main step was cancelled or failed.
import * as core from '@actions/core';
import { errorMessage } from '../util/errors.ts';
import { removeWorkDirs } from '../util/work-dir.ts';
import { actionInputs, type InputSource } from './inputs.ts';
import { ActionsReporter, type Reporter } from './reporter.ts';

export async function runAction(body: (inputs: InputSource, reporter: Reporter) => Promise<unknown>): Promise<void> {
  if (core.getState('is-post') === 'true') {
    const removed = removeWorkDirs();
    core.info(removed.length ? `removed ${removed.length} temporary folder(s) under RUNNER_TEMP` : 'nothing to clean up');
    return;
  }
  core.saveState('is-post', 'true');
  const reporter = new ActionsReporter();
  try {
    await body(actionInputs(), reporter);
  } catch (err) {
    core.setFailed(reporter.redact(errorMessage(err)));
  }
}
