// The platform as a dependency graph: which steps may start now, what a failure takes down with it, and the
// timing arithmetic (critical path, sequential sum, simulated makespan) the summary and the benchmark use.
import { UsageError } from '../util/errors.ts';

export interface DagStep {
  name: string;
  needs: string[];
}

export type StepState = 'pending' | 'running' | 'ok' | 'failed' | 'skipped';

/** Steps in an order where each comes after its needs; names an unknown need or a cycle. */
export function dependencyOrder<T extends DagStep>(steps: T[], source = 'helm/platform.yaml', known = new Set<string>()): T[] {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const order: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: T, path: string[]) => {
    if (state.get(s.name) === 'done') return;
    if (state.get(s.name) === 'visiting') throw new UsageError(`${source}: dependency cycle ${[...path, s.name].join(' → ')}`);
    state.set(s.name, 'visiting');
    for (const n of s.needs) {
      const dep = byName.get(n);
      if (dep) visit(dep, [...path, s.name]);
      else if (!known.has(n)) throw new UsageError(`${source}: ${s.name} needs '${n}', which is not a release`);
    }
    state.set(s.name, 'done');
    order.push(s);
  };
  for (const s of steps) visit(s, []);
  return order;
}

/** Every step that needs `name`, directly or through others. */
export function transitiveDependents(steps: DagStep[], name: string): string[] {
  const out = new Set<string>();
  const walk = (n: string) => {
    for (const s of steps)
      if (s.needs.includes(n) && !out.has(s.name)) {
        out.add(s.name);
        walk(s.name);
      }
  };
  walk(name);
  return steps.map((s) => s.name).filter((n) => out.has(n));
}

/** Pending steps whose needs all finished well, in graph order, at most `free` of them. */
export function readySteps(ordered: DagStep[], state: ReadonlyMap<string, StepState>, free: number): string[] {
  if (free <= 0) return [];
  return ordered
    .filter((s) => state.get(s.name) === 'pending' && s.needs.every((n) => state.get(n) === 'ok'))
    .slice(0, free)
    .map((s) => s.name);
}

export interface StepResult<R> {
  status: 'ok' | 'failed' | 'skipped';
  value?: R;
  /** Why a step failed unexpectedly (its runner threw). */
  error?: string;
  /** For a skipped step: the failed step it needed, directly or not. */
  because?: string;
}

/**
 * Runs every step once its needs are done, at most `concurrency` at a time. A failed step skips only its
 * transitive dependents; everything else still runs.
 */
export async function runDag<R>(
  steps: DagStep[],
  concurrency: number,
  run: (name: string) => Promise<{ ok: boolean; value: R }>,
  onSkip?: (name: string, because: string) => void,
): Promise<Map<string, StepResult<R>>> {
  const ordered = dependencyOrder(steps);
  const state = new Map<string, StepState>(ordered.map((s) => [s.name, 'pending']));
  const results = new Map<string, StepResult<R>>();
  let running = 0;
  return new Promise((resolve) => {
    const settle = (name: string, r: StepResult<R>) => {
      running--;
      state.set(name, r.status);
      results.set(name, r);
      if (r.status === 'failed')
        for (const d of transitiveDependents(ordered, name))
          if (state.get(d) === 'pending') {
            state.set(d, 'skipped');
            results.set(d, { status: 'skipped', because: name });
            onSkip?.(d, name);
          }
      pump();
    };
    const pump = () => {
      for (const name of readySteps(ordered, state, concurrency - running)) {
        state.set(name, 'running');
        running++;
        run(name).then(
          (r) => settle(name, { status: r.ok ? 'ok' : 'failed', value: r.value }),
          (err: unknown) => settle(name, { status: 'failed', error: err instanceof Error ? err.message : String(err) }),
        );
      }
      if (running === 0) resolve(new Map(ordered.map((s) => [s.name, results.get(s.name)!])));
    };
    pump();
  });
}

/** The longest chain of needs by duration: no schedule can finish sooner. */
export function criticalPath(steps: DagStep[], durations: Record<string, number>): { length: number; path: string[] } {
  const best = new Map<string, { length: number; path: string[] }>();
  for (const s of dependencyOrder(steps)) {
    const before = s.needs
      .map((n) => best.get(n))
      .filter((b): b is { length: number; path: string[] } => Boolean(b))
      .reduce((a, b) => (b.length > a.length ? b : a), { length: 0, path: [] as string[] });
    best.set(s.name, { length: before.length + (durations[s.name] ?? 0), path: [...before.path, s.name] });
  }
  return [...best.values()].reduce((a, b) => (b.length > a.length ? b : a), { length: 0, path: [] });
}

/** When each step would start and the whole would end with these durations and the scheduler above. */
export function simulateDag(
  steps: DagStep[],
  durations: Record<string, number>,
  concurrency: number,
): { makespan: number; starts: Record<string, number> } {
  const ordered = dependencyOrder(steps);
  const state = new Map<string, StepState>(ordered.map((s) => [s.name, 'pending']));
  const ends: Array<{ name: string; at: number }> = [];
  const starts: Record<string, number> = {};
  let now = 0;
  for (;;) {
    for (const name of readySteps(ordered, state, concurrency - ends.length)) {
      state.set(name, 'running');
      starts[name] = now;
      ends.push({ name, at: now + (durations[name] ?? 0) });
    }
    if (!ends.length) break;
    ends.sort((a, b) => a.at - b.at);
    now = ends[0]!.at;
    while (ends.length && ends[0]!.at === now) state.set(ends.shift()!.name, 'ok');
  }
  return { makespan: now, starts };
}
