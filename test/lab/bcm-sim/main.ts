// The BCM simulator as a daemon: `bash scripts/node24.sh test/lab/bcm-sim/main.ts --config <file.json>`.
// Prints one JSON line {"url":...} on stdout once listening; stops cleanly on SIGTERM or SIGINT.
// Relative paths in the config are resolved against the config file's folder.
import { readFileSync } from 'node:fs';
import { daemonFailure, loadDaemonConfig, serveUntilSignalled } from '../sim-daemon.ts';
import { buildBcmFixture, syntheticSimNodes, type NetworkLayout, type SimNodeInput } from './fixture.ts';
import { startBcmSimulator } from './server.ts';

export interface BcmSimDaemonConfig {
  version: 'bcm10' | 'bcm11';
  subnet: number;
  seed?: string;
  /** capture (default): shaped like the real BCM 11 capture; production: nodes reached on a separate dgxnet. */
  networks?: NetworkLayout;
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

const fail: (message: string) => never = daemonFailure('bcm-sim');

function configProblem(config: BcmSimDaemonConfig): string | undefined {
  if (config.networks !== undefined && config.networks !== 'capture' && config.networks !== 'production')
    return `networks must be 'capture' or 'production'`;
  if (config.version !== 'bcm10' && config.version !== 'bcm11') return `version must be 'bcm10' or 'bcm11'`;
  if (!Number.isInteger(config.subnet) || config.subnet < 0 || config.subnet > 255) return 'subnet must be an integer 0-255';
  if (!config.tls?.cert || !config.tls.key || !config.tls.ca) return 'tls needs cert, key and ca';
  if ([config.nodes, config.nodesFile, config.syntheticNodes].filter((x) => x !== undefined).length !== 1)
    return 'give exactly one of nodes, nodesFile, syntheticNodes';
  return undefined;
}

async function main(): Promise<void> {
  const { config, at, readSecret, secrets } = loadDaemonConfig('bcm-sim', configProblem);
  const nodes: SimNodeInput[] =
    config.nodes ??
    (config.nodesFile !== undefined
      ? (JSON.parse(readFileSync(at(config.nodesFile), 'utf8')) as SimNodeInput[])
      : syntheticSimNodes(config.syntheticNodes ?? 0));
  const users = secrets(config.users, config.passwordFiles);
  const controlToken = config.controlTokenFile !== undefined ? readSecret(config.controlTokenFile) : config.controlToken;

  const sim = await startBcmSimulator({
    fixture: buildBcmFixture(nodes, {
      version: config.version,
      subnet: config.subnet,
      ...(config.seed ? { seed: config.seed } : {}),
      ...(config.networks ? { networks: config.networks } : {}),
    }),
    ...(config.host !== undefined ? { host: config.host } : {}),
    ...(config.port !== undefined ? { port: config.port } : {}),
    tls: { cert: at(config.tls.cert), key: at(config.tls.key), ca: at(config.tls.ca) },
    users,
    ...(controlToken ? { controlToken } : {}),
  });
  serveUntilSignalled(sim);
}

main().catch((err: Error) => fail(err.message));
