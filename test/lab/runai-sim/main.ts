// The Run:ai simulator as a daemon: `bash scripts/node24.sh test/lab/runai-sim/main.ts --config <file.json>`.
// Prints one JSON line {"url":...} on stdout once listening; stops cleanly on SIGTERM or SIGINT.
// Relative paths in the config are resolved against the config file's folder. State changes while it runs
// go through the /__sim routes (header x-sim-token).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startRunaiSimulator, type RunaiSimOptions } from './server.ts';

export interface RunaiSimDaemonConfig extends Omit<RunaiSimOptions, 'users' | 'controlToken'> {
  /** username -> password inline, and/or username -> file holding the password (keeps secrets out of the config). */
  users?: Record<string, string>;
  passwordFiles?: Record<string, string>;
  /** clientId -> file holding the app secret. */
  appSecretFiles?: Record<string, string>;
  controlToken?: string;
  controlTokenFile?: string;
}

function fail(message: string): never {
  process.stderr.write(`runai-sim: ${message}\n`);
  process.exit(2);
}

function loadConfig(file: string): RunaiSimDaemonConfig {
  let config: RunaiSimDaemonConfig;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as RunaiSimDaemonConfig;
  } catch (err) {
    fail(`cannot read config ${file}: ${(err as Error).message}`);
  }
  if (!config.tls?.cert || !config.tls.key) fail('config: tls needs cert and key');
  if (!config.users && !config.passwordFiles) fail('config: give users or passwordFiles');
  return config;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  if (!values.config) fail('usage: main.ts --config <file.json>');
  const configPath = resolve(values.config);
  const {
    users: inlineUsers,
    passwordFiles,
    appSecretFiles,
    controlTokenFile,
    controlToken: inlineToken,
    ...config
  } = loadConfig(configPath);
  const at = (p: string) => resolve(dirname(configPath), p);
  const readSecret = (p: string) => readFileSync(at(p), 'utf8').trim();

  const users: Record<string, string> = { ...inlineUsers };
  for (const [user, file] of Object.entries(passwordFiles ?? {})) users[user] = readSecret(file);
  const apps: Record<string, string> = { ...config.apps };
  for (const [app, file] of Object.entries(appSecretFiles ?? {})) apps[app] = readSecret(file);
  const controlToken = controlTokenFile !== undefined ? readSecret(controlTokenFile) : inlineToken;

  const sim = await startRunaiSimulator({
    ...config,
    tls: { cert: at(config.tls.cert), key: at(config.tls.key) },
    users,
    apps,
    ...(controlToken ? { controlToken } : {}),
  });
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

main().catch((err: Error) => fail(err.message));
