// Child processes at the edge: arguments as an array (never a shell), output collected and optionally
// streamed line by line, a missing binary turned into a clear message.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { UsageError } from './errors.ts';

export interface ProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /** Called for every stdout and stderr line as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Said when the binary cannot be started, e.g. "install helm, or pass helm-path". */
  missingHint?: string;
}

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runProcess(bin: string, args: string[], opts: ProcessOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    const pending: Promise<void>[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const rl = createInterface({ input: child[stream] });
      pending.push(
        new Promise((done) => {
          rl.on('line', (line) => {
            out[stream] += `${line}\n`;
            opts.onLine?.(line, stream);
          });
          rl.on('close', () => done());
        }),
      );
    }
    child.on('error', (e) => reject(new UsageError(`cannot run ${bin}: ${e.message}${opts.missingHint ? ` (${opts.missingHint})` : ''}`)));
    child.on('close', (code) => {
      void Promise.all(pending).then(() => resolve({ code: code ?? 1, ...out }));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}
