// The BCM simulator as a daemon: `bash scripts/node24.sh test/lab/bcm-sim/main.ts --config <file.json>`.
// Prints one JSON line {"url":...} on stdout once listening; stops cleanly on SIGTERM or SIGINT.
// Relative paths in the config are resolved against the config file's folder.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBcmFixture, syntheticSimNodes, type SimNodeInput } from './fixture.ts';
import { startBcmSimulator } from './server.ts';

export interface BcmSimDaemonConfig {
  version: 'bcm10' | 'bcm11';
  subnet: number;
  seed?: string;
  /** The fixture's nodes: inline, a JSON file holding the array, or a count of synthetic nodes. */
  nodes?: SimNodeInput[];
  nodesFile?: string;
  syntheticNodes?: number;
  host?: string;
  port?: number;
  tls: { cert: string; key: string; ca: string };
  /** username -> password, or username -> file holding the password (keeps secrets out of the config). */
  users?: Record<string, string>;
  passwordFiles?: Record<string, string>;
  controlToken?: string;
  controlTokenFile?: string;
}

function fail(message: string): never {
  process.stderr.write(`bcm-sim: ${message}\n`);
  process.exit(2);
}

function loadConfig(file: string): BcmSimDaemonConfig {
  let config: BcmSimDaemonConfig;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as BcmSimDaemonConfig;
  } catch (err) {
    fail(`cannot read config ${file}: ${(err as Error).message}`);
  }
  if (config.version !== 'bcm10' && config.version !== 'bcm11') fail(`config: version must be 'bcm10' or 'bcm11'`);
  if (!Number.isInteger(config.subnet) || config.subnet < 0 || config.subnet > 255) fail('config: subnet must be an integer 0-255');
  if (!config.tls?.cert || !config.tls.key || !config.tls.ca) fail('config: tls needs cert, key and ca');
  if ([config.nodes, config.nodesFile, config.syntheticNodes].filter((x) => x !== undefined).length !== 1) {
    fail('config: give exactly one of nodes, nodesFile, syntheticNodes');
  }
  return config;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  if (!values.config) fail('usage: main.ts --config <file.json>');
  const configPath = resolve(values.config);
  const config = loadConfig(configPath);
  const at = (p: string) => resolve(dirname(configPath), p);
  const readSecret = (p: string) => readFileSync(at(p), 'utf8').trim();

  const nodes: SimNodeInput[] =
    config.nodes ??
    (config.nodesFile !== undefined
      ? (JSON.parse(readFileSync(at(config.nodesFile), 'utf8')) as SimNodeInput[])
      : syntheticSimNodes(config.syntheticNodes ?? 0));
  const users: Record<string, string> = { ...config.users };
  for (const [user, file] of Object.entries(config.passwordFiles ?? {})) users[user] = readSecret(file);
  const controlToken = config.controlTokenFile !== undefined ? readSecret(config.controlTokenFile) : config.controlToken;

  const sim = await startBcmSimulator({
    fixture: buildBcmFixture(nodes, { version: config.version, subnet: config.subnet, ...(config.seed ? { seed: config.seed } : {}) }),
    ...(config.host !== undefined ? { host: config.host } : {}),
    ...(config.port !== undefined ? { port: config.port } : {}),
    tls: { cert: at(config.tls.cert), key: at(config.tls.key), ca: at(config.tls.ca) },
    users,
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
