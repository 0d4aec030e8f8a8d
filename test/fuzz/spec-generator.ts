// A seeded, deterministic generator of malformed cluster specs, derived from clusters/example.yaml and
// clusters/lab.yaml: wrong types for every field of the schema, missing required fields, unknown keys, bad
// and overlapping CIDRs, impossible role combinations, huge, empty and unicode values, shell metacharacters in
// every string field, and YAML tricks. The same seed gives the same cases, byte for byte.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as yaml from 'js-yaml';
import schema from '../../schema/cluster-spec.schema.json' with { type: 'json' };

type Doc = Record<string, any>;
type Seg = string | number;

export type Category =
  | 'wrong-type'
  | 'missing'
  | 'unknown-key'
  | 'bad-cidr'
  | 'overlap'
  | 'roles'
  | 'huge'
  | 'empty'
  | 'unicode'
  | 'metachar'
  | 'yaml'
  | 'secret';

export interface FuzzCase {
  id: string;
  category: Category;
  base: 'example' | 'lab';
  /** The spec file's bytes (YAML; a few cases hold bytes that are not UTF-8). */
  bytes: Buffer;
  /** invalid: must be refused. either: the schema may accept it (then it must be proven harmless). */
  expect: 'invalid' | 'either';
  /** The path a refusal must name; '' for file-level problems (YAML syntax, size, top-level shape). */
  path: string;
  /** The value planted (metacharacter, unicode, secret canary cases). */
  planted?: string;
  /** Set when the planted value is a secret: it must never be shown. */
  secret?: boolean;
}

const ROOT = resolve(import.meta.dirname, '../..');
const BASES = {
  example: yaml.load(readFileSync(resolve(ROOT, 'clusters/example.yaml'), 'utf8')) as Doc,
  lab: yaml.load(readFileSync(resolve(ROOT, 'clusters/lab.yaml'), 'utf8')) as Doc,
};
/** The spec loader refuses files above this size (actions/lib/config/load.ts MAX_SPEC_BYTES). */
const MAX_SPEC_BYTES = 1024 * 1024;

/** mulberry32: small, fast, and the same sequence on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  sample<T>(items: readonly T[], n: number): T[] {
    const copy = [...items];
    const out: T[] = [];
    while (out.length < n && copy.length) out.push(copy.splice(this.int(copy.length), 1)[0]!);
    return out;
  }
  base(): 'example' | 'lab' {
    return this.next() < 0.5 ? 'example' : 'lab';
  }
}

// ---------------------------------------------------------------------------------------------------
// The schema, walked

export interface Field {
  segs: Seg[];
  path: string;
  schema: Doc;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'selector';
}

/** Sample keys for the schema's free-form maps, so their members are fuzzed too. */
const MAP_KEYS: Record<string, string> = {
  'platform.releases': 'gpu-operator',
  'mirrors.images': 'docker.io',
  'mirrors.sha256': 'kubespray-v2.27.1.tar.gz',
};

