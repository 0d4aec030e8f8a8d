// One reporting surface for the actions and the CLI: the same calls write GitHub annotations, log groups,
// outputs and the job summary inside Actions, and plain terminal text in the CLI.
import * as core from '@actions/core';
import { appendFileSync } from 'node:fs';

/** GitHub keeps about 10 annotations of each type per step; the rest are logged without annotation. */
export const MAX_ANNOTATIONS_PER_TYPE = 10;

export interface Reporter {
  readonly kind: 'actions' | 'terminal';
  info(message: string): void;
  warning(message: string, title?: string): void;
  error(message: string, title?: string): void;
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** For streamed output: starts a log group, closing the one open before (endGroup closes the last). */
  startGroup(name: string): void;
  endGroup(): void;
  /** Masks a secret in every later log line; call it the moment a secret is read or derived. */
  secret(value: string): void;
  output(name: string, value: string): void;
  summary(markdown: string): void;
  /** The text with every registered secret replaced by ***. */
  redact(text: string): string;
  /** Values set with output(), for the CLI and tests. */
  readonly outputs: Record<string, string>;
}

abstract class BaseReporter implements Reporter {
  abstract readonly kind: 'actions' | 'terminal';
  readonly outputs: Record<string, string> = {};
  protected readonly secrets = new Set<string>();
  private readonly annotationCounts = { warning: 0, error: 0 };
  private readonly dropped = { warning: 0, error: 0 };

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }
  protected abstract write(line: string): void;
  protected abstract annotate(type: 'warning' | 'error', message: string, title?: string): void;

  info(message: string): void {
    this.write(this.redact(message));
  }
  private bounded(type: 'warning' | 'error', message: string, title?: string): void {
    const text = this.redact(message);
    if (this.annotationCounts[type] < MAX_ANNOTATIONS_PER_TYPE) {
      this.annotationCounts[type]++;
      this.annotate(type, text, title && this.redact(title));
    } else {
      this.dropped[type]++;
      this.write(`${type}: ${title ? `${this.redact(title)}: ` : ''}${text}`);
    }
  }
  warning(message: string, title?: string): void {
    this.bounded('warning', message, title);
  }
  error(message: string, title?: string): void {
    this.bounded('error', message, title);
  }
  /** How many annotations were logged as plain lines because GitHub would drop them. */
  droppedAnnotations(): { warning: number; error: number } {
    return { ...this.dropped };
  }
  secret(value: string): void {
    if (!value) return;
    this.secrets.add(value);
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 4) this.secrets.add(line);
  }
  output(name: string, value: string): void {
    this.outputs[name] = value;
  }
  private groupOpen = false;
  startGroup(name: string): void {
    this.endGroup();
    this.groupOpen = true;
    this.openGroup(this.redact(name));
  }
  endGroup(): void {
    if (this.groupOpen) this.closeGroup();
    this.groupOpen = false;
  }
  protected abstract openGroup(name: string): void;
  protected closeGroup(): void {}
  abstract group<T>(name: string, fn: () => Promise<T>): Promise<T>;
  abstract summary(markdown: string): void;
}

export class ActionsReporter extends BaseReporter {
  readonly kind = 'actions' as const;
  protected write(line: string): void {
    core.info(line);
  }
  protected annotate(type: 'warning' | 'error', message: string, title?: string): void {
    if (type === 'warning') core.warning(message, title ? { title } : {});
    else core.error(message, title ? { title } : {});
  }
  override secret(value: string): void {
    super.secret(value);
    for (const s of this.secrets) core.setSecret(s);
  }
  override output(name: string, value: string): void {
    super.output(name, value);
    core.setOutput(name, this.redact(value));
  }
  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return core.group(this.redact(name), fn);
  }
  protected openGroup(name: string): void {
    core.startGroup(name);
  }
  protected override closeGroup(): void {
    core.endGroup();
  }
  summary(markdown: string): void {
    const file = process.env.GITHUB_STEP_SUMMARY;
    if (file) appendFileSync(file, `${this.redact(markdown)}\n\n`);
  }
}

export class TerminalReporter extends BaseReporter {
  readonly kind = 'terminal' as const;
  readonly lines: string[] = [];
  private readonly sink: (line: string) => void;
  constructor(sink: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {
    super();
    this.sink = sink;
  }
  protected write(line: string): void {
    this.lines.push(line);
    this.sink(line);
  }
  protected annotate(type: 'warning' | 'error', message: string, title?: string): void {
    this.write(`${type}: ${title ? `${title}: ` : ''}${message}`);
  }
  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.write(`▶ ${this.redact(name)}`);
    return fn();
  }
  protected openGroup(name: string): void {
    this.write(`▶ ${name}`);
  }
  summary(markdown: string): void {
    this.write(this.redact(markdown));
  }
}
