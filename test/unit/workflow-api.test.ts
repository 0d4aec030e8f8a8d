// The workflows' GitHub-side decisions, on answers shaped like GitHub's documented REST responses: the approval gate
// (GET /repos/{owner}/{repo}/environments/{name}), the run discover-nodes starts from (workflow runs and their
// artifacts), and the hint an empty secret input gives (a caller passes reusable-workflow secrets by name).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gateDecision, type EnvironmentAnswer } from '../../actions/lib/report/gate.ts';
import { actionInputLabel, flagInputs } from '../../actions/lib/report/inputs.ts';
import { findPreviousInventory, type RunArtifact, type RunsApi, type WorkflowRun } from '../../actions/lib/report/previous-run.ts';
import { reportRun } from '../../actions/lib/report/report-run.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import { STAGES } from '../../actions/lib/stages/catalog.ts';
import { tempDir } from '../temp-dirs.ts';

/** "Get an environment", 200, as in GitHub's REST reference: a wait timer, required reviewers, a branch policy. */
const PROTECTED = {
  id: 161088068,
  node_id: 'MDExOkVudmlyb25tZW50MTYxMDg4MDY4',
  name: 'runai-cluster',
  url: 'https://api.github.com/repos/octo-org/clusters/environments/runai-cluster',
  html_url: 'https://github.com/octo-org/clusters/deployments/activity_log?environments_filter=runai-cluster',
  created_at: '2026-11-23T22:00:40Z',
  updated_at: '2026-11-23T22:00:41Z',
  can_admins_bypass: true,
  protection_rules: [
    { id: 3736, node_id: 'MDQ6R2F0ZTM3MzY=', type: 'wait_timer', wait_timer: 30 },
    {
      id: 3755,
      node_id: 'MDQ6R2F0ZTM3NTU=',
      prevent_self_review: true,
      type: 'required_reviewers',
      reviewers: [
        { type: 'User', reviewer: { login: 'octocat', id: 1, node_id: 'MDQ6VXNlcjE=', type: 'User', site_admin: false } },
        { type: 'Team', reviewer: { id: 1, node_id: 'MDQ6VGVhbTE=', name: 'Platform', slug: 'platform', privacy: 'closed' } },
      ],
    },
    { id: 3756, node_id: 'MDQ6R2F0ZTM3NTY=', type: 'branch_policy' },
  ],
  deployment_branch_policy: { protected_branches: false, custom_branch_policies: true },
};
/** What GitHub leaves when a job names an environment that did not exist: no rules. */
const CREATED_BY_A_JOB = { ...PROTECTED, can_admins_bypass: true, protection_rules: [], deployment_branch_policy: null };
/** Only a wait timer: the job waits, but nobody approves it. */
const TIMER_ONLY = { ...PROTECTED, protection_rules: [PROTECTED.protection_rules[0]] };
const NOT_FOUND = {
  message: 'Not Found',
  documentation_url: 'https://docs.github.com/rest/deployments/environments#get-an-environment',
  status: '404',
};

const decide = (environment: string, answer: EnvironmentAnswer | undefined, allowUnprotected = false) =>
  gateDecision({ environment, repository: 'octo-org/clusters', answer, allowUnprotected, allowLabel: 'allow-unprotected-environment' });

