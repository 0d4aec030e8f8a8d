// Loading a cluster spec: safe YAML → JSON Schema (defaults applied) → semantic checks. Every problem is
// reported at once, each with its path (`nodes.control_plane[1]`), the bad value and what is allowed.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import * as yaml from 'js-yaml';
import schema from '../../../schema/cluster-spec.schema.json' with { type: 'json' };
import { UsageError } from '../util/errors.ts';
import { nearest } from '../util/similar.ts';
import { checkSemantics } from './semantics.ts';
import type { ClusterSpec, SpecProblem } from './types.ts';

export const MAX_SPEC_BYTES = 1024 * 1024;

export interface LoadedSpec {
  spec: ClusterSpec;
  /** Warnings only (a spec with errors throws SpecError). */
  problems: SpecProblem[];
  /** sha256 of the canonical JSON of the spec with defaults applied. */
  hash: string;
}

export class SpecError extends UsageError {
  override name = 'SpecError';
  readonly problems: SpecProblem[];
  constructor(source: string, problems: SpecProblem[]) {
    const errors = problems.filter((p) => p.severity === 'error');
    super(`${source}: ${errors.length} problem(s) in the cluster spec:\n${describeProblems(problems)}`);
    this.problems = problems;
  }
}

export function describeProblems(problems: SpecProblem[]): string {
  return problems.map((p) => `  ${p.severity === 'error' ? '✗' : '!'} ${p.path || '(spec)'}: ${p.message}`).join('\n');
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);

const SECRET_KEY = /(password|passwd|secret|token|private_key|privatekey|client_key)$/i;

/** `/nodes/control_plane/1` → `nodes.control_plane[1]` */
export function toPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

function valueAt(data: unknown, pointer: string): unknown {
  let v: unknown = data;
  for (const seg of pointer.split('/').slice(1))
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return v;
}

export function showValue(value: unknown, path: string): string {
  if (SECRET_KEY.test(path.split('.').at(-1) ?? '')) return '(hidden)';
  const text = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  return text === undefined ? 'nothing' : text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};
const FORMAT_WORDS: Record<string, string> = { uri: 'a URL', hostname: 'a DNS name' };

function schemaAt(pointer: string): Record<string, unknown> | undefined {
  let node: unknown = schema;
  for (const seg of pointer.split('/').slice(1)) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return node as Record<string, unknown> | undefined;
}

