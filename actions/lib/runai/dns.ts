// In-cluster name resolution of the Run:ai domain (runai.md §4.3). On Kubespray clusters pods ask NodeLocal DNS,
// whose `.:53` block forwards straight upstream, so patching CoreDNS alone changes nothing. The fix is a server
// block for the domain in the Corefile pods actually reach (nodelocaldns, else coredns) that answers from a
// `hosts` entry, binds where the `.:53` block binds and forwards the rest of the zone where it forwards —
// never a forward to a node IP. The edit touches only that block, so Kubespray's own blocks stay as they are.

export const DNS_NAMESPACE = 'kube-system';
/** Where pods' queries go, in the order they are looked for. */
export const DNS_TARGETS = [
  { configMap: 'nodelocaldns', workload: 'daemonset/nodelocaldns' },
  { configMap: 'coredns', workload: 'deployment/coredns' },
] as const;

const MARKER = '# bcmkube: the Run:ai domain for pods (runai stage)';

interface Block {
  /** Lines of the block, header to closing brace. */
  lines: string[];
  zones: string[];
  start: number;
  end: number;
}

function braces(line: string): number {
  const code = line.replace(/#.*$/, '');
  return (code.match(/\{/g)?.length ?? 0) - (code.match(/\}/g)?.length ?? 0);
}

/** Top-level server blocks of a Corefile. */
export function serverBlocks(corefile: string): Block[] {
  const lines = corefile.split('\n');
  const blocks: Block[] = [];
  let depth = 0;
  let start = -1;
  lines.forEach((line, i) => {
    const before = depth;
    depth += braces(line);
    if (before === 0 && depth > 0) start = i;
    if (before > 0 && depth <= 0 && start >= 0) {
      const header = lines[start]!.replace(/\{.*$/, '').trim();
      blocks.push({ lines: lines.slice(start, i + 1), zones: header.split(/\s+/).filter(Boolean), start, end: i });
      start = -1;
      depth = 0;
    }
  });
  return blocks;
}

const zoneName = (z: string) =>
  z
    .replace(/^dns:\/\//, '')
    .replace(/:\d+$/, '')
    .replace(/\.$/, '')
    .toLowerCase();

/** The `bind` line and the `forward` directive (with its options block) of the `.:53` block. */
function rootDirectives(blocks: Block[]): { bind?: string; forward: string[] } {
  const root = blocks.find((b) => b.zones.some((z) => zoneName(z) === '' || z === '.'));
  if (!root) return { forward: [] };
  const body = root.lines.slice(1, -1).map((l) => l.trim());
  const bind = body.find((l) => /^bind\s/.test(l));
  const forward: string[] = [];
  const at = body.findIndex((l) => /^forward\s/.test(l));
  if (at >= 0) {
    let depth = 0;
    for (const l of body.slice(at)) {
      forward.push(l);
      depth += braces(l);
      if (depth <= 0) break;
    }
  }
  return { ...(bind ? { bind } : {}), forward };
}

/** The server block that answers `domain` with `ip`. */
export function domainBlock(domain: string, ip: string, root: { bind?: string; forward: string[] }): string[] {
  const indent = (n: number) => ' '.repeat(n);
  let depth = 1;
  const forward = root.forward.map((l) => {
    if (l.startsWith('}')) depth--;
    const out = `${indent(4 * depth)}${l}`;
    depth += Math.max(0, braces(l));
    return out;
  });
  return [
    MARKER,
    `${domain}:53 {`,
    '    errors',
    '    cache 30',
    '    reload',
    ...(root.bind ? [`    ${root.bind}`] : []),
    '    hosts {',
    `        ${ip} ${domain}`,
    ...(forward.length ? ['        fallthrough'] : []),
    '    }',
    ...forward,
    '}',
  ];
}

/**
 * The Corefile with exactly one block for `domain`, answering `ip`: any earlier block for that zone (ours, or
 * the predecessor's forward to a node) is replaced, nothing else is touched.
 */
export function withDomainHosts(corefile: string, domain: string, ip: string): { corefile: string; changed: boolean } {
  const blocks = serverBlocks(corefile);
  const wanted = zoneName(domain);
  const drop = new Set<number>();
  for (const b of blocks.filter((x) => x.zones.some((z) => zoneName(z) === wanted))) {
    for (let i = b.start; i <= b.end; i++) drop.add(i);
    const prev = corefile.split('\n')[b.start - 1];
    if (prev?.trim() === MARKER) drop.add(b.start - 1);
  }
  const kept = corefile.split('\n').filter((_, i) => !drop.has(i));
  while (kept.length && kept.at(-1)!.trim() === '') kept.pop();
  const next = [...kept, ...domainBlock(domain, ip, rootDirectives(blocks)), ''].join('\n');
  return { corefile: next, changed: next !== corefile };
}
