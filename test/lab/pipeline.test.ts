// The whole chain on the lab, as `bcmkube deploy` and `bcmkube plan` run it (and the workflow's jobs, one stage
// each): discover → prepare → kubespray → helm-platform → runai backend → runai cluster, every secret input a
// unique canary. Asserts: a second deploy changes nothing (from the stages' own reports and the lab's state), two
// plans on the converged lab report no changes in every stage, and no canary — nor its base64 form — appears in
// any log line, output, summary, report, artifact, rendered file, recorded helm/kubectl call, or under RUNNER_TEMP.
// The cluster stand-in's own state is not scanned: like a real cluster, it holds Helm release values.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StageFacts } from '../../actions/lib/report/plan.ts';
import { issueCert } from './pki.ts';
import { startRunaiSimulator, type RunaiSimulator } from './runai-sim/server.ts';
import { startStageLab, type CliRun, type StageLab } from './stage-fixture.ts';

const SUBNET = 32;
const dir = mkdtempSync(join(tmpdir(), 'pipeline-'));
const canary = (what: string) => `Canary-${what}-${randomBytes(6).toString('hex')}-9!`;
const CANARY = {
  bcmPassword: canary('bcm'),
  jfrogToken: canary('jfrog'),
  runaiPassword: canary('runai'),
  grafanaPassword: canary('grafana'),
};
const ADMIN = 'admin@lab.local';
const STEPS = ['discover-nodes', 'prepare-nodes', 'kubespray', 'helm-platform', 'runai-backend', 'runai-cluster'];

let stage: StageLab;
let sim: RunaiSimulator;
let spec: string;
const runs: CliRun[] = [];
const secretFiles: string[] = [];

function secretFile(name: string, text: string): string {
  mkdirSync(join(dir, 'secrets'), { recursive: true, mode: 0o700 });
  const f = join(dir, 'secrets', name);
  writeFileSync(f, text, { mode: 0o600 });
  secretFiles.push(f);
  return f;
}

const chain = async (command: 'deploy' | 'plan') => {
  const r = await stage.cli(
    command,
    '--spec',
    spec,
    '--out',
    stage.out,
    '--jfrog-token-file',
    secretFile('jfrog', CANARY.jfrogToken),
    '--grafana-admin-password-file',
    secretFile('grafana', CANARY.grafanaPassword),
  );
  runs.push(r);
  return r;
};
const facts = (kind: 'report' | 'plan'): StageFacts[] =>
  STEPS.map((s) => JSON.parse(readFileSync(join(stage.out, kind, `${s}.json`), 'utf8')) as StageFacts);
const helmChanges = () => stage.standinLog().filter((l) => l.tool === 'helm' && ['upgrade', 'install'].includes(l.argv[2] ?? l.argv[0]));

function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((f) => join(root, f))
    .filter((f) => statSync(f).isFile());
}

describe('the whole pipeline on the lab, with canary secrets', () => {
  before(async () => {
    stage = await startStageLab({ dir, subnet: SUBNET, through: 'none', bcmPassword: CANARY.bcmPassword });
    const tls = issueCert(stage.lab.ca, 'runai-sim', ['localhost', '127.0.0.1'], 'server');
    // the control plane's global.domain (runai.domain below): its install command and Keycloak's issuer follow it
    sim = await startRunaiSimulator({
      tls,
      users: { [ADMIN]: CANARY.runaiPassword },
      domain: 'localhost',
      installInfoLagCalls: 1,
      autoConnectAfterPolls: 2,
    });
    spec = stage.writeSpec('pipeline', (s) => {
      s.mirrors.charts = `${stage.repo.url}/charts`;
      s.runai = {
        domain: 'localhost',
        url: sim.url,
        admin_user: ADMIN,
        password_file: secretFile('runai', CANARY.runaiPassword),
        tls: { source: 'provided', cert_file: tls.cert, key_file: tls.key, ca_file: stage.lab.ca.caCert },
      };
    });
  });
  after(async () => {
    await sim?.close();
    await stage?.close();
  });

  it('deploy runs every stage in order and hands the inventory on as artifacts', async () => {
    const r = await chain('deploy');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /deploy: ran discover-nodes, prepare-nodes, kubespray, helm-platform, runai-backend, runai-cluster\./);
    assert.deepEqual(readdirSync(join(stage.out, 'artifacts')).sort(), STEPS.map((s) => `inventory-${s}.json`).sort());
    const inv = JSON.parse(readFileSync(join(stage.out, 'inventory.json'), 'utf8'));
    assert.equal(inv.kubernetes.registeredNodes.length, 5);
    assert.equal(inv.platform.releases.length, 8);
    assert.equal(inv.runai.clusterStatus, 'Connected');
    assert.equal(sim.clusters().length, 1);
  });

  it('a second deploy on the converged lab changes nothing: 0 nodes, 0 tasks, 0 releases, the same Run:ai cluster', async () => {
    const helmBefore = helmChanges().length;
    const r = await chain('deploy');
    assert.equal(r.code, 0, r.out);
    const byStep = Object.fromEntries(facts('report').map((f) => [f.key, f]));
    for (const step of STEPS) assert.equal(byStep[step]!.changes, false, `${step} reports changes: ${JSON.stringify(byStep[step])}`);
    assert.equal(byStep['prepare-nodes']!.counts.changed, 0);
    assert.equal(byStep['kubespray']!.counts['changed tasks'], 0);
    assert.equal(byStep['helm-platform']!.counts.unchanged, 8);
    assert.equal(helmChanges().length, helmBefore, 'no helm upgrade --install was run');
    assert.equal(sim.clusters().length, 1, 'no second Run:ai cluster');
  });

  it('plan twice on the converged lab: no changes in every stage, both times', async () => {
    for (let i = 0; i < 2; i++) {
      const helmBefore = helmChanges().length;
      const r = await chain('plan');
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /^plan: no changes in any stage\.$/m);
      for (const f of facts('plan')) assert.equal(f.changes, false, `${f.key}: ${JSON.stringify(f)}`);
      assert.equal(helmChanges().length, helmBefore, 'a plan changes nothing');
      assert.match(readFileSync(join(stage.out, 'plan.md'), 'utf8'), /kubespray/);
    }
  });

  it('no canary, nor its base64, in any log line, output, summary, report, artifact, recorded call or runner temp file', () => {
    const keys = ['keys/service', 'admin'].map((k) => readFileSync(join(dir, k), 'utf8'));
    const keyLines = keys.flatMap((k) => k.split('\n').filter((l) => l.length > 40 && !l.startsWith('-----')));
    const needles = [...Object.values(CANARY), ...keyLines].flatMap((c) => [c, Buffer.from(c).toString('base64')]);
    assert.deepEqual(readdirSync(join(dir, 'runner-temp')), [], 'RUNNER_TEMP is empty after every stage');
    const places: Array<[string, string]> = [
      ...runs.map((r, i) => [`run ${i + 1}: log, summaries and annotations`, r.out] as [string, string]),
      ...runs.map((r, i) => [`run ${i + 1}: outputs`, JSON.stringify(r.outputs)] as [string, string]),
      ['helm/kubectl calls recorded by the cluster stand-in', JSON.stringify(stage.standinLog())],
      ...filesUnder(stage.out).map((f) => [f, readFileSync(f, 'latin1')] as [string, string]),
    ];
    assert.ok(places.length > 40, `scanned ${places.length} places`);
    for (const [where, text] of places)
      for (const n of needles) assert.ok(!text.includes(n), `a secret (${n.slice(0, 12)}…) leaked into ${where}`);
  });
});
