// A strict reader of an OpenAPI 3.0 document for the conformance suite: finds an operation's request and response
// schemas and checks a value against them. Stricter than the spec's own wording on one point, on purpose: a field
// the schema does not name fails (unless the schema allows additional properties), so a misspelled field in
// what we send, or an invented one in what our simulator answers, is caught.
type Schema = Record<string, unknown>;
type Doc = { paths: Record<string, Record<string, unknown>>; components: Record<string, Record<string, unknown>> };

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export interface Operation {
  method: string;
  template: string;
  operationId: string;
  raw: Record<string, unknown>;
}

export class OpenApi {
  readonly doc: Doc;
  constructor(doc: Doc) {
    this.doc = doc;
  }

  /** Follows `$ref`s to what they name. */
  resolve<T = Schema>(node: unknown): T {
    let at = node as Record<string, unknown>;
    for (let hops = 0; isObject(at) && typeof at.$ref === 'string'; hops++) {
      if (hops > 32) throw new Error(`$ref loop at ${at.$ref}`);
      const parts = (at.$ref as string).replace(/^#\//, '').split('/');
      at = parts.reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], this.doc) as Record<string, unknown>;
      if (at === undefined) throw new Error(`unresolved $ref ${String(node)}`);
    }
    return at as T;
  }

  /** The operation a concrete request path answers to (a literal path first, then templates). */
  operation(method: string, path: string): Operation | undefined {
    const m = method.toLowerCase();
    const templates = Object.keys(this.doc.paths).filter((t) => isObject(this.doc.paths[t]![m]));
    const literal = templates.find((t) => t === path);
    const template =
      literal ?? templates.find((t) => new RegExp(`^${t.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
    if (!template) return undefined;
    const raw = this.doc.paths[template]![m] as Record<string, unknown>;
    return { method: m, template, operationId: String(raw.operationId ?? ''), raw };
  }

  parameters(op: Operation): Array<{ name: string; in: string; required?: boolean; schema?: Schema }> {
    const shared = (this.doc.paths[op.template]!.parameters ?? []) as unknown[];
    return [...shared, ...((op.raw.parameters ?? []) as unknown[])].map((p) => this.resolve(p));
  }

  requestSchema(op: Operation): Schema | undefined {
    const body = op.raw.requestBody ? this.resolve<Record<string, unknown>>(op.raw.requestBody) : undefined;
    const json = body && (body.content as Record<string, { schema?: Schema }> | undefined)?.['application/json'];
    return json?.schema;
  }

  /** The statuses the operation lists. */
  statuses(op: Operation): string[] {
    return Object.keys((op.raw.responses ?? {}) as object);
  }

  /** The JSON schema of one listed status; null for a listed answer without a body; undefined when not listed. */
  responseSchema(op: Operation, status: number): Schema | null | undefined {
    const responses = (op.raw.responses ?? {}) as Record<string, unknown>;
    const listed = responses[String(status)] ?? responses.default;
    if (!listed) return undefined;
    const response = this.resolve<Record<string, unknown>>(listed);
    const json = (response.content as Record<string, { schema?: Schema }> | undefined)?.['application/json'];
    return json?.schema ?? null;
  }

  /** Names a schema allows on an object, or null when it allows any. */
  private names(schema: Schema): Set<string> | null {
    const s = this.resolve(schema);
    if (s.additionalProperties !== undefined && s.additionalProperties !== false) return null;
    const out = new Set(Object.keys((s.properties ?? {}) as object));
    for (const part of [...((s.allOf ?? []) as Schema[])]) {
      const more = this.names(part);
      if (more === null) return null;
      for (const n of more) out.add(n);
    }
    for (const part of [...((s.oneOf ?? []) as Schema[]), ...((s.anyOf ?? []) as Schema[])]) {
      const more = this.names(part);
      if (more === null) return null;
      for (const n of more) out.add(n);
    }
    const free = !s.properties && !s.allOf && !s.oneOf && !s.anyOf;
    return free ? null : out;
  }

  /** Every way `value` breaks `schema`, as `path: problem` lines (empty: it conforms). */
  check(schema: Schema, value: unknown, path = '$', strict = true): string[] {
    const s = this.resolve(schema);
    if (value === null)
      return s.nullable === true || (s.allOf as Schema[] | undefined)?.some((p) => this.resolve(p).nullable)
        ? []
        : [`${path}: null, and the schema is not nullable`];
    const problems: string[] = [];
    for (const part of (s.allOf ?? []) as Schema[]) problems.push(...this.check(part, value, path, false));
    const alternatives = [...((s.oneOf ?? []) as Schema[]), ...((s.anyOf ?? []) as Schema[])];
    if (alternatives.length && !alternatives.some((alt) => this.check(alt, value, path, strict).length === 0))
      problems.push(`${path}: matches none of its ${alternatives.length} alternatives`);
    const type = (s.type as string | undefined) ?? (s.properties || s.required ? 'object' : undefined);
    const actual = Array.isArray(value) ? 'array' : typeof value;
    const typeOk =
      type === undefined ||
      (type === 'integer' ? Number.isInteger(value) : type === 'number' ? typeof value === 'number' : type === actual);
    if (!typeOk) return [...problems, `${path}: ${JSON.stringify(value)?.slice(0, 60)} is ${actual}, the schema says ${type}`];
    if (Array.isArray(s.enum) && !s.enum.includes(value))
      problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
    if (typeof value === 'string') {
      if (s.format === 'uuid' && !UUID.test(value)) problems.push(`${path}: '${value}' is not a UUID`);
      if (s.format === 'date-time' && !DATE_TIME.test(value)) problems.push(`${path}: '${value}' is not an RFC 3339 date-time`);
      if (typeof s.minLength === 'number' && value.length < s.minLength) problems.push(`${path}: shorter than ${s.minLength}`);
      if (typeof s.maxLength === 'number' && value.length > s.maxLength) problems.push(`${path}: longer than ${s.maxLength}`);
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern).test(value)) problems.push(`${path}: does not match ${s.pattern}`);
    }
    if (typeof value === 'number') {
      if (typeof s.minimum === 'number' && value < s.minimum) problems.push(`${path}: below ${s.minimum}`);
      if (typeof s.maximum === 'number' && value > s.maximum) problems.push(`${path}: above ${s.maximum}`);
    }
    if (Array.isArray(value) && s.items) value.forEach((v, i) => problems.push(...this.check(s.items as Schema, v, `${path}[${i}]`)));
    if (isObject(value)) {
      for (const name of (s.required ?? []) as string[])
        if (!(name in value)) problems.push(`${path}: required field '${name}' is missing`);
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const [k, v] of Object.entries(value)) {
        if (props[k]) problems.push(...this.check(props[k], v, `${path}.${k}`));
        else if (isObject(s.additionalProperties)) problems.push(...this.check(s.additionalProperties, v, `${path}.${k}`));
      }
      const allowed = strict ? this.names(s) : null;
      if (allowed)
        for (const k of Object.keys(value))
          if (!allowed.has(k)) problems.push(`${path}: unknown field '${k}' (the schema has ${[...allowed].join(', ')})`);
    }
    return problems;
  }
}
