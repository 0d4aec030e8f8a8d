// Helm's rendered output (helm template, helm get manifest) read document by document. Go's YAML accepts
// some text that js-yaml refuses (the real knative-operator CRDs continue a quoted description at the key's
// own indentation); such a document is re-read with its quoted continuation lines indented, and where even
// that is refused, the stage keeps what it needs (kind, name, namespace) and says so in a warning.
import * as yaml from 'js-yaml';
import type { Values } from './selection.ts';

export interface RenderedObject {
  kind: string;
  name: string;
  /** As written in the document; undefined when the chart leaves it to the release namespace. */
  namespace?: string;
  /** The whole document; undefined where it could only be read in part. */
  body?: Values;
}

export interface RenderedManifest {
  objects: RenderedObject[];
  /** One line per document read only in part: which one, and the parser's words. */
  warnings: string[];
}

const isMap = (v: unknown): v is Values => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** Helm separates documents with a `---` line; a document of only comments (a `# Source:` line) is none. */
export function splitDocuments(text: string): string[] {
  return text.split(/^---[ \t]*(?:#.*)?$/m).filter((d) => d.split('\n').some((l) => l.trim() && !l.trim().startsWith('#')));
}

/**
 * The same document with every continuation line of a multi-line quoted scalar indented past its key, as
 * YAML's spec asks and Go's parser does not: line folding drops that leading space, so the value is unchanged.
 */
export function indentQuotedContinuations(doc: string): string {
  const lines = doc.split('\n');
  const out: string[] = [];
  let open: { quote: string; indent: string } | undefined;
  for (const line of lines) {
    if (open) {
      out.push(`${open.indent}${line.trimStart()}`);
      if (closes(line.trimStart(), open.quote)) open = undefined;
      continue;
    }
    out.push(line);
    const m = /^(\s*)(?:-\s+)?[^\s'"#][^:]*:\s+(['"])(.*)$/.exec(line);
    if (m && !closes(m[3]!, m[2]!)) open = { quote: m[2]!, indent: `${m[1]}    ` };
  }
  return out.join('\n');
}

/** Does this rest of a quoted scalar end it ('' is an escaped ' in single quotes, \" in double)? */
function closes(rest: string, quote: string): boolean {
  for (let i = 0; i < rest.length; i++) {
    if (quote === '"' && rest[i] === '\\') i++;
    else if (rest[i] === quote) {
      if (quote === "'" && rest[i + 1] === "'") i++;
      else return true;
    }
  }
  return false;
}

/** kind, metadata.name and metadata.namespace read line by line from a document no parser accepts. */
function identity(doc: string): Omit<RenderedObject, 'body'> {
  const top = (key: string) => new RegExp(`^${key}:\\s*['"]?([^'"#\\s]+)`, 'm').exec(doc)?.[1];
  const metadata = /^metadata:[ \t]*\n((?:[ \t]+.*\n?|[ \t]*\n)*)/m.exec(doc)?.[1] ?? '';
  const indent = /^([ \t]+)\S/m.exec(metadata)?.[1] ?? '  ';
  const meta = (key: string) => new RegExp(`^${indent}${key}:\\s*['"]?([^'"#\\s]+)`, 'm').exec(metadata)?.[1];
  const namespace = meta('namespace');
  return { kind: top('kind') ?? '', name: meta('name') ?? '', ...(namespace ? { namespace } : {}) };
}

/** Charts use anchors (knative-operator's ClusterRoles do); the bound only stops an alias bomb. */
function load(doc: string): unknown {
  return yaml.load(doc, { maxAliases: 1000 });
}

/** Every object in Helm's output, in order; never throws on a document Helm itself wrote. */
export function parseRendered(text: string, source: string): RenderedManifest {
  const objects: RenderedObject[] = [];
  const warnings: string[] = [];
  splitDocuments(text).forEach((doc, i) => {
    let body: unknown;
    try {
      body = load(doc);
    } catch (first) {
      try {
        body = load(indentQuotedContinuations(doc));
      } catch {
        const id = identity(doc);
        objects.push(id);
        warnings.push(
          `${source}: document ${i + 1} (${id.kind || 'no kind'}/${id.name || 'no name'}) read only for its kind, name and namespace: ${(first as Error).message.split('\n')[0]}`,
        );
        return;
      }
    }
    if (!isMap(body)) return;
    const md = isMap(body.metadata) ? body.metadata : {};
    const namespace = typeof md.namespace === 'string' ? md.namespace : undefined;
    objects.push({ kind: String(body.kind ?? ''), name: String(md.name ?? ''), ...(namespace ? { namespace } : {}), body });
  });
  return { objects, warnings };
}