describe('the approval gate (GET /repos/{owner}/{repo}/environments/{name})', () => {
  it('passes an environment with required reviewers, and names them', () => {
    const d = decide('runai-cluster', { status: 200, body: PROTECTED });
    assert.equal(d.pass, true);
    assert.equal(d.protected, true);
    assert.match(d.message, /requires a review by octocat, platform; self-review prevented; administrators may bypass it/);
    assert.doesNotMatch(decide('runai-cluster', { status: 200, body: { ...PROTECTED, can_admins_bypass: false } }).message, /bypass/);
  });

  it('says when the person who started the run may approve it', () => {
    const rules = PROTECTED.protection_rules.map((r) => (r.type === 'required_reviewers' ? { ...r, prevent_self_review: false } : r));
    assert.match(
      decide('runai-cluster', { status: 200, body: { ...PROTECTED, protection_rules: rules } }).message,
      /may approve it \(turn on Prevent self-review\)/,
    );
  });

  const unprotected: [string, string, EnvironmentAnswer | undefined, RegExp][] = [
    [
      'created by the job, no rules',
      'runai-cluster',
      { status: 200, body: CREATED_BY_A_JOB },
      /has no required reviewers.*GitHub Enterprise/,
    ],
    ['a wait timer only', 'runai-cluster', { status: 200, body: TIMER_ONLY }, /has no required reviewers/],
    [
      'not there',
      'runai-cluster',
      { status: 404, body: NOT_FOUND },
      /does not exist in octo-org\/clusters: GitHub creates it for the job without any rule/,
    ],
    ['an empty name', '', undefined, /no environment name was given/],
    [
      'unreadable',
      'runai-cluster',
      { status: 403, body: { message: 'Resource not accessible by integration' } },
      /HTTP 403.*actions: read/,
    ],
  ];
  for (const [what, name, answer, why] of unprotected) {
    it(`fails closed: ${what}`, () => {
      const d = decide(name, answer);
      assert.equal(d.pass, false);
      assert.match(d.message, why);
      assert.match(d.message, /for a lab only, set allow-unprotected-environment: true/);
      assert.match(d.summary, /❌/);
    });
    it(`goes on when the caller accepts it, and the summary says so: ${what}`, () => {
      const d = decide(name, answer, true);
      assert.equal(d.pass, true);
      assert.equal(d.protected, false);
      assert.match(d.summary, /⚠️ approval gate NOT enforced: .*accepted by allow-unprotected-environment.*ran without anyone's approval/);
    });
  }
  it('a required_reviewers rule with nobody in it protects nothing', () => {
    const empty = {
      ...PROTECTED,
      protection_rules: [{ id: 1, node_id: 'x', type: 'required_reviewers', prevent_self_review: true, reviewers: [] }],
    };
    assert.equal(decide('runai-cluster', { status: 200, body: empty }).pass, false);
  });

  it('the report action, kind gate: asks for the named environment, fails the step, writes the summary', async () => {
    const asked: string[] = [];
    const environment = async (token: string, name: string): Promise<EnvironmentAnswer> => {
      asked.push(`${token} ${name}`);
      return { status: 200, body: CREATED_BY_A_JOB };
    };
    const env = { GITHUB_REPOSITORY: 'octo-org/clusters' };
    const reporter = new TerminalReporter(() => {});
    const inputs = flagInputs({ kind: 'gate', environment: 'bcmkube-destructive', 'github-token': 'ghs_x' });
    await assert.rejects(
      reportRun(inputs, reporter, { environment, env }),
      /environment 'bcmkube-destructive' of octo-org\/clusters has no required reviewers/,
    );
    assert.deepEqual(asked, ['ghs_x bcmkube-destructive']);
    assert.equal(reporter.outputs.protected, 'false');

    const lab = new TerminalReporter(() => {});
    await reportRun(flagInputs({ kind: 'gate', environment: 'lab', 'allow-unprotected': 'true', 'github-token': 'ghs_test_token' }), lab, {
      environment,
      env,
    });
    assert.equal(lab.outputs.protected, 'false');
    assert.match(lab.lines.join('\n'), /### Approval gate\n\n> ⚠️ approval gate NOT enforced/);
    const ok = new TerminalReporter(() => {});
    await reportRun(flagInputs({ kind: 'gate', environment: 'runai-cluster', 'github-token': 'ghs_test_token' }), ok, {
      environment: async () => ({ status: 200, body: PROTECTED }),
      env,
    });
    assert.equal(ok.outputs.protected, 'true');
  });
});

/** A workflow run as "List workflow runs for a workflow" returns it (the fields that matter here, and a few more). */
function run(id: number, run_number: number): WorkflowRun & Record<string, unknown> {
  return {
    id,
    name: 'deploy',
    run_number,
    run_attempt: 1,
    event: 'workflow_dispatch',
    status: 'completed',
    conclusion: 'success',
    workflow_id: 159038,
    html_url: `https://github.com/octo-org/clusters/actions/runs/${id}`,
    updated_at: '2026-12-01T10:00:00Z',
  };
}
/** An artifact as "List workflow run artifacts" returns it. */
function artifact(name: string, runId: number, expired = false): RunArtifact & Record<string, unknown> {
  return {
    id: runId * 10 + name.length,
    node_id: 'MDg6QXJ0aWZhY3QxMQ==',
    name,
    size_in_bytes: 556,
    expired,
    workflow_run: { id: runId, head_branch: 'main' },
  };
}

function recordedApi(pages: WorkflowRun[][], artifacts: Record<number, RunArtifact[]>) {
  const calls: string[] = [];
  const api: RunsApi = {
    workflowOf: async (id) => (calls.push(`run ${id}`), 159038),
    successfulRuns: async (wf, page, perPage) => (calls.push(`runs ${wf} page ${page} per ${perPage}`), pages[page - 1] ?? []),
    artifactsOf: async (id) => (calls.push(`artifacts ${id}`), artifacts[id] ?? []),
  };
  return { api, calls };
}

describe('the run discover-nodes starts from (actions: read)', () => {
  it("the newest earlier successful run that left this cluster's inventory, skipping other clusters and expired ones", async () => {
    const { api, calls } = recordedApi([[run(900, 12), run(800, 11), run(700, 10), run(600, 9)]], {
      900: [artifact('inventory_other_discover-nodes_900_1', 900), artifact('report_other_discover-nodes_900_1', 900)],
      800: [artifact('inventory_prod_kubespray_800_1', 800, true)],
      700: [
        artifact('report_prod_discover-nodes_700_1', 700),
        artifact('inventory_prod_discover-nodes_700_1', 700),
        artifact('inventory_prod_prepare-nodes_700_1', 700),
      ],
      600: [artifact('inventory_prod_runai-cluster_600_1', 600)],
    });
    const found = await findPreviousInventory(api, { currentRunId: 1000, clusterKey: 'prod' });
    assert.equal(found?.run.id, 700);
    assert.deepEqual(found?.artifacts, ['inventory_prod_discover-nodes_700_1', 'inventory_prod_prepare-nodes_700_1']);
    assert.deepEqual(calls, ['run 1000', 'runs 159038 page 1 per 30', 'artifacts 900', 'artifacts 800', 'artifacts 700']);
  });

  it("plan.yml names the deploy workflow: its runs are searched, not the plan run's own", async () => {
    const { api, calls } = recordedApi([[run(700, 10)]], { 700: [artifact('inventory_clusters-prod.yaml_runai-cluster_700_1', 700)] });
    const found = await findPreviousInventory(api, { currentRunId: 1000, clusterKey: 'clusters-prod.yaml', workflow: 'deploy.yml' });
    assert.equal(found?.run.id, 700);
    assert.deepEqual(calls, ['runs deploy.yml page 1 per 30', 'artifacts 700']);
  });

  it("'prod' is not 'prod-b': the key ends at the separator", async () => {
    const { api } = recordedApi([[run(5, 1)]], { 5: [artifact('inventory_prod-b_discover-nodes_5_1', 5)] });
    assert.equal(await findPreviousInventory(api, { currentRunId: 6, clusterKey: 'prod' }), undefined);
  });

  it('stops after the runs it searches, and never takes the current run', async () => {
    const many = Array.from({ length: 30 }, (_, i) => run(100 - i, 100 - i));
    const { api, calls } = recordedApi([[run(1000, 200), ...many]], { 1000: [artifact('inventory_prod_kubespray_1000_1', 1000)] });
    assert.equal(await findPreviousInventory(api, { currentRunId: 1000, clusterKey: 'prod', runsSearched: 3 }), undefined);
    assert.deepEqual(
      calls.filter((c) => c.startsWith('artifacts')),
      ['artifacts 100', 'artifacts 99', 'artifacts 98'],
    );
  });

  it('the report action, kind previous-inventory: outputs the run and names it in the summary', async () => {
    const { api } = recordedApi([[run(700, 10)]], { 700: [artifact('inventory_prod_helm-platform_700_2', 700)] });
    const reporter = new TerminalReporter(() => {});
    await reportRun(flagInputs({ kind: 'previous-inventory', 'cluster-key': 'prod', 'github-token': 'ghs_test_token' }), reporter, {
      runs: () => api,
      env: { GITHUB_RUN_ID: '1000' },
    });
    assert.equal(reporter.outputs['run-id'], '700');
    assert.equal(reporter.outputs['run-url'], 'https://github.com/octo-org/clusters/actions/runs/700');
    assert.match(
      reporter.lines.join('\n'),
      /The last inventory of \[run #10 \(id 700\)\]\(https:\/\/github\.com\/octo-org\/clusters\/actions\/runs\/700\)/,
    );

    const none = new TerminalReporter(() => {});
    await reportRun(flagInputs({ kind: 'previous-inventory', 'cluster-key': 'lab', 'github-token': 'ghs_test_token' }), none, {
      runs: () => recordedApi([[]], {}).api,
      env: { GITHUB_RUN_ID: '1000' },
    });
    assert.equal(none.outputs['run-id'], '');
    assert.match(none.lines.join('\n'), /discovery starts fresh/);

    const given = new TerminalReporter(() => {});
    await reportRun(flagInputs({ kind: 'previous-inventory', 'cluster-key': 'prod', 'run-id': '555' }), given, { env: {} });
    assert.equal(given.outputs['run-id'], '555', 'input inventory-run-id wins, without a search');
  });
});

describe('an empty secret input says which workflow secret must be passed by name', () => {
  it('every secret input the workflows fill names its workflow secret', () => {
    const secretInputs = STAGES.flatMap((s) => s.inputs).filter((i) => i.secret);
    assert.ok(secretInputs.length >= 11);
    for (const i of secretInputs) {
      assert.match(i.workflowSecret ?? '', /^[A-Z][A-Z0-9_]+$/, i.name);
      const label = actionInputLabel(i.name, '');
      assert.match(
        label,
        new RegExp(
          `^input '${i.name}' \\(empty: .*the secret ${i.workflowSecret}, which the calling workflow must pass by name under secrets:`,
        ),
      );
      assert.equal(actionInputLabel(i.name, 'x'), `input '${i.name}'`, 'a secret that arrived is named plainly');
    }
    assert.equal(actionInputLabel('spec', ''), "input 'spec'");
  });

  it('a stage run as an action with the password missing says to pass BCM_PASSWORD by name', async () => {
    const { discoverStage } = await import('../../actions/lib/stages/discover.ts');
    const { actionInputs } = await import('../../actions/lib/report/inputs.ts');
    const dir = tempDir('secret-hint-');
    mkdirSync(join(dir, 'out'));
    const saved = { ...process.env };
    try {
      process.env['INPUT_SPEC'] = 'clusters/example.yaml';
      process.env['INPUT_OUT-DIR'] = join(dir, 'out');
      process.env['INPUT_BCM-PASSWORD'] = '';
      await assert.rejects(
        discoverStage(actionInputs(), new TerminalReporter(() => {})),
        /the BCM password is missing: pass input 'bcm-password' \(empty: .*the secret BCM_PASSWORD, which the calling workflow must pass by name/,
      );
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    }
  });
});

describe('a spec that fails validation replaces the plan comment with the failure', () => {
  it('reads validation.md in either download layout (the newest attempt) and puts it in the comment', async () => {
    const reports = tempDir('no-plans-');
    const validation = tempDir('validation-');
    for (const attempt of [1, 2]) {
      mkdirSync(join(validation, `validation_9_${attempt}`));
      writeFileSync(
        join(validation, `validation_9_${attempt}`, 'validation.md'),
        `#### \`clusters/bad.yaml\`\n\n\`\`\`\nattempt ${attempt}: network.pod_cidr overlaps\n\`\`\`\n`,
      );
    }
    const bodies: string[] = [];
    const comments = () => ({
      list: async () => [
        { id: 7, body: '<!-- bcmkube:plan -->\nthe outdated plan', html_url: 'https://github.com/o/r/pull/3#issuecomment-7' },
      ],
      create: async () => assert.fail('the one comment exists'),
      update: async (id: number, body: string) => (
        bodies.push(body),
        { id, body, html_url: 'https://github.com/o/r/pull/3#issuecomment-7' }
      ),
    });
    const inputs = (dir: string) =>
      flagInputs({
        kind: 'plan',
        reports,
        specs: '["clusters/bad.yaml"]',
        validation: dir,
        comment: 'true',
        'github-token': 'ghs_test_token',
        'pull-request': '3',
      });
    await reportRun(inputs(validation), new TerminalReporter(() => {}), { comments, env: {} });
    assert.equal(bodies.length, 1, 'the outdated comment is updated');
    assert.match(
      bodies[0]!,
      /### ❌ Spec validation failed: nothing was planned\n\n#### `clusters\/bad\.yaml`\n\n```\nattempt 2: network\.pod_cidr overlaps/,
    );
    assert.doesNotMatch(bodies[0]!, /attempt 1/);

    const single = tempDir('validation-v7-');
    writeFileSync(join(single, 'validation.md'), '#### `clusters/bad.yaml`\n\n```\nthe one artifact\n```\n');
    await reportRun(inputs(single), new TerminalReporter(() => {}), { comments, env: {} });
    assert.match(bodies[1]!, /Spec validation failed[\s\S]*the one artifact/);
    await reportRun(inputs(tempDir('validation-none-')), new TerminalReporter(() => {}), { comments, env: {} });
    assert.doesNotMatch(bodies[2]!, /validation failed/, 'no failure, no section');
  });
});
