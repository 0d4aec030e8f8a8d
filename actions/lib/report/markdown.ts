// Small Markdown builders for job summaries, PR comments and terminal output.

function cell(value: unknown): string {
  return String(value ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ');
}

export function table(headers: string[], rows: unknown[][]): string {
  const lines = [`| ${headers.map(cell).join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

export function heading(text: string, level = 2): string {
  return `${'#'.repeat(level)} ${text}`;
}

export function bullets(items: string[]): string {
  return items.map((i) => `- ${i}`).join('\n');
}

export function codeBlock(text: string, lang = ''): string {
  return `\`\`\`${lang}\n${text}\n\`\`\``;
}

export interface TimedPhase {
  name: string;
  ms: number;
}

export function timingsTable(phases: TimedPhase[]): string {
  const total = phases.reduce((s, p) => s + p.ms, 0);
  return table(
    ['phase', 'seconds'],
    [...phases.map((p) => [p.name, (p.ms / 1000).toFixed(2)]), ['**total**', `**${(total / 1000).toFixed(2)}**`]],
  );
}

export type FlowOutcome = 'ok' | 'failed' | 'skipped' | 'unchanged' | 'planned';

/** A Mermaid flowchart of steps with dependencies, coloured by outcome. Ids are sanitised. */
export function mermaidFlow(steps: Array<{ id: string; label: string; needs: string[]; outcome?: FlowOutcome }>): string {
  const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');
  const lines = ['flowchart LR'];
  for (const s of steps) lines.push(`  ${id(s.id)}["${s.label.replace(/"/g, "'")}"]`);
  for (const s of steps) for (const n of s.needs) lines.push(`  ${id(n)} --> ${id(s.id)}`);
  const colours: Record<FlowOutcome, string> = {
    ok: 'fill:#d4f7d4,stroke:#2a7a2a',
    failed: 'fill:#f7d4d4,stroke:#a12a2a',
    skipped: 'fill:#eeeeee,stroke:#888888',
    unchanged: 'fill:#e4ecf7,stroke:#4a6a9a',
    planned: 'fill:#fff6d4,stroke:#9a7a2a',
  };
  for (const s of steps) if (s.outcome) lines.push(`  style ${id(s.id)} ${colours[s.outcome]}`);
  return codeBlock(lines.join('\n'), 'mermaid');
}
