// Inputs come from action.yml inputs (INPUT_* via @actions/core) or from CLI flags; each stage parses them
// once into a typed object through this one interface, so the action and the CLI behave identically.
import * as core from '@actions/core';
import { readFileSync } from 'node:fs';
import { STAGES } from '../stages/catalog.ts';
import { UsageError } from '../util/errors.ts';
import type { Reporter } from './reporter.ts';

export interface InputSource {
  /** The raw value, '' when absent. */
  get(name: string): string;
  /** How the user names this input in errors: `input 'spec'` or `--spec`. */
  label(name: string): string;
}

/** Action input → the deploy.yml / plan.yml secret that fills it (from the stage catalog). */
const WORKFLOW_SECRETS = new Map(
  STAGES.flatMap((s) => s.inputs.flatMap((i) => (i.workflowSecret ? [[i.name, i.workflowSecret] as const] : []))),
);

/**
 * How an action names its input. A secret input that arrived empty says where it comes from: a reusable workflow gets
 * only the secrets its caller passes by name, and an environment's secret arrives empty otherwise, without an error.
 */
export function actionInputLabel(name: string, value: string): string {
  const secret = WORKFLOW_SECRETS.get(name);
  if (!secret || value !== '') return `input '${name}'`;
  return `input '${name}' (empty: through bcmkube's deploy.yml or plan.yml it is the secret ${secret}, which the calling workflow must pass by name under secrets: — a secret kept only on an environment too)`;
}

export function actionInputs(): InputSource {
  return {
    get: (name) => core.getInput(name),
    label: (name) => actionInputLabel(name, core.getInput(name)),
  };
}

/** CLI flags use the action input names (`--bcm-password-file` ⇔ input `bcm-password-file`). */
export function flagInputs(flags: Record<string, string>): InputSource {
  return {
    get: (name) => flags[name] ?? '',
    label: (name) => `--${name}`,
  };
}

export function requiredInput(src: InputSource, name: string, what: string): string {
  const v = src.get(name).trim();
  if (!v) throw new UsageError(`${src.label(name)} is required: ${what}`);
  return v;
}

export function booleanInput(src: InputSource, name: string, fallback: boolean): boolean {
  const v = src.get(name).trim().toLowerCase();
  if (!v) return fallback;
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  throw new UsageError(`${src.label(name)} must be true or false, got '${v}'`);
}

export function integerInput(src: InputSource, name: string, fallback: number, min: number, max: number): number {
  const v = src.get(name).trim();
  if (!v) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${src.label(name)} must be a whole number from ${min} to ${max}, got '${v}'`);
  return n;
}

export function choiceInput<T extends string>(src: InputSource, name: string, choices: readonly T[], fallback: T): T {
  const v = src.get(name).trim();
  if (!v) return fallback;
  if (!(choices as readonly string[]).includes(v))
    throw new UsageError(`${src.label(name)} must be one of ${choices.join(', ')}, got '${v}'`);
  return v as T;
}

/**
 * A secret given directly (input `name`) or as a file (input `name-file`, or a path from the spec).
 * Masked the moment it is read. Returns '' when none is given.
 */
export function secretInput(src: InputSource, name: string, reporter: Reporter, specFile?: string): string {
  let value = src.get(name);
  const file = src.get(`${name}-file`).trim() || specFile || '';
  if (!value && file) {
    try {
      value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new UsageError(`cannot read ${name} from '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  if (value) reporter.secret(value);
  return value;
}

/** A comma- or newline-separated input as a list, blanks dropped. */
export function listInput(value: string): string[] {
  return value
    .split(/[,\n]/)
    .map((v) => v.trim())
    .filter(Boolean);
}

/** Where a stage writes its inventory and files: input out-dir, else .bcmkube/<cluster>/ (git-ignored). */
export function outDirInput(src: InputSource, cluster: string): string {
  return src.get('out-dir').trim() || `.bcmkube/${cluster}`;
}
