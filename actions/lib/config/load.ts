// Loading a cluster spec: safe YAML → JSON Schema (defaults applied) → semantic checks. Every problem is
// reported at once, each with its path (`nodes.control_plane[1]`), the bad value and what is allowed.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { ErrorObject } from 'ajv/dist/2020.js';
import * as yaml from 'js-yaml';
import schema from '../../../schema/cluster-spec.schema.json' with { type: 'json' };
import { UsageError } from '../util/errors.ts';
import { nearest } from '../util/similar.ts';
import validateSpecSchema from './spec-validator.generated.ts';
import { checkSemantics, findInlineSecrets, isSecretPath } from './semantics.ts';
import type { ClusterSpec, SpecProblem } from './types.ts';
import { canonicalJson } from '../util/canonical-json.ts';

export const MAX_SPEC_BYTES = 1024 * 1024;
/** A spec needs a handful of aliases at most; more is how "billion laughs" documents start. */
export const MAX_ALIASES = 20;

export interface LoadedSpec {
  spec: ClusterSpec;
  /** Warnings only (a spec with errors throws SpecError). */
  problems: SpecProblem[];
  /** sha256 (hex) of the canonical JSON (sorted keys) of the spec with defaults applied. */
  hash: string;
}

/** A spec with at least one error. `problems` holds every error and warning found, not just the first. */
export class SpecError extends UsageError {
  override name = 'SpecError';
  readonly problems: SpecProblem[];
  constructor(source: string, problems: SpecProblem[]) {
    const errors = problems.filter((p) => p.severity === 'error').length;
    super(`${source}: ${errors} problem(s) in the cluster spec:\n${describeProblems(problems)}`);
    this.problems = problems;
  }
}

/**
 * Control, bidi and zero-width characters written as \u{…} (a value from the spec must not forge output lines or
 * reorder text on a terminal); longer than `max`, the middle is left out, so a message quoting a 1 MB value still
 * ends with what is wrong.
 */