/** One readable problem per ajv error; oneOf noise is collapsed to the selector's own message. */
function translate(errors: ErrorObject[], data: unknown): SpecProblem[] {
  const out = new Map<string, SpecProblem>();
  const add = (path: string, message: string) => {
    const key = `${path}\0${message}`;
    if (!out.has(key)) out.set(key, { path, message, severity: 'error' });
  };
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  for (const e of errors) {
    const path = toPath(e.instancePath);
    const value = showValue(valueAt(data, e.instancePath), path);
    if (oneOfPaths.has(e.instancePath)) {
      if (e.keyword === 'oneOf') add(path, `${value} must be a hostname, range pattern (dgx-[01-08]), glob (dgx-*) or {category: name}`);
      continue;
    }
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = (e.params as { additionalProperty: string }).additionalProperty;
        const known = Object.keys(
          (schemaAt(e.schemaPath.replace(/^#/, '').replace(/\/additionalProperties$/, '/properties')) as Record<string, unknown>) ?? {},
        );
        const guess = nearest(key, known, 1)[0];
        add(path ? `${path}.${key}` : key, `unknown key${guess ? ` (did you mean '${guess}'?)` : ''}; allowed here: ${known.join(', ')}`);
        break;
      }
      case 'required':
        add(
          path
            ? `${path}.${(e.params as { missingProperty: string }).missingProperty}`
            : (e.params as { missingProperty: string }).missingProperty,
          'is required',
        );
        break;
      case 'type':
        add(path, `${value} must be ${TYPE_WORDS[(e.params as { type: string }).type] ?? (e.params as { type: string }).type}`);
        break;
      case 'enum':
        add(path, `${value} is not one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`);
        break;
      case 'pattern': {
        const desc =
          (schemaAt(e.schemaPath.replace(/^#/, '').replace(/\/pattern$/, '')) as { description?: string } | undefined)?.description ?? '';
        add(path, `${value} is not allowed here${desc ? ` — ${desc}` : ''}`);
        break;
      }
      case 'format':
        add(path, `${value} must be ${FORMAT_WORDS[(e.params as { format: string }).format] ?? (e.params as { format: string }).format}`);
        break;
      case 'minimum':
      case 'maximum':
        add(path, `${value} must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${(e.params as { limit: number }).limit}`);
        break;
      case 'minItems':
        add(
          path,
          `needs at least ${(e.params as { limit: number }).limit} entr${(e.params as { limit: number }).limit === 1 ? 'y' : 'ies'}`,
        );
        break;
      case 'maxItems':
        add(path, `has more than ${(e.params as { limit: number }).limit} entries`);
        break;
      case 'minLength':
        add(path, 'must not be empty');
        break;
      case 'maxLength':
        add(path, `is longer than ${(e.params as { limit: number }).limit} characters`);
        break;
      case 'minProperties':
      case 'maxProperties':
        add(path, path === 'network.node_network' ? 'give exactly one of name, cidr, interface' : (e.message ?? 'wrong number of keys'));
        break;
      case 'uniqueItems':
        add(path, 'has duplicate entries');
        break;
      default:
        add(path, e.message ?? 'is invalid');
    }
  }
  return [...out.values()];
}

/** Keys named like secrets must not hold values in the spec: secrets come from inputs or *_file. */
function inlineSecrets(data: unknown, path = ''): SpecProblem[] {
  if (Array.isArray(data)) return data.flatMap((v, i) => inlineSecrets(v, `${path}[${i}]`));
  if (!data || typeof data !== 'object') return [];
  return Object.entries(data).flatMap(([k, v]) => {
    const p = path ? `${path}.${k}` : k;
    if (SECRET_KEY.test(k) && v !== null && v !== '' && typeof v !== 'object') {
      return [
        {
          path: p,
          message:
            'secrets never go in the spec: pass it as an action input from a GitHub secret, or use the matching *_file key in the CLI',
          severity: 'error' as const,
        },
      ];
    }
    return inlineSecrets(v, p);
  });
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function parseSpec(text: string, source: string): LoadedSpec {
  if (Buffer.byteLength(text) > MAX_SPEC_BYTES)
    throw new SpecError(source, [{ path: '', message: `the file is larger than ${MAX_SPEC_BYTES} bytes`, severity: 'error' }]);
  let data: unknown;
  try {
    data = yaml.load(text, { filename: source, maxAliases: 20, maxDepth: 30, maxTotalMergeKeys: 100 });
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0] ?? String(err);
    throw new SpecError(source, [{ path: '', message: `not valid YAML: ${reason}`, severity: 'error' }]);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new SpecError(source, [{ path: '', message: 'must be a YAML mapping (name:, bcm:, nodes:, network:, …)', severity: 'error' }]);
  }
  const secrets = inlineSecrets(data);
  const valid = validate(data);
  const problems = [...secrets, ...(valid ? [] : translate(validate.errors ?? [], data))];
  if (!problems.length) problems.push(...checkSemantics(data as ClusterSpec));
  if (problems.some((p) => p.severity === 'error')) throw new SpecError(source, problems);
  const spec = data as ClusterSpec;
  return { spec, problems, hash: createHash('sha256').update(canonical(spec)).digest('hex') };
}

export function loadSpecFile(path: string): LoadedSpec {
  let text: string;
  try {
    if (statSync(path).size > MAX_SPEC_BYTES)
      throw new SpecError(path, [{ path: '', message: `the file is larger than ${MAX_SPEC_BYTES} bytes`, severity: 'error' }]);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof SpecError) throw err;
    throw new UsageError(`cannot read the cluster spec '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseSpec(text, path);
}
