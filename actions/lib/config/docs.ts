// docs/cluster-spec.md is generated from the JSON Schema, so the reference can never drift from it.
import schema from '../../../schema/cluster-spec.schema.json' with { type: 'json' };

interface Node {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, Node>;
  items?: Node;
  oneOf?: Node[];
  $ref?: string;
  required?: string[];
  format?: string;
}

function typeOf(n: Node): string {
  if (n.$ref) return 'node selector';
  if (n.oneOf) return n.oneOf.map(typeOf).join(' or ');
  if (n.enum) return n.enum.map((e) => `\`${String(e)}\``).join(' | ');
  if (n.type === 'array' && n.items) return `list of ${typeOf(n.items)}`;
  if (n.format) return `${n.type ?? ''} (${n.format})`;
  return n.type ?? '';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderSpecDocs(): string {
  const root = schema as unknown as Node;
  const lines = [
    '# Cluster spec reference',
    '',
    '<!-- Generated from schema/cluster-spec.schema.json by `npm run gen`; do not edit. -->',
    '',
    root.description ?? '',
    '',
  ];
  const section = (path: string, node: Node, depth: number) => {
    const rows: string[] = [];
    const nested: Array<[string, Node]> = [];
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      if (key === '$schema') continue;
      const full = path ? `${path}.${key}` : key;
      if (child.type === 'object' && child.properties) nested.push([full, child]);
      const def =
        child.default === undefined || (typeof child.default === 'object' && Object.keys(child.default as object).length === 0)
          ? ''
          : `\`${JSON.stringify(child.default)}\``;
      const required = node.required?.includes(key) ? '**Required.** ' : '';
      rows.push(`| \`${full}\` | ${cell(typeOf(child))} | ${def} | ${required}${cell(child.description ?? '')} |`);
    }
    lines.push(
      `${'#'.repeat(Math.min(depth, 4))} ${path || 'Top level'}`,
      '',
      node.description && path ? `${node.description}\n` : '',
      '| key | type | default | description |',
      '| --- | --- | --- | --- |',
      ...rows,
      '',
    );
    for (const [p, n] of nested) section(p, n, depth + 1);
  };
  section('', root, 2);
  return `${lines
    .filter((l, i, a) => !(l === '' && a[i - 1] === ''))
    .join('\n')
    .trim()}\n`;
}