export function printable(text: string, max: number): string {
  const safe = text.replace(
    /[\p{Cc}\p{Cs}\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/gu,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
  if (safe.length <= max) return safe;
  const half = Math.floor((max - 30) / 2);
  return `${safe.slice(0, half)} …(${safe.length - 2 * half} characters)… ${safe.slice(-half)}`;
}

/** One line per problem, `✗ path: message` (errors) or `! path: message` (warnings), for CLI output. */
export function describeProblems(problems: SpecProblem[]): string {
  return problems
    .map((p) => `  ${p.severity === 'error' ? '✗' : '!'} ${printable(p.path || '(spec)', 200)}: ${printable(p.message, 1000)}`)
    .join('\n');
}

// compiled from the schema at build time (npm run gen; validator-source.ts)
const validate = validateSpecSchema as unknown as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

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

/** The value for a message: quoted, cut at 60 characters, and never shown under a key that names a secret. */
export function showValue(value: unknown, path: string): string {
  if (isSecretPath(path)) return '(value hidden)';
  const text =
    typeof value === 'string' ? `'${value}'` : typeof value === 'number' && !Number.isFinite(value) ? String(value) : JSON.stringify(value);
  if (text === undefined) return 'nothing';
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value)',
};
const FORMAT_WORDS: Record<string, string> = { uri: 'a URL', hostname: 'a DNS name (RFC 1123)' };

/** Every `pattern` in the schema, in words (a test keeps this table complete). */
export const PATTERN_WORDS: Record<string, string> = {
  '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$': "lower-case letters, digits and '-', at most 63, not starting or ending with '-'",
  '^https://': 'an https:// URL (http is refused: the BCM password would cross the network in clear)',
  '^[a-z_][a-z0-9_-]{0,31}$': "a Linux user name: lower-case letters, digits, '_' and '-', starting with a letter or '_', at most 32",
  '^/[A-Za-z0-9._/-]+$': "an absolute path such as /bin/bash (letters, digits, '.', '_', '-', '/')",
  '^/[A-Za-z0-9._/-]*$': "an absolute path such as /raid (letters, digits, '.', '_', '-', '/')",
  '^v\\d+\\.\\d+\\.\\d+$': 'a version with a leading v, like v1.31.9',
  '^\\d+\\.\\d+(\\.\\d+)?$': 'a version like 2.21.63',
  '^[0-9a-f]{64}$': '64 lower-case hex digits (a SHA-256)',
};

/** Required only in some cases (if/else in the schema): say when. */
const REQUIRED_WHEN: Record<string, string> = {
  'runai.domain': 'is required while runai.enabled is true (the default); set it, or set runai.enabled: false',
};

function schemaAt(pointer: string): Record<string, unknown> | undefined {
  let node: unknown = schema;
  for (const seg of pointer.replace(/^#/, '').split('/').slice(1)) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return node && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** One readable problem per ajv error; a node selector's oneOf noise collapses into one message. */
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
    const params = e.params as Record<string, unknown>;
    if (oneOfPaths.has(e.instancePath)) {
      if (e.keyword === 'oneOf')
        add(path, `${value} must be a hostname, a range pattern (dgx-[01-08]), a glob (dgx-*) or {category: name}`);
      continue;
    }
    switch (e.keyword) {
      case 'if':
        break; // its failing branch reports the real error
      case 'additionalProperties': {
        const key = params.additionalProperty as string;
        const known = Object.keys(schemaAt(e.schemaPath.replace(/\/additionalProperties$/, '/properties')) ?? {}).filter(
          (k) => k !== '$schema',
        );
        const guess = nearest(key, known, 1)[0];
        add(join(path, key), `unknown key${guess ? ` (did you mean '${guess}'?)` : ''}; allowed here: ${known.join(', ')}`);
        break;
      }
      case 'required': {
        const full = join(path, params.missingProperty as string);
        add(full, REQUIRED_WHEN[full] ?? 'is required');
        break;
      }
      case 'type':
        add(path, `${value} must be ${TYPE_WORDS[params.type as string] ?? String(params.type)}`);
        break;
      case 'enum':
        add(path, `${value} is not one of: ${(params.allowedValues as unknown[]).join(', ')}`);
        break;
      case 'const':
        add(path, `${value} must be ${JSON.stringify(params.allowedValue)}`);
        break;
      case 'pattern': {
        const words = PATTERN_WORDS[params.pattern as string] ?? `text matching ${String(params.pattern)}`;
        add(path, `${value} must be ${words}`);
        break;
      }
      case 'format':
        add(path, `${value} must be ${FORMAT_WORDS[params.format as string] ?? String(params.format)}`);
        break;
      case 'minimum':
      case 'maximum':
        add(path, `${value} must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params.limit)}`);
        break;
      case 'minItems':
        add(path, `needs at least ${String(params.limit)} entr${params.limit === 1 ? 'y' : 'ies'}`);
        break;
      case 'maxItems':
        add(path, `has more than ${String(params.limit)} entries`);
        break;
      case 'minLength':
        add(path, 'must not be empty');
        break;
      case 'maxLength':
        add(path, `is longer than ${String(params.limit)} characters`);
        break;
      case 'minProperties':
      case 'maxProperties':
        add(path, path === 'network.node_network' ? 'give exactly one of name, cidr, interface' : (e.message ?? 'wrong number of keys'));
        break;
      case 'uniqueItems':
        add(path, `has duplicate entries (items ${String(params.j)} and ${String(params.i)})`);
        break;
      default:
        add(path, e.message ?? 'is invalid');
    }
  }
  return [...out.values()];
}

const fail = (source: string, message: string): never => {
  throw new SpecError(source, [{ path: '', message, severity: 'error' }]);
};

function parseYaml(text: string, source: string): Record<string, unknown> {
  if (Buffer.byteLength(text) > MAX_SPEC_BYTES) fail(source, `the file is larger than ${MAX_SPEC_BYTES} bytes`);
  let data: unknown;
  try {
    // js-yaml 5's load() uses the core schema (no custom tags, no merge keys), refuses duplicate keys and
    // more than one document; the limits stop alias bombs and deep nesting.
    data = yaml.load(text, { filename: source, maxAliases: MAX_ALIASES, maxDepth: 30, maxTotalMergeKeys: 100 });
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0] ?? String(err);
    return fail(source, `not valid YAML: ${reason}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data))
    return fail(source, 'must be a YAML mapping at the top (name:, bcm:, nodes:, network:, …)');
  return data as Record<string, unknown>;
}

/** Parses and validates a spec. Throws SpecError listing every problem; returns the spec with defaults, warnings and hash. */
export function parseSpec(text: string, source: string): LoadedSpec {
  const data = parseYaml(text, source);
  const secrets = findInlineSecrets(data);
  const secretPaths = new Set(secrets.map((p) => p.path));
  const valid = validate(data);
  // An inline secret is also an unknown key: one message for it is enough.
  const schemaProblems = valid ? [] : translate(validate.errors ?? [], data).filter((p) => !secretPaths.has(p.path));
  const broken = new Set(schemaProblems.map((p) => p.path.split(/[.[]/)[0] ?? ''));
  const problems = [...secrets, ...schemaProblems, ...checkSemantics(data as unknown as ClusterSpec, broken)];
  if (problems.some((p) => p.severity === 'error')) throw new SpecError(source, problems);
  const spec = data as unknown as ClusterSpec;
  return { spec, problems, hash: createHash('sha256').update(canonicalJson(spec)).digest('hex') };
}

/** Reads and validates `clusters/<name>.yaml`. Relative paths inside the spec stay relative to the working directory. */
export function loadSpecFile(path: string): LoadedSpec {
  let text: string;
  try {
    if (statSync(path).size > MAX_SPEC_BYTES) fail(path, `the file is larger than ${MAX_SPEC_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof SpecError) throw err;
    throw new UsageError(`cannot read the cluster spec '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  // a run loads its spec more than once (the stage, its report); a 10,000-node spec takes a while to check
  if (lastLoaded?.path !== path || lastLoaded.text !== text) lastLoaded = { path, text, loaded: parseSpec(text, path) };
  return structuredClone(lastLoaded.loaded);
}

let lastLoaded: { path: string; text: string; loaded: LoadedSpec } | undefined;
