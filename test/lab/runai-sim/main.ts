// The Run:ai simulator as a daemon: `bash scripts/node24.sh test/lab/runai-sim/main.ts --config <file.json>`.
// Prints one JSON line {"url":...} on stdout once listening; stops cleanly on SIGTERM or SIGINT.
// Relative paths in the config are resolved against the config file's folder. State changes while it runs
// go through the /__sim routes (header x-sim-token).
import { daemonFailure, loadDaemonConfig, serveUntilSignalled } from '../sim-daemon.ts';
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

const fail: (message: string) => never = daemonFailure('runai-sim');

function configProblem(config: RunaiSimDaemonConfig): string | undefined {
  if (!config.tls?.cert || !config.tls.key) return 'tls needs cert and key';
  if (!config.users && !config.passwordFiles) return 'give users or passwordFiles';
  return undefined;
}

async function main(): Promise<void> {
  const {
    config: { users: inlineUsers, passwordFiles, appSecretFiles, controlTokenFile, controlToken: inlineToken, ...config },
    at,
    readSecret,
    secrets,
  } = loadDaemonConfig('runai-sim', configProblem);
  const controlToken = controlTokenFile !== undefined ? readSecret(controlTokenFile) : inlineToken;
  const sim = await startRunaiSimulator({
    ...config,
    tls: { cert: at(config.tls.cert), key: at(config.tls.key) },
    users: secrets(inlineUsers, passwordFiles),
    apps: secrets(config.apps, appSecretFiles),
    ...(controlToken ? { controlToken } : {}),
  });
  serveUntilSignalled(sim);
}

main().catch((err: Error) => fail(err.message));
