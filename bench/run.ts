// `npm run bench`: measured numbers for this machine, written to bench/results.json.
// Each benchmark runs the real bundle or CLI as its own process, so wall time and peak RSS are the
// whole process's, as a user would see them.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { buildBcmFixture, syntheticSimNodes } from '../test/lab/bcm-sim/fixture.ts';
import { startBcmSimulator } from '../test/lab/bcm-sim/server.ts';
import { ensureLabCa, issueCert } from '../test/lab/pki.ts';

const ROOT = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

interface Measured {
  wallMs: number;
  peakRssMb: number;
  code: number;
}

/** Runs `node args…` and reports its wall time and peak RSS (from the child's own resource usage at exit). */
async function measure(args: string[], env: Record<string, string> = {}): Promise<Measured> {
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

function spread(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return {
    median: Number(median.toFixed(1)),
    min: Number(sorted[0]!.toFixed(1)),
    max: Number(sorted.at(-1)!.toFixed(1)),
    runs: values.length,
  };
}

async function benchDiscovery10k() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-discover-'));
  const ca = ensureLabCa(join(dir, 'pki'));
  const cert = issueCert(ca, 'bcm', ['127.0.0.1'], 'server');
  const nodes = syntheticSimNodes(10_000);
  const sim = await startBcmSimulator({
    fixture: buildBcmFixture(nodes, { version: 'bcm11', subnet: 1 }),
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
  for (const name of ['discover-nodes', 'prepare-nodes', 'kubespray', 'helm-platform', 'runai', 'cli']) {
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

const results = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
  discovery10k: await benchDiscovery10k(),
  bundles: await benchColdStart(),
};
mkdirSync(join(ROOT, 'bench'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
