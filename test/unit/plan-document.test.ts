// The plan document (one PR comment, bounded), the stage reports every stage run leaves, the find-or-update of
// the comment against a fake GitHub, and the report action that puts a workflow run's reports together.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { diffInventories, type InventoryChange } from '../../actions/lib/inventory/diff.ts';
import { writeInventory } from '../../actions/lib/inventory/document.ts';
import type { Inventory, InventoryNode } from '../../actions/lib/inventory/types.ts';
import { flagInputs } from '../../actions/lib/report/inputs.ts';
import {
  COMMENT_LIMIT,
  latestPlans,
  PLAN_MARKER,
  planHasNoChanges,
  renderPlanDocument,
  renderRunSummary,
  stageChanges,
  type StageFacts,
  type StageReport,
} from '../../actions/lib/report/plan.ts';
import { upsertComment, type CommentsApi, type IssueComment } from '../../actions/lib/report/pr-comment.ts';
import { reportRun } from '../../actions/lib/report/report-run.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import { readStageReports, withStageReport, writeStageReport } from '../../actions/lib/report/stage-report.ts';
import { STAGES } from '../../actions/lib/stages/catalog.ts';
import { PIPELINE } from '../../actions/lib/stages/pipeline.ts';
import { tempDir } from '../temp-dirs.ts';

function node(hostname: string, extra: Partial<InventoryNode> = {}): InventoryNode {
  return {
    hostname,
    uuid: `uuid-${hostname}`,
    mac: '00:11:22:33:44:55',
    status: 'UP',
    roles: ['worker'],
    address: '127.0.1.5',
    network: 'dgxnet',
    addresses: [{ network: 'dgxnet', interface: 'ens1', ip: '127.0.1.5' }],
    history: [],
    ...extra,
  };
}
function inventory(nodes: InventoryNode[]): Inventory {
  return { schemaVersion: 1, cluster: 'dgx-lab', specHash: 'abc', bcm: { endpoint: 'https://127.0.1.254:8081' }, nodes, history: [] };
}

function report(key: string, over: Partial<StageFacts> = {}, markdown = `## ${key}\n\nall good`): StageReport {
  const step = PIPELINE.find((s) => s.key === key)!;
  return {
    facts: {
      key,
      action: step?.action ?? key,
      ...(step?.phase ? { phase: step.phase } : {}),
      cluster: 'dgx-lab',
      spec: 'clusters/lab.yaml',
      plan: true,
      ok: true,
      changes: false,
      counts: {},
      seconds: 1.5,
      at: '2026-11-24T10:00:00.000Z',
      ...over,
    },
    markdown,
  };
}
const allQuiet = () => PIPELINE.map((s) => report(s.key));

