// Measuring a whole process: wall time and peak RSS (the child's own resource usage at exit).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

export interface Measured {
  wallMs: number;
  peakRssMb: number;
  code: number;
}

/** Runs `node args…` and reports its wall time and peak RSS (from the child's own resource usage at exit). */
export async function measure(args: string[], env: Record<string, string> = {}): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-rss-'));
  const hook = join(dir, 'rss.mjs');
  const out = join(dir, 'rss.txt');
  writeFileSync(
    hook,
    `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));\n`,
  );
  const start = performance.now();
  const code = await new Promise<number>((res) => {
    const child = spawn(process.execPath, ['--import', hook, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('exit', (c) => res(c ?? -1));
  });
  const wallMs = performance.now() - start;
  const peakRssMb = Number(readFileSync(out, 'utf8')) / 1024;
  rmSync(dir, { recursive: true, force: true });
  return { wallMs, peakRssMb, code };
}

export function spread(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return {
    median: Number(median.toFixed(1)),
    min: Number(sorted[0]!.toFixed(1)),
    max: Number(sorted.at(-1)!.toFixed(1)),
    runs: values.length,
  };
}
