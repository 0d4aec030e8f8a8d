// The lab's services daemon: BCM simulator, Run:ai simulator and the chart repository / tool mirror in one
// Node process (cheaper than three on 2 cores). Started detached by lab.ts; stops on SIGTERM.
// Usage: node24 test/lab/services.ts <services.config.json>
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildBcmFixture, type SimNodeInput } from './bcm-sim/fixture.ts';
import { startBcmSimulator } from './bcm-sim/server.ts';
import { buildRepoContent, ensureRealHelmKubectl, startRepoServer } from './repo/index.ts';
import { startRunaiSimulator } from './runai-sim/server.ts';

interface ServicesConfig {
  dir: string;
  subnet: number;
  bcmVersion: 'bcm10' | 'bcm11';
  nodes: SimNodeInput[];
  bcm: { host: string; port: number; cert: string; key: string; ca: string; users: Record<string, string> };
  runai: { host: string; port: number; cert: string; key: string; users: Record<string, string> };
  repo: { host: string; port: number; cert: string; key: string; dir: string };
  controlToken: string;
  stateFile: string;
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ServicesConfig;
const repoRoot = join(import.meta.dirname, '../..');

const bins = await ensureRealHelmKubectl(join(repoRoot, '.tools/k8s-bin'));
const content = await buildRepoContent(config.repo.dir, { ...bins, manifestPath: join(repoRoot, 'helm/platform.yaml') });
const [bcm, runai, repo] = await Promise.all([
  startBcmSimulator({
    fixture: buildBcmFixture(config.nodes, { version: config.bcmVersion, subnet: config.subnet }),
    host: config.bcm.host,
    port: config.bcm.port,
    tls: { cert: config.bcm.cert, key: config.bcm.key, ca: config.bcm.ca },
    users: config.bcm.users,
    controlToken: config.controlToken,
  }),
  startRunaiSimulator({
    host: config.runai.host,
    port: config.runai.port,
    tls: { cert: config.runai.cert, key: config.runai.key },
    users: config.runai.users,
    // clusters/lab.yaml's runai.domain: the control plane's install command and Keycloak's issuer follow it
    domain: 'localhost',
    controlToken: config.controlToken,
    // The lab's Run:ai cluster has no real agent: it turns Connected on the third status poll after install.
    autoConnectAfterPolls: 3,
  }),
  startRepoServer({
    dir: config.repo.dir,
    host: config.repo.host,
    port: config.repo.port,
    tls: { cert: config.repo.cert, key: config.repo.key },
  }),
]);

writeFileSync(
  config.stateFile,
  JSON.stringify(
    { pid: process.pid, bcm: { url: bcm.url }, runai: { url: runai.url }, repo: { url: repo.url, sha256: content.sha256 } },
    null,
    2,
  ),
);
console.log(`lab services up: BCM ${bcm.url}, Run:ai ${runai.url}, repository ${repo.url}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([bcm.close(), runai.close(), repo.close()]);
  rmSync(config.stateFile, { force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
