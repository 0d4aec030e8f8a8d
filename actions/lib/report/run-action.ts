// The whole life of an action: typed inputs in, one clear failure message out.
import * as core from '@actions/core';
import { errorMessage } from '../util/errors.ts';
import { actionInputs, type InputSource } from './inputs.ts';
import { ActionsReporter, type Reporter } from './reporter.ts';

export async function runAction(body: (inputs: InputSource, reporter: Reporter) => Promise<unknown>): Promise<void> {
  const reporter = new ActionsReporter();
  try {
    await body(actionInputs(), reporter);
  } catch (err) {
    core.setFailed(reporter.redact(errorMessage(err)));
  }
}