describe('what each stage says it would change', () => {
  it('helm-platform: counts per outcome; anything but unchanged/off is a change', () => {
    const releases = (o: string[]) => ({ releases: JSON.stringify(o.map((outcome, i) => ({ name: `r${i}`, version: '1', outcome }))) });
    assert.deepEqual(stageChanges('helm-platform', true, releases(['unchanged', 'unchanged', 'off']), undefined), {
      changes: false,
      counts: { unchanged: 2, off: 1 },
    });
    assert.deepEqual(stageChanges('helm-platform', true, releases(['install', 'upgrade', 'unchanged']), undefined), {
      changes: true,
      counts: { install: 1, upgrade: 1, unchanged: 1 },
    });
  });

  it('prepare-nodes: nodes whose service user would change; kubespray: its own changes output', () => {
    const decisions = [{ steps: [] }, { steps: ['user'] }, { steps: [] }];
    assert.deepEqual(stageChanges('prepare-nodes', true, {}, { decisions }), { changes: true, counts: { nodes: 3, 'would change': 1 } });
    assert.deepEqual(stageChanges('prepare-nodes', true, {}, { decisions: [{ steps: [] }] }).changes, false);
    assert.deepEqual(stageChanges('prepare-nodes', false, { 'changed-nodes': '["a"]' }, { decisions }).counts, { nodes: 3, changed: 1 });
    assert.equal(stageChanges('kubespray', true, { changes: 'false' }, {}).changes, false);
    assert.equal(stageChanges('kubespray', true, { changes: 'true' }, {}).changes, true);
    const recap = JSON.stringify([
      { host: 'a', changed: 0 },
      { host: 'b', changed: 3 },
    ]);
    assert.deepEqual(stageChanges('kubespray', false, { recap }, {}), { changes: true, counts: { hosts: 2, 'changed tasks': 3 } });
    assert.equal(stageChanges('runai', true, {}, {}).changes, null, 'a stage that does not say');
    assert.equal(stageChanges('runai', true, { changes: 'false' }, {}).changes, false, 'output changes wins');
  });

  it('discover-nodes: the inventory diff decides; none to compare with says nothing', () => {
    const before = inventory([node('a'), node('b'), node('c')]);
    const after = inventory([node('a'), node('b', { address: '127.0.1.9', roles: ['worker', 'gpu_worker'] }), node('d')]);
    const diff = diffInventories(before, after);
    assert.deepEqual(diff, [
      { hostname: 'b', change: 'changed', detail: 'roles worker → worker, gpu_worker; address 127.0.1.5 → 127.0.1.9' },
      { hostname: 'c', change: 'removed', detail: 'was worker' },
      { hostname: 'd', change: 'added', detail: 'worker at 127.0.1.5' },
    ]);
    assert.deepEqual(diffInventories(before, structuredClone(before)), []);
    assert.deepEqual(stageChanges('discover-nodes', true, { 'node-count': '3' }, {}, diff), {
      changes: true,
      counts: { nodes: 3, 'changed nodes': 1, 'removed nodes': 1, 'added nodes': 1 },
    });
    assert.equal(stageChanges('discover-nodes', true, { 'node-count': '3' }, {}, []).changes, false);
    assert.equal(stageChanges('discover-nodes', true, { 'node-count': '3' }, {}).changes, null);
  });
});

