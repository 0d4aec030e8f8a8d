// What the simulators' daemons (bcm-sim/main.ts, runai-sim/main.ts) share: `--config <file.json>` with paths
// relative to it and secrets read from files, one JSON line {"url":...} once listening, a clean stop on signals.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';

export interface DaemonConfig<T> {
  config: T;
  /** A path from the config, resolved against the config file's folder. */
  at(path: string): string;
  /** The trimmed content of a secret file named in the config. */
  readSecret(path: string): string;
  /** name -> inline secret, overlaid with name -> secret read from a file. */
  secrets(inline: Record<string, string> | undefined, files: Record<string, string> | undefined): Record<string, string>;
}

export function daemonFailure(name: string): (message: string) => never {
  return (message) => {
    process.stderr.write(`${name}: ${message}\n`);
    process.exit(2);
  };
}

export function loadDaemonConfig<T>(name: string, check: (config: T) => string | undefined): DaemonConfig<T> {
  const fail: (message: string) => never = daemonFailure(name);
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  if (!values.config) fail('usage: main.ts --config <file.json>');
  const configPath = resolve(values.config);
  let config: T;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8')) as T;
  } catch (err) {
    fail(`cannot read config ${configPath}: ${(err as Error).message}`);
  }
  const problem = check(config);
  if (problem) fail(`config: ${problem}`);
  const at = (p: string) => resolve(dirname(configPath), p);
  const readSecret = (p: string) => readFileSync(at(p), 'utf8').trim();
  const secrets = (inline: Record<string, string> | undefined, files: Record<string, string> | undefined) => {
    const out: Record<string, string> = { ...inline };
    for (const [key, file] of Object.entries(files ?? {})) out[key] = readSecret(file);
    return out;
  };
  return { config, at, readSecret, secrets };
}

/** Announces the URL and keeps serving until SIGTERM/SIGINT, then closes and exits 0 (1 if closing failed). */
export function serveUntilSignalled(sim: { url: string; close(): Promise<void> }): void {
  process.stdout.write(`${JSON.stringify({ url: sim.url })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
