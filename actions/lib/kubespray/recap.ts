// Reading ansible-playbook's output: the PLAY RECAP per host, and the first failed task of each host.

export interface HostRecap {
  host: string;
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
}

export interface PlaybookReport {
  recap: HostRecap[];
  /** host → the task that failed first on it, with ansible's message (trimmed). */
  firstFailures: Record<string, { task: string; message: string }>;
}

const RECAP_LINE = /^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)(?:\s+skipped=(\d+))?/;
const TASK = /^TASK \[(.*)\] \*+$/;
const PLAY = /^PLAY \[(.*)\] \*+$/;

/** The play a `PLAY [name] ****` line starts ('PLAY RECAP' for the recap), else undefined. */
export function playHeading(line: string): string | undefined {
  if (line.startsWith('PLAY RECAP')) return 'PLAY RECAP';
  const m = PLAY.exec(line.trimEnd());
  return m ? `play: ${m[1] || '(unnamed)'}` : undefined;
}
// A delegated task names its host as 'node -> delegate'; the failure belongs to the node.
const FAILURE = /^(?:fatal|failed): \[([^\]]+?)(?: -> [^\]]+)?\](?: => \(item=[^)]*\))?: (FAILED!|UNREACHABLE!) => (.*)$/;

export class PlaybookOutputReader {
  private inRecap = false;
  private task = '';
  /** A failure whose JSON result spans lines (assert results are printed indented): its host, kind and text so far. */
  private pending?: { host: string; kind: string; text: string };
  readonly report: PlaybookReport = { recap: [], firstFailures: {} };

  private recordFailure(host: string, kind: string, result: string): void {
    if (this.report.firstFailures[host]) return;
    let message = result;
    try {
      const parsed = JSON.parse(result) as { msg?: unknown };
      if (typeof parsed.msg === 'string' && parsed.msg) message = parsed.msg;
    } catch {
      /* not JSON */
    }
    this.report.firstFailures[host] = { task: this.task, message: `${kind} ${message.replace(/\s+/g, ' ').trim()}`.slice(0, 300) };
  }

  line(raw: string): void {
    const line = raw.trimEnd();
    if (this.pending) {
      this.pending.text += `\n${line}`;
      // the JSON ends with a closing brace at column 0
      if (line === '}') {
        this.recordFailure(this.pending.host, this.pending.kind, this.pending.text);
        this.pending = undefined;
      }
      return;
    }
    if (line.startsWith('PLAY RECAP')) {
      this.inRecap = true;
      return;
    }
    const task = TASK.exec(line);
    if (task) this.task = task[1]!;
    const failure = FAILURE.exec(line);
    if (failure) {
      if (failure[3] === '{') this.pending = { host: failure[1]!, kind: failure[2]!, text: '{' };
      else this.recordFailure(failure[1]!, failure[2]!, failure[3]!);
    }
    if (this.inRecap) {
      const m = RECAP_LINE.exec(line);
      if (m) {
        this.report.recap.push({ host: m[1]!, ok: +m[2]!, changed: +m[3]!, unreachable: +m[4]!, failed: +m[5]!, skipped: +(m[6] ?? 0) });
      }
    }
  }

  /** Call after the last line: a failure cut off mid-JSON is still reported. */
  end(): void {
    if (this.pending) this.recordFailure(this.pending.host, this.pending.kind, this.pending.text);
    this.pending = undefined;
  }
}

export function readPlaybookOutput(text: string): PlaybookReport {
  const r = new PlaybookOutputReader();
  for (const l of text.split('\n')) r.line(l);
  r.end();
  return r.report;
}

/**
 * The hosts `ansible-playbook --list-hosts` names, over all plays, in first-seen order. Each play lists them
 * indented under `hosts (N):`.
 */
export function listedHosts(text: string): string[] {
  const hosts = new Set<string>();
  let inHosts = false;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s+hosts \(\d+\):$/.test(line)) {
      inHosts = true;
      continue;
    }
    const host = /^\s{6,}(\S+)$/.exec(line);
    if (inHosts && host) hosts.add(host[1]!);
    else inHosts = false;
  }
  return [...hosts];
}
