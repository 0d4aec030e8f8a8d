// `npm run bench`: measured numbers for this machine, written to bench/results.json.
// Each benchmark runs the real bundle or CLI as its own process, so wall time and peak RSS are the
// whole process's, as a user would see them.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { measure, spread, type Measured } from './measure.ts';
import { benchControlPlane, benchKubeBuild } from './control-plane.ts';
import { benchHelmDag } from './helm-dag.ts';
import { benchPrepare50 } from './prepare50.ts';
import { renderBenchmarks } from './report.ts';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { buildBcmFixture, syntheticSimNodes } from '../test/lab/bcm-sim/fixture.ts';
import { startBcmSimulator } from '../test/lab/bcm-sim/server.ts';
import { ensureLabCa, issueCert } from '../test/lab/pki.ts';

const ROOT = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function benchDiscovery10k() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-discover-'));
  const ca = ensureLabCa(join(dir, 'pki'));
  const cert = issueCert(ca, 'bcm', ['127.0.0.1'], 'server');
  const nodes = syntheticSimNodes(10_000);
  const sim = await startBcmSimulator({
    fixture: buildBcmFixture(nodes, { version: 'bcm11', subnet: 1, networks: 'production' }),
    tls: { cert: cert.cert, key: cert.key, ca: ca.caCert },
    users: { bench: 'bench-password' },
  });
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, 'bench-password');
  const names = nodes.map((n) => n.hostname).sort();
  const spec = yaml.load(readFileSync(join(ROOT, 'clusters/lab.yaml'), 'utf8')) as Record<string, any>;
  spec.name = 'bench-10k';
  spec.bcm = { ...spec.bcm, endpoint: sim.url, username: 'bench', password_file: passwordFile, ca_file: ca.caCert, timeout_seconds: 60 };
  spec.nodes = { control_plane: names.slice(0, 3), workers: names.slice(3) };
  spec.network = { ...spec.network, node_network: { name: 'dgxnet' } };
  const specFile = join(dir, 'spec.yaml');
  writeFileSync(specFile, yaml.dump(spec));
  const runs: Measured[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const m = await measure(['dist/cli/index.js', 'discover', '--spec', specFile, '--out-dir', join(dir, 'out')]);
      if (m.code !== 0) throw new Error(`discover of 10,000 nodes exited ${m.code}`);
      runs.push(m);
    }
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    what: 'bcmkube discover (bundled CLI) of a 10,000-node BCM cluster over TLS: login, getNodes, getNetworks, getCategories, status of 10,000 nodes, select, write inventory',
    wallSeconds: spread(runs.map((r) => r.wallMs / 1000)),
    peakRssMb: spread(runs.map((r) => r.peakRssMb)),
    goal: { wallSeconds: 2, peakRssMb: 200 },
  };
}

async function benchColdStart() {
  const out: Record<string, unknown> = {};
  for (const name of ['discover-nodes', 'prepare-nodes', 'kubespray', 'helm-platform', 'runai', 'report', 'cli']) {
    const runs: Measured[] = [];
    for (let i = 0; i < RUNS; i++)
      runs.push(await measure([`dist/${name}/index.js`, ...(name === 'cli' ? ['--help'] : [])], { GITHUB_OUTPUT: '/dev/null' }));
    out[name] = {
      bundleKb: Math.round(readFileSync(join(ROOT, `dist/${name}/index.js`)).length / 1024),
      coldStartMs: spread(runs.map((r) => r.wallMs)),
      peakRssMb: spread(runs.map((r) => r.peakRssMb)),
    };
  }
  return out;
}

const only = (process.env.BENCH_ONLY ?? 'discovery10k,bundles,prepare50,helmDag,controlPlane').split(',');
const resultsFile = join(ROOT, 'bench/results.json');
const previous = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>) : {};
const results: Record<string, unknown> = {
  ...previous,
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
};
if (only.includes('discovery10k')) results.discovery10k = await benchDiscovery10k();
if (only.includes('bundles')) results.bundles = await benchColdStart();
if (only.includes('prepare50')) results.prepare50 = await benchPrepare50();
if (only.includes('helmDag')) results.helmDag = await benchHelmDag();
if (only.includes('kubeBuild')) results.kubeBuild = await benchKubeBuild();
if (only.includes('controlPlane')) results.controlPlane = await benchControlPlane();
mkdirSync(join(ROOT, 'bench'), { recursive: true });
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(ROOT, 'BENCHMARKS.md'), renderBenchmarks(results));
console.log(JSON.stringify(results, null, 2));