export function pathOf(segs: Seg[]): string {
  return segs.reduce<string>((acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
}

function deref(node: Doc): Doc {
  return node.$ref === '#/$defs/nodeSelector' ? { ...(schema.$defs.nodeSelector as Doc), selector: true } : node;
}

/** Every field the schema describes, depth first; array items at [0], map members under a sample key. */
export function schemaFields(): Field[] {
  const out: Field[] = [];
  const visit = (raw: Doc, segs: Seg[]) => {
    const node = deref(raw);
    const type = node.selector ? 'selector' : (node.type as Field['type']);
    if (segs.length) out.push({ segs, path: pathOf(segs), schema: node, type });
    if (type === 'object') {
      for (const [k, v] of Object.entries((node.properties ?? {}) as Doc)) visit(v as Doc, [...segs, k]);
      const mapKey = MAP_KEYS[pathOf(segs)];
      if (mapKey && node.additionalProperties && typeof node.additionalProperties === 'object')
        visit(node.additionalProperties as Doc, [...segs, mapKey]);
    }
    if (type === 'array' && node.items) visit(node.items as Doc, [...segs, 0]);
  };
  visit(schema as Doc, []);
  return out;
}

/** Objects that refuse unknown keys, with their known keys. */
function closedObjects(): Array<{ segs: Seg[]; known: string[] }> {
  const objects = schemaFields()
    .filter((f) => f.type === 'object' && f.schema.additionalProperties === false)
    .map((f) => ({ segs: f.segs, known: Object.keys(f.schema.properties ?? {}) }));
  const selector = schema.$defs.nodeSelector.oneOf[1] as Doc;
  return [
    { segs: [], known: Object.keys(schema.properties) },
    ...objects,
    { segs: ['nodes', 'control_plane', 0], known: Object.keys(selector.properties) },
  ];
}

// ---------------------------------------------------------------------------------------------------
// Editing documents

function clone(base: 'example' | 'lab'): Doc {
  return structuredClone(BASES[base]);
}

/** Sets a value, creating what is missing on the way; node_network and public keys keep one source. */
export function setIn(doc: Doc, segs: Seg[], value: unknown): void {
  if (segs[0] === 'network' && segs[1] === 'node_network' && segs.length === 3) {
    doc.network.node_network = { [segs[2] as string]: value };
    return;
  }
  if (pathOf(segs) === 'access.service_user.public_key') {
    doc.access ??= {};
    doc.access.service_user = { ...(doc.access.service_user ?? {}) };
    delete doc.access.service_user.public_key_file;
  }
  let cur: any = doc;
  for (let i = 0; i < segs.length - 1; i++) {
    const s = segs[i]!;
    const nextIsIndex = typeof segs[i + 1] === 'number';
    if (cur[s] === undefined || cur[s] === null || typeof cur[s] !== 'object') cur[s] = nextIsIndex ? [] : {};
    cur = cur[s];
  }
  // defineProperty: a key named __proto__ must become a key, not the object's prototype
  Object.defineProperty(cur, segs.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
}

function deleteIn(doc: Doc, segs: Seg[]): void {
  let cur: any = doc;
  for (const s of segs.slice(0, -1)) cur = cur?.[s];
  if (cur && typeof cur === 'object') delete cur[segs.at(-1)!];
}

function dump(doc: Doc): Buffer {
  return Buffer.from(yaml.dump(doc, { lineWidth: -1, noRefs: true }));
}

/** A valid value for a string field, to append payloads to (the way an injection usually looks). */
function validString(field: Field, doc: Doc): string {
  let cur: any = doc;
  for (const s of field.segs) cur = cur?.[s];
  if (typeof cur === 'string') return cur;
  if (typeof field.schema.default === 'string') return field.schema.default;
  if (field.type === 'selector') return 'cpu-03';
  if (field.schema.format === 'uri') return 'https://mirror.example.com/base';
  if (field.schema.format === 'hostname') return 'runai.example.com';
  if (/cidr$/.test(field.path)) return '10.20.0.0/16';
  if (field.path === 'access.service_user.public_key') return `${SAMPLE_KEY} ops@example.com`;
  if (field.schema.enum) return field.schema.enum[0] as string;
  return 'value';
}

const SAMPLE_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHcMPq2T5ox9BvD0tLZk7wlrPo3cYV9xgUeO4Yn1Zf7a';

// ---------------------------------------------------------------------------------------------------
// Oracles: is a planted string certainly invalid? (Independent of the loader; 'either' when unsure.)

const SEMANTIC_CIDR = new Set(['network.pod_cidr', 'network.service_cidr', 'network.node_network.cidr']);
const URI_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?#%[\]]*$/;

function stringVerdict(field: Field, value: string): 'invalid' | 'either' {
  const s = field.schema;
  if (s.enum && !(s.enum as string[]).includes(value)) return 'invalid';
  if (s.pattern && !new RegExp(s.pattern as string, 'u').test(value)) return 'invalid';
  if (typeof s.minLength === 'number' && value.length < s.minLength) return 'invalid';
  if (typeof s.maxLength === 'number' && value.length > s.maxLength) return 'invalid';
  if (s.format === 'hostname' && !/^[A-Za-z0-9.-]+$/.test(value)) return 'invalid';
  if (s.format === 'uri' && (!value || !URI_CHARS.test(value))) return 'invalid';
  if (field.type === 'selector' && !/^[A-Za-z0-9.*?[\]-]+$/.test(value)) return 'invalid';
  if (field.path === 'nodes.skippable[0]' && !/^[A-Za-z0-9.-]+$/.test(value)) return 'invalid';
  if (SEMANTIC_CIDR.has(field.path) && !/^\s*[0-9./]+\s*$/.test(value)) return 'invalid';
  if (field.path === 'access.service_user.public_key' && !value.startsWith(SAMPLE_KEY)) return 'invalid';
  return 'either';
}

// ---------------------------------------------------------------------------------------------------
// Payloads

/** Every canary path the payloads touch starts with this; a test asserts none ever appears. */
export const CANARY_PREFIX = '/tmp/bcmkube-fuzz-canary';

export function metacharPayloads(canary: string): string[] {
  return [
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `;touch ${canary}`,
    `|touch ${canary}`,
    `&&touch ${canary}`,
    `||touch ${canary}`,
    `\ntouch ${canary}\n`,
    `\rtouch ${canary}`,
    `'$(touch ${canary})'`,
    `"$(touch ${canary})"`,
    `'; touch ${canary}; '`,
    `"; touch ${canary}; "`,
    `\\'$(touch ${canary})`,
    `>${canary}`,
    `<${canary}`,
    `&touch ${canary}&`,
    `$IFS$(touch$IFS${canary})`,
    `\${IFS}touch\${IFS}${canary}`,
    `--help`,
    `-oProxyCommand=touch ${canary}`,
    `* ?`,
    `#$(touch ${canary})`,
  ];
}

const UNICODE_PAYLOADS = [
  'cpu\u202e30-',
  'dgx\u200f-05',
  'dgx\u200b-05',
  'a\u0000b',
  'dgx-05\u0000; touch /tmp/x',
  '🚀-node',
  'с\u0440u-03', // Cyrillic homoglyphs of "cpu-03"
  'ｃｐｕ-03',
  'dgx-0\u0665',
  'e\u0301cluster',
  'node\ufeff',
  'x\u2028y',
  'x\u0085y',
  '\u001b[31mred\u001b[0m',
  'bell\u0007',
  '\ud83d',
  'ａｄｍｉｎ',
];

const BAD_CIDRS = [
  '',
  ' ',
  'abc',
  '10.0.0.0',
  '10.0.0.0/',
  '/16',
  '10.0.0.0/33',
  '10.0.0.0/99',
  '10.0.0.0/-1',
  '10.0.0.0/1.5',
  '256.0.0.0/8',
  '10.0.0.256/32',
  '10.0.0.1/8',
  '172.29.1.0/16',
  '10.0.0/8',
  '10.0.0.0.0/8',
  '010.0.0.0/8',
  '10.00.0.0/16',
  '0x0A.0.0.0/8',
  '10.0.0.0/16/16',
  'fd00::/8',
  '::/0',
  '10.0.0.0\\16',
  '10 .0.0.0/8',
  '١٠.0.0.0/8',
  '10.0.0.0/١٦',
  '10.0.0.0/16; touch /tmp/x',
  '$(touch /tmp/x)/16',
  'localhost/8',
  '1e1.0.0.0/8',
  '+10.0.0.0/8',
  '10.0.0.0/ 16',
  '10.0.0.0/16,10.1.0.0/16',
  '-10.0.0.0/8',
  '10.0.0.0/100000000000000000000',
];

// ---------------------------------------------------------------------------------------------------
// The cases

const wrongValues: Record<Field['type'], unknown[]> = {
  string: [42, true, [], {}, null, 1.5, ['a']],
  integer: ['7', 1.5, true, [], {}, null, '0x10'],
  number: ['7', true, [], {}, null],
  boolean: ['true', 1, 0, [], {}, null, 'yes'],
  array: ['x', 1, {}, null, true],
  object: ['x', 1, [], null, true],
  selector: [42, true, [], null, {}, { category: 5 }, { category: 'x', extra: 1 }, '', { category: '' }],
};

/** Keys that are close to real ones (typos, other casings) or plainly foreign. */
function unknownKeys(rng: Rng, known: string[]): string[] {
  const typo = (k: string) => {
    const i = rng.int(k.length);
    switch (rng.int(4)) {
      case 0:
        return k.slice(0, i) + k.slice(i + 1);
      case 1:
        return k.slice(0, i) + 'x' + k.slice(i);
      case 2:
        return k.replace(/_/g, '-');
      default:
        return k.charAt(0).toUpperCase() + k.slice(1);
    }
  };
  const candidates = [
    ...known.filter((k) => k !== '$schema').map(typo),
    'extra',
    'nodes_count',
    '__proto__',
    'constructor',
    'toString',
    '$(touch /tmp/x)',
    'käse',
    '🚀',
    'k\u202eey',
    'x'.repeat(5000),
    '<<',
    'a.b',
    '[0]',
  ];
  return rng.sample(
    candidates.filter((k) => !known.includes(k)),
    8,
  );
}

export interface GeneratedSet {
  seed: number;
  cases: FuzzCase[];
}

export function generateCases(seed: number): GeneratedSet {
  const rng = new Rng(seed);
  const cases: FuzzCase[] = [];
  const counters = new Map<Category, number>();
  const add = (c: Omit<FuzzCase, 'id'>) => {
    const n = (counters.get(c.category) ?? 0) + 1;
    counters.set(c.category, n);
    cases.push({ id: `${c.category}-${String(n).padStart(4, '0')}`, ...c });
  };
  const mutated = (category: Category, base: 'example' | 'lab', edit: (d: Doc) => void, path: string, extra: Partial<FuzzCase> = {}) => {
    const doc = clone(base);
    edit(doc);
    add({ category, base, bytes: dump(doc), expect: 'invalid', path, ...extra });
  };
  const fields = schemaFields();
  const strings = fields.filter((f) => f.type === 'string' || f.type === 'selector');

  // wrong types, for every field of the schema
  for (const f of fields) for (const v of wrongValues[f.type]) mutated('wrong-type', rng.base(), (d) => setIn(d, f.segs, v), f.path);

  // missing required fields
  const required: Seg[][] = [['name'], ['bcm'], ['nodes'], ['network'], ['bcm', 'endpoint'], ['bcm', 'auth'], ['nodes', 'control_plane']];
  required.push(['network', 'node_network'], ['runai', 'domain']);
  for (const base of ['example', 'lab'] as const) {
    for (const segs of required) mutated('missing', base, (d) => deleteIn(d, segs), pathOf(segs));
    mutated('missing', base, (d) => (d.network.node_network = {}), 'network.node_network');
    mutated('missing', base, (d) => (d.nodes.control_plane = [{}]), 'nodes.control_plane[0]');
    for (let i = 0; i < 4; i++) {
      const [a, b] = rng.sample(required, 2) as [Seg[], Seg[]];
      // deleting a section takes its required children with it: the section is what is reported
      const reported = pathOf(a).startsWith(`${pathOf(b)}.`) ? b : a;
      mutated('missing', base, (d) => [a, b].forEach((s) => deleteIn(d, s)), pathOf(reported));
    }
  }
  add({ category: 'missing', base: 'lab', bytes: Buffer.from('{}\n'), expect: 'invalid', path: 'name' });

  // unknown keys, top level and nested
  for (const obj of closedObjects()) {
    const selector = pathOf(obj.segs) === 'nodes.control_plane[0]';
    for (const key of unknownKeys(rng, obj.known)) {
      const value = rng.pick([1, 'x', {}, []]);
      // a selector with an extra key matches neither form: it is reported as the selector
      if (selector) mutated('unknown-key', rng.base(), (d) => setIn(d, obj.segs, { category: 'gpu', [key]: value }), pathOf(obj.segs));
      else mutated('unknown-key', rng.base(), (d) => setIn(d, [...obj.segs, key], value), pathOf([...obj.segs, key]));
    }
  }

  // bad CIDRs in each CIDR field
  for (const field of ['pod_cidr', 'service_cidr', 'cidr']) {
    const segs = field === 'cidr' ? ['network', 'node_network', 'cidr'] : ['network', field];
    for (const v of BAD_CIDRS) mutated('bad-cidr', rng.base(), (d) => setIn(d, segs, v), pathOf(segs));
  }

  // overlapping pod / service / node ranges
  const net = (bits: number) => {
    const a = 10 + rng.int(200);
    const b = bits >= 16 ? rng.int(256) : 0;
    const c = bits >= 24 ? rng.int(256) : 0;
    return { a, b, c, text: `${a}.${b}.${c}.0/${bits}` };
  };
  for (let i = 0; i < 48; i++) {
    const outer = net(rng.pick([8, 12, 16]) as number);
    const outerBits = Number(outer.text.split('/')[1]);
    const innerBits = outerBits + 1 + rng.int(32 - outerBits - 1);
    const base = outer.text.split('/')[0]!.split('.').map(Number);
    const span = 2 ** (32 - outerBits);
    const offset = Math.floor(rng.next() * (span / 2 ** (32 - innerBits))) * 2 ** (32 - innerBits);
    const n = (((base[0]! << 24) | (base[1]! << 16) | (base[2]! << 8)) >>> 0) + offset;
    const inner = `${[24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')}/${innerBits}`;
    const [first, second] = rng.next() < 0.5 ? [outer.text, inner] : [inner, outer.text];
    switch (i % 4) {
      case 0:
        mutated('overlap', rng.base(), (d) => Object.assign(d.network, { pod_cidr: first, service_cidr: second }), 'network.service_cidr');
        break;
      case 1:
        mutated(
          'overlap',
          rng.base(),
          (d) => Object.assign(d.network, { pod_cidr: outer.text, service_cidr: outer.text }),
          'network.service_cidr',
        );
        break;
      case 2:
        mutated(
          'overlap',
          rng.base(),
          (d) => Object.assign(d.network, { pod_cidr: first, service_cidr: '192.168.250.0/24', node_network: { cidr: second } }),
          'network.pod_cidr',
        );
        break;
      default:
        mutated(
          'overlap',
          rng.base(),
          (d) => Object.assign(d.network, { pod_cidr: '192.168.250.0/24', service_cidr: first, node_network: { cidr: second } }),
          'network.service_cidr',
        );
    }
  }

  // impossible role combinations
  const host = () => `${rng.pick(['cpu', 'dgx', 'gpu', 'node'])}-${String(1 + rng.int(40)).padStart(2, '0')}`;
  for (let i = 0; i < 6; i++) {
    const h = host();
    mutated('roles', rng.base(), (d) => Object.assign(d.nodes, { control_plane: [h], workers: ['x-01', h] }), 'nodes.workers[1]');
    mutated(
      'roles',
      rng.base(),
      (d) => Object.assign(d.nodes, { control_plane: [`${h.slice(0, -2)}[01-40]`], workers: [h] }),
      'nodes.workers[0]',
    );
    mutated('roles', rng.base(), (d) => Object.assign(d.nodes, { workers: ['w-01'], gpu_workers: [h] }), 'nodes.gpu_workers[0]');
    mutated('roles', rng.base(), (d) => Object.assign(d.nodes, { workers: ['w-[01-04]'], gpu_workers: ['w-05'] }), 'nodes.gpu_workers[0]');
    mutated('roles', rng.base(), (d) => Object.assign(d.nodes, { control_plane: [h, h] }), 'nodes.control_plane[1]');
    mutated('roles', rng.base(), (d) => Object.assign(d.nodes, { workers: ['dgx-[01-08]', 'dgx-03'] }), 'nodes.workers[1]');
    mutated('roles', rng.base(), (d) => Object.assign(d.nodes, { etcd: [h, `${h}`] }), 'nodes.etcd[1]');
  }
  const patterns: Array<[string, string]> = [
    ['dgx-[08-01]', 'runs backwards'],
    ['n-[0-10000]', 'expands to'],
    ['r[1-200]-n[1-200]', 'expands to'],
    ['dgx-[01-08', 'range is written'],
    ['dgx-01]', 'range is written'],
    ['dgx-[a-b]', 'range is written'],
    ['dgx-[]', 'range is written'],
    ['dgx-[1-2-3]', 'range is written'],
    ['dgx_*', 'not a valid glob'],
    ['dgx-*/x', 'not a valid glob'],
    ['-dgx-01', 'not a valid hostname'],
    ['dgx-01-', 'not a valid hostname'],
    ['dgx..01', 'not a valid hostname'],
    [`${'a'.repeat(64)}`, 'not a valid hostname'],
  ];
  for (const [p] of patterns)
    for (const role of rng.sample(['control_plane', 'workers', 'etcd', 'gpu_workers'] as const, 2))
      mutated('roles', rng.base(), (d) => (d.nodes[role] = [p]), `nodes.${role}[0]`);
  for (const base of ['example', 'lab'] as const) {
    mutated('roles', base, (d) => (d.nodes.control_plane = []), 'nodes.control_plane');
    mutated('roles', base, (d) => (d.nodes.allowed_status = []), 'nodes.allowed_status');
    mutated('roles', base, (d) => (d.nodes.allowed_status = ['UP', 'UP']), 'nodes.allowed_status');
    mutated('roles', base, (d) => (d.nodes.allowed_status = ['RUNNING']), 'nodes.allowed_status[0]');
    mutated('roles', base, (d) => (d.nodes.skippable = ['dgx 05']), 'nodes.skippable[0]');
    mutated('roles', base, (d) => (d.nodes.control_plane = Array.from({ length: 10_001 }, (_, i) => `n${i}`)), 'nodes.control_plane');
  }

  // huge values: over the file limit (refused before parsing) and large but under it
  // (spliced into the dumped text: dumping a megabyte through js-yaml 45 times is slow)
  const huge = 'A'.repeat(MAX_SPEC_BYTES + 1024);
  for (const f of strings) {
    const base = rng.base();
    const doc = clone(base);
    setIn(doc, f.segs, '@@huge@@');
    const [head, tail] = dump(doc).toString().split('@@huge@@') as [string, string];
    add({ category: 'huge', base, bytes: Buffer.from(head + huge + tail), expect: 'invalid', path: '' });
  }
  for (const f of strings) {
    const v = rng.pick(['x', 'a.', '$(', '9']).repeat(Math.floor(200_000 / 2));
    const verdict = stringVerdict(f, v);
    if (verdict === 'invalid') mutated('huge', rng.base(), (d) => setIn(d, f.segs, v), f.path);
    else mutated('huge', rng.base(), (d) => setIn(d, f.segs, v), f.path, { expect: 'either' });
  }
  mutated('huge', 'lab', (d) => (d.nodes.workers = Array.from({ length: 20_000 }, (_, i) => `w-${i}`)), 'nodes.workers');

  // empty values
  for (const f of fields) {
    const empties: unknown[] =
      f.type === 'string' || f.type === 'selector' ? ['', '   ', '\t'] : f.type === 'array' ? [[]] : f.type === 'object' ? [{}] : [];
    for (const v of empties) {
      const verdict =
        typeof v === 'string'
          ? stringVerdict(f, v)
          : (f.schema.minItems ?? 0) > 0 || (f.schema.minProperties ?? 0) > 0
            ? 'invalid'
            : 'either';
      mutated('empty', rng.base(), (d) => setIn(d, f.segs, v), f.path, { expect: verdict });
    }
  }

  // unicode and shell metacharacters in every string field, whole and appended to a valid value
  for (const f of strings) {
    for (const payload of rng.sample(UNICODE_PAYLOADS, 4)) {
      const base = rng.base();
      const doc = clone(base);
      const v = rng.next() < 0.5 ? payload : validString(f, doc) + payload;
      setIn(doc, f.segs, v);
      add({ category: 'unicode', base, bytes: dump(doc), expect: stringVerdict(f, v), path: f.path, planted: v });
    }
    const canary = `${CANARY_PREFIX}-${f.path.replace(/[^a-z0-9]+/gi, '-')}`;
    for (const payload of metacharPayloads(canary)) {
      const base = rng.base();
      const doc = clone(base);
      const v = rng.next() < 0.5 ? payload : validString(f, doc) + payload;
      setIn(doc, f.segs, v);
      add({ category: 'metachar', base, bytes: dump(doc), expect: stringVerdict(f, v), path: f.path, planted: v });
    }
  }

  // YAML tricks
  const labText = readFileSync(resolve(ROOT, 'clusters/lab.yaml'), 'utf8');
  const exampleText = readFileSync(resolve(ROOT, 'clusters/example.yaml'), 'utf8');
  const raw = (text: string | Buffer, path = '', base: 'example' | 'lab' = 'lab') =>
    add({ category: 'yaml', base, bytes: Buffer.isBuffer(text) ? text : Buffer.from(text), expect: 'invalid', path });
  const laughs = (levels: number, width: number) => {
    const lines = [`l0: &l0 [${Array(width).fill('"lol"').join(', ')}]`];
    for (let i = 1; i < levels; i++)
      lines.push(
        `l${i}: &l${i} [${Array(width)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    return `${labText}\n${lines.join('\n')}\n`;
  };
  // more than 20 aliases is refused as a bomb; a handful is allowed (the keys are then unknown)
  for (const [levels, width] of [
    [9, 9],
    [5, 10],
    [3, 30],
    [22, 1],
    [4, 6],
  ] as const)
    raw(laughs(levels, width), (levels - 1) * width > 20 ? '' : 'l0');
  for (const text of [labText, exampleText]) {
    const base = text === labText ? 'lab' : 'example';
    raw(`${text}\nname: again\n`, '', base);
    raw(text.replace(/^network:\n/m, 'network:\n  pod_cidr: 10.1.0.0/16\n  pod_cidr: 10.2.0.0/16\n'), '', base);
    raw(text.replace(/^nodes:\n/m, 'nodes:\n  workers: []\n'), '', base);
    raw(`${text}\n---\nname: second\n`, '', base);
    raw(`---\n${text}\n...\n---\n`, '', base);
    raw(text.replace(/\n/g, '\n\t'), '', base);
    raw(text.replace(/^name: .*$/m, 'name: "unterminated'), '', base);
    raw(text.replace(/^name: .*$/m, "name: 'a\u0000b'"), '', base);
    raw(text.replace(/^name: .*$/m, 'name: a\u0007b'), '', base);
  }
  for (const tag of [
    '!!python/object/apply:os.system ["touch /tmp/bcmkube-fuzz-canary-yaml"]',
    '!!python/object:__main__.X {}',
    '!!python/name:os.system',
    '!!js/function "function () { return 1 }"',
    '!!js/regexp /a/',
    '!!js/undefined ""',
    '!!binary aGVsbG8=',
    '!!set {a, b}',
    '!!omap [a: 1]',
    '!foo bar',
    '!<tag:example.com,2000:app/foo> bar',
    '!!timestamp 2001-12-14',
  ])
    raw(labText.replace(/^name: .*$/m, `name: ${tag}`));
  for (const depth of [31, 100, 1000, 10_000]) {
    raw(`${labText}\nkubernetes:\n  extra_vars:\n    deep: ${'['.repeat(depth)}${']'.repeat(depth)}\n`);
    raw(`${labText}\nkubernetes:\n  extra_vars:\n    deep: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`);
  }
  raw(labText.replace(/^bcm:\n/m, 'x: &anchor\n  a: 1\nbcm:\n  <<: *anchor\n'), 'x');
  raw(`${labText}\n? [complex, key]\n: 1\n`);
  raw(`${labText}\n? {a: 1}\n: 1\n`);
  for (const top of ['', '# only a comment\n', '~\n', 'null\n', '- name: lab\n', '42\n', '"a string"\n', 'true\n', '[]\n', '\ufeff'])
    raw(top);
  raw(Buffer.concat([Buffer.from(labText.replace(/^name: .*$/m, 'name: ')), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('\n')]));
  raw(Buffer.concat([Buffer.from('name: '), Buffer.from([0xc0, 0xaf]), Buffer.from('\n')]), 'name');
  raw(labText.replace(/^name: .*$/m, `name: ${'x'.repeat(100_000)}`), 'name');
  raw(labText.replace(/^name: .*$/m, 'name: [dgx-lab'), '');
  raw(labText.replace(/^network:/m, '  network:'), 'network');

  // inline secrets (with canary values): refused at their path and never shown
  const secrets: Array<[Seg[], string]> = [
    [['bcm', 'password'], 'bcm.password'],
    [['access', 'admin', 'password'], 'access.admin.password'],
    [['access', 'service_user', 'private_key'], 'access.service_user.private_key'],
    [['runai', 'client_secret'], 'runai.client_secret'],
    [['kubernetes', 'extra_vars', 'jfrog_token'], 'kubernetes.extra_vars.jfrog_token'],
    [['platform', 'releases', 'runai', 'values', 'global', 'adminPassword'], 'platform.releases.runai.values.global.adminPassword'],
    [['mirrors', 'images', 'x-token'], 'mirrors.images.x-token'],
  ];
  for (const [segs, path] of secrets) {
    for (const shape of ['plain', 'with-meta', 'also-broken'] as const) {
      const canary = `fuzz-secret-${path.replace(/\W+/g, '')}-${shape}-${rng.int(1e9)}`;
      const value = shape === 'with-meta' ? `${canary}$(touch /tmp/x)'\n` : canary;
      mutated(
        'secret',
        rng.base(),
        (d) => {
          setIn(d, segs, value);
          if (shape === 'also-broken') d.name = 'Not A Name';
        },
        path,
        { planted: canary, secret: true },
      );
    }
  }
  return { seed, cases };
}

/** How many cases of each category, for the report. */
export function countByCategory(cases: FuzzCase[]): Record<string, { total: number; invalid: number }> {
  const out: Record<string, { total: number; invalid: number }> = {};
  for (const c of cases) {
    out[c.category] ??= { total: 0, invalid: 0 };
    out[c.category]!.total++;
    if (c.expect === 'invalid') out[c.category]!.invalid++;
  }
  return out;
}
