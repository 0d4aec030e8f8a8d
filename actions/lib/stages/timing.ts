// Per-phase wall time for the job summary.
import type { TimedPhase } from '../report/markdown.ts';

export async function timed<T>(phases: TimedPhase[], name: string, fn: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    phases.push({ name, ms: performance.now() - start });
  }
}
