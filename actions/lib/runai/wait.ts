// Bounded waits: poll until something is ready, with a growing pause, and a clear message at the deadline.
import { StageError } from '../util/errors.ts';

export type Poll<T> = { done: true; value: T } | { done: false; note: string };

export interface WaitOptions {
  /** First pause between attempts; doubles up to maxIntervalMs. */
  minIntervalMs?: number;
  maxIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Told each time an attempt was not ready yet. */
  onWait?: (note: string, elapsedMs: number) => void;
}

/** The wait ran out; `last` is what the last attempt said. */
export class WaitTimeout extends StageError {
  readonly last: string;
  constructor(message: string, last: string) {
    super(message);
    this.last = last;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Calls `attempt` until it is done or `timeoutMs` has passed (at least one attempt is always made). */
export async function waitUntil<T>(what: string, timeoutMs: number, attempt: () => Promise<Poll<T>>, opts: WaitOptions = {}): Promise<T> {
  const pause = opts.sleep ?? sleep;
  const started = Date.now();
  let interval = opts.minIntervalMs ?? 250;
  const max = opts.maxIntervalMs ?? 5000;
  for (;;) {
    const r = await attempt();
    if (r.done) return r.value;
    const elapsed = Date.now() - started;
    opts.onWait?.(r.note, elapsed);
    const left = timeoutMs - elapsed;
    if (left <= 0) throw new WaitTimeout(`${what}: not done after ${Math.round(elapsed / 1000)}s (last: ${r.note})`, r.note);
    await pause(Math.min(interval, left));
    interval = Math.min(interval * 2, max);
  }
}
