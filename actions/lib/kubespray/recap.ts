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
  readonly report: PlaybookReport = { recap: [], firstFailures: {} };

  line(raw: string): void {
    const line = raw.trimEnd();
    if (line.startsWith('PLAY RECAP')) {
      this.inRecap = true;
      return;
    }
    const task = TASK.exec(line);
    if (task) this.task = task[1]!;
    const failure = FAILURE.exec(line);
    if (failure && !this.report.firstFailures[failure[1]!]) {
      let message = failure[3]!;
      try {
        const parsed = JSON.parse(message) as { msg?: string };
        if (parsed.msg) message = parsed.msg;
      } catch {
        /* not JSON */
      }
      this.report.firstFailures[failure[1]!] = { task: this.task, message: `${failure[2]} ${message}`.slice(0, 300) };
    }
    if (this.inRecap) {
      const m = RECAP_LINE.exec(line);
      if (m) {
        this.report.recap.push({ host: m[1]!, ok: +m[2]!, changed: +m[3]!, unreachable: +m[4]!, failed: +m[5]!, skipped: +(m[6] ?? 0) });
      }
    }
  }
}

export function readPlaybookOutput(text: string): PlaybookReport {
  const r = new PlaybookOutputReader();
  for (const l of text.split('\n')) r.line(l);
  return r.report;
}