describe('the plan document', () => {
  it('starts with the marker; says "No changes" only when every step ran and has nothing to change', () => {
    const quiet = renderPlanDocument([{ spec: 'clusters/lab.yaml', reports: allQuiet() }]);
    assert.ok(quiet.startsWith(`${PLAN_MARKER}\n`));
    assert.match(quiet, /\*\*No changes\*\* in the cluster/);
    assert.match(quiet, /### cluster `dgx-lab` \(`clusters\/lab\.yaml`\): no changes/);
    for (const s of PIPELINE) assert.match(quiet, new RegExp(`\\| ${s.key} \\| no changes \\|`));
    assert.ok(planHasNoChanges(allQuiet()));
    assert.equal(planHasNoChanges(allQuiet().slice(0, 5)), false, 'a step that did not run is not "no changes"');
    assert.equal(planHasNoChanges([...allQuiet().slice(0, 5), report('runai-cluster', { changes: null })]), false);
  });

  it('shows what would change, each stage in its own section, and which steps never ran after a failure', () => {
    const reports = [
      report('discover-nodes', {
        counts: { nodes: 5, 'added nodes': 1 },
        changes: true,
        inventoryChanges: [{ hostname: 'dgx-09', change: 'added', detail: 'worker at 127.0.1.9' }],
      }),
      report(
        'prepare-nodes',
        { counts: { nodes: 5, 'would change': 1 }, changes: true },
        '## prepare-nodes (plan)\n\n| node | would change |',
      ),
      report('kubespray', { ok: false, changes: null, error: 'cannot read /etc/kubernetes/admin.conf on cpu-03\nmore detail' }),
    ];
    const doc = renderPlanDocument([{ spec: 'clusters/lab.yaml', reports }], { runUrl: 'https://github.example/o/r/actions/runs/1' });
    assert.match(doc, /\| discover-nodes \| would change \| 5 nodes, 1 added nodes \|/);
    assert.match(doc, /\| kubespray \| failed \| cannot read \/etc\/kubernetes\/admin\.conf on cpu-03 \|/);
    assert.match(doc, /\| helm-platform \| not run \(an earlier stage failed\) \|/);
    assert.match(doc, /\| runai-cluster \| not run \(an earlier stage failed\) \|/);
    assert.match(doc, /<details><summary><b>prepare-nodes<\/b>: would change<\/summary>\n\n## prepare-nodes \(plan\)/);
    assert.match(
      doc,
      /\*\*Inventory diff\*\* against the earlier inventory:\n\n\| node \| change \| detail \|\n\| --- \| --- \| --- \|\n\| dgx-09 \| added \|/,
    );
    assert.match(doc, /cluster `dgx-lab` \(`clusters\/lab\.yaml`\): failed/);
    assert.match(doc, /\[Run\]\(https:\/\/github\.example\/o\/r\/actions\/runs\/1\)/);
  });

  it(`stays within GitHub's ${COMMENT_LIMIT}-character limit, closing what it cuts and saying so`, () => {
    const big = (key: string) =>
      report(
        key,
        { changes: true },
        `## ${key}\n\n\`\`\`mermaid\n${'flowchart LR\n  a --> b\n'.repeat(2500)}\`\`\`\n\n${'| x | y |\n'.repeat(500)}`,
      );
    const plans = [
      { spec: 'clusters/a.yaml', reports: PIPELINE.map((s) => big(s.key)) },
      { spec: 'clusters/b.yaml', reports: PIPELINE.map((s) => big(s.key)) },
    ];
    const doc = renderPlanDocument(plans, { runUrl: 'https://github.example/run/7' });
    assert.ok(doc.length <= COMMENT_LIMIT, `${doc.length} characters`);
    assert.ok(doc.startsWith(PLAN_MARKER));
    assert.match(
      doc,
      /Shortened to fit GitHub's 65,536-character limit.*The full plan is in the job summaries of \[the run\]\(https:\/\/github\.example\/run\/7\)/s,
    );
    assert.match(doc, /clusters\/b\.yaml/, 'every spec keeps its overview');
    assert.equal(doc.split('\n').filter((l) => l.startsWith('```')).length % 2, 0, 'code fences balanced');
    assert.equal((doc.match(/<details>/g) ?? []).length, (doc.match(/<\/details>/g) ?? []).length, '<details> balanced');
    const small = renderPlanDocument([{ spec: 'clusters/lab.yaml', reports: allQuiet() }], { limit: 5000 });
    assert.doesNotMatch(small, /Shortened/, 'a small plan is whole');
  });

  it('a re-run counts: each step its newest report, nothing from an attempt that got further; a spec without any is named', () => {
    const at = (min: number) => new Date(Date.UTC(2026, 10, 24, 10, min)).toISOString();
    // Attempt 1 (10:00-10:05) planned every step; attempt 2 (10:30) stopped at discover-nodes.
    const first = PIPELINE.map((s, i) => report(s.key, { at: at(i) }));
    const second = [report('discover-nodes', { ok: false, changes: null, error: 'BCM down', at: at(30) })];
    const plans = latestPlans([...first, ...second], ['clusters/lab.yaml', 'clusters/prod.yaml']);
    assert.deepEqual(
      plans.map((p) => [p.spec, p.reports.map((r) => `${r.facts.key} ${r.facts.ok}`)]),
      [
        ['clusters/lab.yaml', ['discover-nodes false']],
        ['clusters/prod.yaml', []],
      ],
    );
    assert.match(plans[1]!.note!, /No plan arrived/);
    assert.match(renderPlanDocument(plans), /### \(`clusters\/prod\.yaml`\): not run\n\n> No plan arrived/);
    // The deploy workflow: one job per step; re-running the failed kubespray job (attempt 2) keeps attempt 1's earlier steps.
    const deploySteps = [
      report('discover-nodes', { at: at(0) }),
      report('prepare-nodes', { at: at(2) }),
      report('kubespray', { ok: false, at: at(4) }),
    ];
    const rerun = [report('kubespray', { at: at(40) }), report('helm-platform', { at: at(50) })];
    assert.deepEqual(
      latestPlans([...deploySteps, ...rerun])[0]!.reports.map((r) => `${r.facts.key} ${r.facts.ok}`),
      ['discover-nodes true', 'prepare-nodes true', 'kubespray true', 'helm-platform true'],
    );
  });

  it('the deploy summary: stages with job result and time, nodes, and where to go next', () => {
    const summary = renderRunSummary({
      spec: 'clusters/lab.yaml',
      results: { 'discover-nodes': 'success', 'prepare-nodes': 'success', kubespray: 'failure', 'helm-platform': 'skipped' },
      reports: [
        report('discover-nodes', { plan: false, seconds: 3.2, counts: { nodes: 2 } }),
        report('kubespray', { plan: false, ok: false, error: 'PLAY RECAP: cpu-03 failed=1' }),
      ],
      inventory: inventory([node('cpu-03', { roles: ['control_plane'] }), node('dgx-05')]),
      runUrl: 'https://github.example/o/r/actions/runs/42',
      runId: '42',
    });
    assert.match(summary, /## bcmkube deploy: cluster `dgx-lab` \(`clusters\/lab\.yaml`\)/);
    assert.match(summary, /\| discover-nodes \| success \| no changes: 2 nodes \| 3\.2 \|/);
    assert.match(summary, /\| kubespray \| failure \| PLAY RECAP: cpu-03 failed=1 \|/);
    assert.match(summary, /\| runai-cluster \| not run \|/);
    assert.match(summary, /```mermaid\nflowchart LR/);
    assert.match(summary, /### Nodes \(2\)[\s\S]*\| cpu-03 \| control_plane \| 127\.0\.1\.5 \| UP \|/);
    assert.match(summary, /inventory-run-id: 42/);
  });
});

/** A pull request's comments in memory, with the calls made. */
function fakeGitHub(initial: IssueComment[] = []) {
  const comments = [...initial];
  const calls: string[] = [];
  let next = 1000;
  const api: CommentsApi = {
    list: async (page) => {
      calls.push(`list ${page}`);
      return comments.slice((page - 1) * 100, page * 100);
    },
    create: async (body) => {
      calls.push('create');
      const c = { id: next++, body, html_url: `https://github.example/pr/1#issuecomment-${next}` };
      comments.push(c);
      return c;
    },
    update: async (id, body) => {
      calls.push(`update ${id}`);
      const c = comments.find((x) => x.id === id)!;
      c.body = body;
      return c;
    },
  };
  return { api, comments, calls };
}

describe('the one plan comment', () => {
  it('is created when absent, then updated in place: never a second one', async () => {
    const gh = fakeGitHub([{ id: 1, body: 'LGTM', html_url: 'u1' }]);
    const first = await upsertComment(gh.api, PLAN_MARKER, `${PLAN_MARKER}\nplan 1`);
    assert.equal(first.action, 'created');
    const second = await upsertComment(gh.api, PLAN_MARKER, `${PLAN_MARKER}\nplan 2`);
    assert.deepEqual([second.action, second.id], ['updated', first.id]);
    assert.equal(gh.comments.filter((c) => c.body?.startsWith(PLAN_MARKER)).length, 1);
    assert.equal(gh.comments.find((c) => c.id === first.id)!.body, `${PLAN_MARKER}\nplan 2`);
    const same = await upsertComment(gh.api, PLAN_MARKER, `${PLAN_MARKER}\nplan 2`);
    assert.equal(same.action, 'unchanged');
    assert.equal(gh.calls.filter((c) => c === 'create').length, 1);
  });

  it('finds its comment on a later page, and ignores a reply that quotes it', async () => {
    const many = Array.from({ length: 150 }, (_, i) => ({ id: i + 1, body: `comment ${i}`, html_url: `u${i}` }));
    many[20]!.body = `> ${PLAN_MARKER} quoted in a reply`;
    many[130]!.body = `${PLAN_MARKER}\nold plan`;
    const gh = fakeGitHub(many);
    const r = await upsertComment(gh.api, PLAN_MARKER, `${PLAN_MARKER}\nnew plan`);
    assert.deepEqual([r.action, r.id], ['updated', 131]);
    assert.deepEqual(gh.calls, ['list 1', 'list 2', 'update 131']);
  });

  it('refuses a body without its marker (it could never be found again)', async () => {
    await assert.rejects(upsertComment(fakeGitHub().api, PLAN_MARKER, 'plan'), /must start with its marker/);
  });
});

describe('stage reports', () => {
  const spec = 'clusters/lab.yaml';
  const def = (action: string) => STAGES.find((s) => s.action === action)!;

  it('a plan run leaves <out-dir>/plan/<step>.md (redacted) and .json; a failed one too, and the error goes on', async () => {
    const out = tempDir('plan-doc-');
    const lines: string[] = [];
    const reporter = new TerminalReporter((l) => lines.push(l));
    reporter.secret('hunter2-canary');
    const inputs = flagInputs({ spec, plan: 'true', 'out-dir': out, phase: 'cluster' });
    const value = await withStageReport(def('runai'), inputs, reporter, async (_i, r) => {
      r.summary('## runai (plan)\n\nwould log in with hunter2-canary');
      r.output('changes', 'false');
      return { phase: 'cluster' };
    });
    assert.deepEqual(value, { phase: 'cluster' });
    const facts = JSON.parse(readFileSync(join(out, 'plan/runai-cluster.json'), 'utf8'));
    assert.deepEqual(
      [facts.key, facts.action, facts.phase, facts.cluster, facts.ok, facts.changes, facts.plan],
      ['runai-cluster', 'runai', 'cluster', 'dgx-lab', true, false, true],
    );
    const md = readFileSync(join(out, 'plan/runai-cluster.md'), 'utf8');
    assert.match(md, /would log in with \*\*\*/);
    assert.ok(!md.includes('hunter2-canary'));

    await assert.rejects(
      withStageReport(def('kubespray'), flagInputs({ spec, plan: 'true', 'out-dir': out }), reporter, async () => {
        throw new Error('ssh to cpu-03 as hunter2-canary refused');
      }),
      /refused/,
    );
    const failed = JSON.parse(readFileSync(join(out, 'plan/kubespray.json'), 'utf8'));
    assert.deepEqual([failed.ok, failed.error], [false, 'ssh to cpu-03 as *** refused']);

    await withStageReport(def('helm-platform'), flagInputs({ spec, 'out-dir': out }), reporter, async (_i, r) => {
      r.summary('## helm-platform');
      r.output('releases', JSON.stringify([{ name: 'a', version: '1', outcome: 'installed' }]));
    });
    const deployed = JSON.parse(readFileSync(join(out, 'report/helm-platform.json'), 'utf8'));
    assert.deepEqual([deployed.plan, deployed.changes, deployed.counts], [false, true, { installed: 1 }]);
    assert.deepEqual(
      readStageReports(out)
        .map((r) => `${r.source.slice(out.length)}/${r.facts.key}`)
        .sort(),
      ['/plan/kubespray', '/plan/runai-cluster', '/report/helm-platform'],
    );
  });

  it("discover-nodes' report keeps the node changes the stage returns; a first discovery has none to say", async () => {
    const out = tempDir('plan-doc-');
    const reporter = new TerminalReporter(() => {});
    const discover = (inventoryChanges?: InventoryChange[]) =>
      withStageReport(def('discover-nodes'), flagInputs({ spec, plan: 'true', 'out-dir': out }), reporter, async (_i, r) => {
        r.output('node-count', '2');
        return inventoryChanges ? { inventoryChanges } : {};
      });
    const facts = async (inventoryChanges?: InventoryChange[]) => {
      await discover(inventoryChanges);
      return JSON.parse(readFileSync(join(out, 'plan/discover-nodes.json'), 'utf8'));
    };
    const first = await facts();
    assert.deepEqual([first.changes, first.inventoryChanges, first.counts], [null, undefined, { nodes: 2 }]);
    const changed = await facts([
      { hostname: 'dgx-06', change: 'removed', detail: 'was worker' },
      { hostname: 'dgx-07', change: 'added', detail: 'worker at 127.0.1.7' },
    ]);
    assert.equal(changed.changes, true);
    assert.deepEqual(changed.counts, { nodes: 2, 'removed nodes': 1, 'added nodes': 1 });
    assert.deepEqual(
      changed.inventoryChanges.map((c: InventoryChange) => `${c.change} ${c.hostname}`),
      ['removed dgx-06', 'added dgx-07'],
    );
    const again = await facts([]);
    assert.deepEqual([again.changes, again.inventoryChanges], [false, []]);
  });
});

describe('the report action', () => {
  function artifacts(): string {
    const root = tempDir('plan-doc-');
    // As download-artifact lays them out: one folder per artifact.
    for (const r of allQuiet()) writeStageReport(join(root, 'plan-0-5-1'), r);
    for (const r of allQuiet())
      writeStageReport(join(root, 'plan-1-5-1'), {
        ...r,
        facts: { ...r.facts, spec: 'clusters/prod.yaml', cluster: 'prod', changes: r.facts.key === 'kubespray' },
      });
    return root;
  }
  const env = { GITHUB_SERVER_URL: 'https://github.example', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '5', GITHUB_RUN_ATTEMPT: '1' };

  it('kind plan: one summary and one comment for every planned spec', async () => {
    const gh = fakeGitHub();
    const lines: string[] = [];
    const reporter = new TerminalReporter((l) => lines.push(l));
    const inputs = flagInputs({
      kind: 'plan',
      reports: artifacts(),
      specs: '["clusters/lab.yaml","clusters/prod.yaml"]',
      comment: 'true',
      'github-token': 'ghs_canarytoken',
      'pull-request': '12',
    });
    let asked: [string, number] | undefined;
    const comments = (token: string, issue: number) => {
      asked = [token, issue];
      return gh.api;
    };
    await reportRun(inputs, reporter, { comments, env });
    assert.deepEqual(asked, ['ghs_canarytoken', 12]);
    assert.equal(gh.comments.length, 1);
    const body = gh.comments[0]!.body!;
    assert.ok(body.startsWith(PLAN_MARKER));
    assert.match(body, /`clusters\/lab\.yaml`\): no changes/);
    assert.match(body, /cluster `prod` \(`clusters\/prod\.yaml`\): changes/);
    assert.match(body, /Clusters: 1 no changes, 1 changes\./);
    assert.match(body, /<summary><b>clusters\/prod\.yaml · kubespray<\/b>: would change<\/summary>/);
    assert.match(body, /\[Run\]\(https:\/\/github\.example\/o\/r\/actions\/runs\/5\)/);
    assert.equal(reporter.outputs['no-changes'], 'false');
    assert.match(lines.join('\n'), /plan comment created: https:\/\/github\.example/);
    await reportRun(inputs, reporter, { comments, env });
    assert.equal(gh.comments.length, 1, 'the second run updates the same comment');
    assert.ok(!lines.join('\n').includes('ghs_canarytoken'));
  });

  it('kind plan without a pull request to comment on says what to pass', async () => {
    const reporter = new TerminalReporter(() => {});
    await assert.rejects(
      reportRun(flagInputs({ kind: 'plan', reports: artifacts(), comment: 'true', 'github-token': 't' }), reporter, {
        comments: () => fakeGitHub().api,
        env,
      }),
      /no pull request to comment on: run on pull_request, or pass --pull-request/,
    );
  });

  it('a forbidden comment (a fork token) fails with the reason, the plan already in the summary', async () => {
    const lines: string[] = [];
    const reporter = new TerminalReporter((l) => lines.push(l));
    const api: CommentsApi = {
      list: async () => [],
      create: async () => {
        throw Object.assign(new Error('Resource not accessible by integration'), { status: 403 });
      },
      update: async () => {
        throw new Error('unused');
      },
    };
    await assert.rejects(
      reportRun(flagInputs({ reports: artifacts(), comment: 'true', 'github-token': 't', 'pull-request': '3' }), reporter, {
        comments: () => api,
        env,
      }),
      /cannot comment on pull request #3 \(HTTP 403\): .*fork gets a read-only token/,
    );
    assert.ok(lines.join('\n').startsWith(PLAN_MARKER), 'the summary was written first');
  });

  it('kind deploy: the run summary from the job results, the reports and the last inventory', async () => {
    const root = tempDir('plan-doc-');
    writeStageReport(join(root, 'report-discover-nodes-5-1'), report('discover-nodes', { plan: false, seconds: 2, counts: { nodes: 1 } }));
    const inv = join(root, 'inventory.json');
    writeInventory(inv, inventory([node('dgx-05')]));
    const lines: string[] = [];
    const results = JSON.stringify({
      select: { result: 'success', outputs: {} },
      'discover-nodes': { result: 'success', outputs: {} },
      'prepare-nodes': { result: 'skipped', outputs: {} },
    });
    await reportRun(
      flagInputs({ kind: 'deploy', reports: root, spec: 'clusters/lab.yaml', inventory: inv, results }),
      new TerminalReporter((l) => lines.push(l)),
      { env },
    );
    const text = lines.join('\n');
    assert.match(text, /\| discover-nodes \| success \| no changes: 1 nodes \| 2\.0 \|/);
    assert.match(text, /\| prepare-nodes \| skipped \|/);
    assert.match(text, /\| dgx-05 \| worker \| 127\.0\.1\.5 \| UP \|/);
    assert.match(text, /\[This run\]\(https:\/\/github\.example\/o\/r\/actions\/runs\/5\)/);
    await assert.rejects(
      reportRun(
        flagInputs({ kind: 'deploy', reports: root, spec: 'clusters/lab.yaml', results: '{not json' }),
        new TerminalReporter(() => {}),
        { env },
      ),
      /--results must be the JSON of the needs context/,
    );
  });
});

// Used to make sure the reports folder layout the workflows upload is what readStageReports finds.
describe('report folders', () => {
  it('finds reports a few folders down and passes over other JSON', () => {
    const root = tempDir('plan-doc-');
    mkdirSync(join(root, 'a/b'), { recursive: true });
    writeFileSync(join(root, 'a/b/other.json'), '{"not":"a report"}');
    writeFileSync(join(root, 'a/b/broken.json'), '{');
    writeStageReport(join(root, 'a/b'), report('kubespray'));
    assert.deepEqual(
      readStageReports(root).map((r) => r.facts.key),
      ['kubespray'],
    );
  });
});

describe('the report action through @actions/github', () => {
  it('lists, creates, then updates the comment over the REST API (a GitHub stand-in on loopback)', async () => {
    const comments: Array<{ id: number; body: string; html_url: string }> = [];
    const seen: string[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
        res.setHeader('content-type', 'application/json');
        if (req.method === 'GET') return res.end(JSON.stringify(comments));
        const { body } = JSON.parse(text) as { body: string };
        if (req.method === 'POST') {
          const c = { id: 100 + comments.length, body, html_url: `http://127.0.0.1/c${comments.length}` };
          comments.push(c);
          res.statusCode = 201;
          return res.end(JSON.stringify(c));
        }
        const c = comments.find((x) => x.id === Number(req.url!.split('/').pop()))!;
        c.body = body;
        res.end(JSON.stringify(c));
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const dir = tempDir('plan-doc-');
      writeStageReport(join(dir, 'plan-0-1-1'), report('kubespray', { changes: true }));
      writeFileSync(join(dir, 'event.json'), JSON.stringify({ pull_request: { number: 7 } }));
      const run = (kubesprayChanges: boolean) => {
        writeStageReport(join(dir, 'plan-0-1-1'), report('kubespray', { changes: kubesprayChanges }));
        writeFileSync(join(dir, 'out'), '');
        const env = {
          PATH: process.env.PATH!,
          GITHUB_API_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          GITHUB_REPOSITORY: 'o/r',
          GITHUB_EVENT_PATH: join(dir, 'event.json'),
          GITHUB_OUTPUT: join(dir, 'out'),
          GITHUB_STEP_SUMMARY: join(dir, 'summary'),
          INPUT_KIND: 'plan',
          INPUT_REPORTS: dir,
          INPUT_COMMENT: 'true',
          'INPUT_GITHUB-TOKEN': 'ghs_fake_token_1234',
        };
        return new Promise<{ code: number | null; out: string }>((ok) => {
          const child = spawn(process.execPath, ['actions/report/main.ts'], { env });
          let out = '';
          child.stdout.on('data', (c) => (out += c));
          child.stderr.on('data', (c) => (out += c));
          child.on('close', (code) => ok({ code, out }));
        });
      };
      const first = await run(true);
      assert.equal(first.code, 0, first.out);
      assert.match(first.out, /plan comment created/);
      const second = await run(false);
      assert.equal(second.code, 0, second.out);
      assert.match(second.out, /plan comment updated/);
      assert.equal(comments.length, 1);
      assert.match(comments[0]!.body, /kubespray \| no changes/);
      assert.deepEqual(
        seen.map((s) => s.split(' ').slice(0, 2).join(' ')),
        [
          'GET /repos/o/r/issues/7/comments?per_page=100&page=1',
          'POST /repos/o/r/issues/7/comments',
          'GET /repos/o/r/issues/7/comments?per_page=100&page=1',
          'PATCH /repos/o/r/issues/comments/100',
        ],
      );
      assert.ok(seen.every((s) => s.endsWith('token ghs_fake_token_1234')));
      assert.equal(first.out.replace(/::add-mask::.*\n/g, '').includes('ghs_fake_token_1234'), false, 'the token is only ever masked');
    } finally {
      server.close();
    }
  });
});
