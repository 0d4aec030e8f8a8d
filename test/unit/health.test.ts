// The health check's decisions on gathered facts: all green on a healthy cluster; a NotReady node, a missing GPU,
// a release upgraded by hand, a stopped etcd member and an expired certificate each turn it red with the cause
// named; the exit codes; and the cluster's GitHub issue opened, updated, left alone and closed on answers shaped
// like GitHub's REST API.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { loadSpecFile } from '../../actions/lib/config/load.ts';
import { loadPlatformManifest } from '../../actions/lib/helm/manifest.ts';
import { selectPlatform, type Values } from '../../actions/lib/helm/selection.ts';
import {
  evaluateHealth,
  HEALTH_EXIT,
  healthExitCode,
  healthLines,
  valuesDrift,
  type CheckResult,
  type HealthExpectations,
  type HealthFacts,
} from '../../actions/lib/health/evaluate.ts';
import {
  etcdHealthCommand,
  parseCertificateDates,
  parseEtcdHealth,
  parseKnativeServing,
  parseKubeNodes,
} from '../../actions/lib/health/gather.ts';
import { healthMarker, syncHealthIssue, type IssueAnswer, type IssuesApi } from '../../actions/lib/health/issue.ts';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { factsNode, labInventory } from '../gpu-facts.ts';

const manifest = loadPlatformManifest('helm/platform.yaml');
const readValues = (f: string) => (yaml.load(readFileSync(join('helm', f), 'utf8')) ?? {}) as Values;
const selection = selectPlatform(manifest, loadSpecFile('clusters/example.yaml').spec, readValues);

const inventory: Inventory = labInventory([
  factsNode('cpu-01', ['control_plane', 'etcd'], 0),
  factsNode('cpu-02', ['control_plane', 'etcd'], 0),
  factsNode('cpu-03', ['control_plane', 'etcd'], 0),
  factsNode('dgx-05', ['worker', 'gpu_worker'], 8),
]);
const expect: HealthExpectations = { inventory, releases: selection.releases };
const NOW = new Date('2026-12-07T12:00:00Z');

/** A healthy cluster's facts; `change` edits a copy. */
function facts(change: (f: HealthFacts) => void = () => {}): HealthFacts {
  const f: HealthFacts = {
    now: NOW,
    bcmNodes: inventory.nodes.map((n) => ({ hostname: n.hostname, status: 'UP' })),
    kubeNodes: inventory.nodes.map((n) => ({ name: n.hostname, ready: true, allocatableGpus: n.facts!.gpus.length })),
    releases: selection.releases.map((s) => ({
      name: s.release.name,
      namespace: s.release.namespace,
      chart: `${s.release.chart}-${s.release.version.replace(/^v/, '')}`,
      status: 'deployed',
      revision: 1,
      values: structuredClone(s.values),
    })),
    knativeServing: { ready: true },
    runaiCluster: { status: 'Connected' },
    etcdMembers: ['cpu-01', 'cpu-02', 'cpu-03'].map((n, i) => ({ name: n, endpoint: `https://127.0.0.${i + 1}:2379`, healthy: true })),
    etcdBackup: { lastAt: '2026-12-07T03:00:00Z' },
    certificates: [
      { node: 'cpu-01', name: 'apiserver.crt', notAfter: '2027-11-01T00:00:00Z' },
      { node: 'cpu-02', name: 'apiserver.crt', notAfter: '2027-11-01T00:00:00Z' },
    ],
    clockOffsets: { 'cpu-01': 0.02, 'dgx-05': -0.3 },
  };
  change(f);
  return f;
}

const red = (results: CheckResult[]) => results.filter((r) => r.status !== 'ok').map((r) => `${r.check}: ${r.status}: ${r.detail}`);

describe('health evaluation', () => {
  it('a healthy cluster: every check ok, one line each, exit 0', () => {
    const r = evaluateHealth(facts(), expect);
    assert.deepEqual(red(r), []);
    assert.equal(healthExitCode(r), HEALTH_EXIT.healthy);
    const lines = healthLines(r);
    assert.equal(lines.length, 10);
    assert.match(lines.join('\n'), /^ok\s+gpus-allocatable\s+8 GPU\(s\) allocatable on 1 node\(s\)/m);
    assert.match(lines.join('\n'), /^ok\s+helm-releases\s+8 release\(s\) deployed at their pinned versions and values/m);
  });

  it('a NotReady node turns nodes-ready red with the node and its reason', () => {
    const r = evaluateHealth(
      facts((f) => ((f.kubeNodes as any[])[3] = { name: 'dgx-05', ready: false, reason: 'KubeletNotReady', allocatableGpus: 8 })),
      expect,
    );
    assert.deepEqual(red(r), ['nodes-ready: fail: dgx-05: NotReady (KubeletNotReady)']);
    assert.equal(healthExitCode(r), HEALTH_EXIT.unhealthy);
  });

  it('a GPU gone from a node’s capacity turns gpus-allocatable red: 7 of 8, the inventory’s count named', () => {
    const r = evaluateHealth(
      facts((f) => ((f.kubeNodes as any[])[3].allocatableGpus = 7)),
      expect,
    );
    assert.deepEqual(red(r), ['gpus-allocatable: fail: dgx-05: 7 of 8 GPUs allocatable (inventory: 8)']);
  });

  it('a release upgraded by hand: the chart version and the drifted values keys are named', () => {
    const r = evaluateHealth(
      facts((f) => {
        const lws = (f.releases as any[]).find((x) => x.name === 'lws');
        lws.chart = 'lws-0.8.0';
        lws.revision = 2;
        const kps = (f.releases as any[]).find((x) => x.name === 'kube-prometheus-stack');
        kps.values.prometheus.prometheusSpec.retention = '30d';
        kps.values.extra = true;
      }),
      expect,
    );
    assert.deepEqual(red(r), [
      'helm-releases: fail: kube-prometheus-stack: values drifted (extra, prometheus.prometheusSpec.retention); lws: chart 0.8.0, pinned v0.7.0',
    ]);
  });

  it('a failed release and one missing are named', () => {
    const r = evaluateHealth(
      facts((f) => {
        f.releases = (f.releases as any[]).filter((x) => x.name !== 'metrics-server');
        (f.releases as any[]).find((x) => x.name === 'gpu-operator').status = 'failed';
      }),
      expect,
    );
    assert.match(red(r)[0]!, /gpu-operator: status failed; metrics-server: not installed in kube-system/);
  });

  it('a stopped etcd member is named; two stopped of three is a lost quorum', () => {
    const one = evaluateHealth(
      facts((f) => Object.assign((f.etcdMembers as any[])[1], { healthy: false, error: 'connection refused' })),
      expect,
    );
    assert.deepEqual(red(one), ['etcd-members: fail: cpu-02 (https://127.0.0.2:2379): unhealthy: connection refused']);
    const two = evaluateHealth(
      facts((f) => {
        (f.etcdMembers as any[])[1].healthy = false;
        (f.etcdMembers as any[])[2].healthy = false;
      }),
      expect,
    );
    assert.match(red(two)[0]!, /^etcd-members: fail: quorum lost \(1 of 3 healthy\); cpu-02/);
  });

  it('an expired certificate fails, one ending within 30 days warns (exit 3), each named', () => {
    const expired = evaluateHealth(
      facts((f) => ((f.certificates as any[])[1].notAfter = '2026-12-01T00:00:00Z')),
      expect,
    );
    assert.deepEqual(red(expired), ['certificates: fail: cpu-02 apiserver.crt: expired 2026-12-01T00:00:00Z']);
    const soon = evaluateHealth(
      facts((f) => ((f.certificates as any[])[0].notAfter = '2026-12-27T12:00:00Z')),
      expect,
    );
    assert.deepEqual(red(soon), ['certificates: warn: cpu-01 apiserver.crt: expires in 20 days (2026-12-27T12:00:00Z)']);
    assert.equal(healthExitCode(soon), HEALTH_EXIT.warnings);
  });

  it('BCM status, KnativeServing, Run:ai, backup age and clock skew name their cause', () => {
    const r = evaluateHealth(
      facts((f) => {
        (f.bcmNodes as any[])[0].status = 'DOWN';
        f.knativeServing = { ready: false, message: 'Ingress not ready' };
        f.runaiCluster = { status: 'Disconnected' };
        f.etcdBackup = { lastAt: '2026-12-01T00:00:00Z' };
        f.clockOffsets = { 'cpu-01': 7.5, 'dgx-05': 0 };
      }),
      expect,
    );
    assert.deepEqual(red(r), [
      'bcm-nodes: fail: cpu-01: BCM status DOWN',
      'knative-serving: fail: KnativeServing not Ready: Ingress not ready',
      'runai-cluster: fail: Run:ai cluster status Disconnected (not Connected)',
      'etcd-backup: fail: last backup 156.0 h ago (2026-12-01T00:00:00Z)',
      'clock-skew: fail: cpu-01: clock +7.5 s',
    ]);
  });

  it('a fact that could not be read is unknown (exit 4), not green; a part the cluster does not have is ok', () => {
    const r = evaluateHealth(
      facts((f) => {
        f.etcdMembers = { unreadable: 'ssh cpu-01: connection timed out' };
        delete f.runaiCluster;
      }),
      expect,
    );
    assert.deepEqual(red(r), ['etcd-members: unknown: could not be read: ssh cpu-01: connection timed out']);
    assert.equal(healthExitCode(r), HEALTH_EXIT.unknown);
    assert.equal(r.find((x) => x.check === 'runai-cluster')!.detail, 'not part of this cluster');
  });

  it('valuesDrift names keys changed, added and removed, lists compared whole', () => {
    assert.deepEqual(valuesDrift({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { b: 1, c: [2, 1] }, e: 1 }), ['a.c', 'd', 'e']);
  });
});

/** GitHub's REST answers, recorded in shape: an issue as "List repository issues" returns it. */
function issue(number: number, body: string, extra: Partial<IssueAnswer> = {}): IssueAnswer {
  return {
    number,
    state: 'open',
    body,
    html_url: `https://github.com/octo-org/clusters/issues/${number}`,
    ...extra,
  } as IssueAnswer;
}

function fakeApi(open: IssueAnswer[]) {
  const calls: string[] = [];
  const api: IssuesApi = {
    openIssues: async (label, page) => {
      calls.push(`GET issues?labels=${label}&page=${page}`);
      return page === 1 ? open : [];
    },
    create: async (title, body, labels) => {
      calls.push(`POST issues ${title} [${labels.join(',')}]`);
      return issue(42, body);
    },
    update: async (n, patch) => {
      calls.push(`PATCH issues/${n} ${Object.keys(patch).sort().join(',')}${patch.state ? `=${patch.state}` : ''}`);
      return issue(n, patch.body ?? '', patch.state ? { state: patch.state } : {});
    },
    comment: async (n) => {
      calls.push(`POST issues/${n}/comments`);
    },
  };
  return { api, calls };
}

describe('the cluster health issue', () => {
  const sick = evaluateHealth(
    facts((f) => ((f.kubeNodes as any[])[3].ready = false)),
    expect,
  );
  const well = evaluateHealth(facts(), expect);
  const run = 'https://github.com/octo-org/clusters/actions/runs/7';

  it('opens one issue while unhealthy, with the hidden marker and the table; a pull request carrying the marker is not it', async () => {
    const { api, calls } = fakeApi([issue(3, healthMarker('lab'), { pull_request: { url: 'x' } }), issue(4, 'another issue')]);
    const out = await syncHealthIssue(api, 'lab', sick, run);
    assert.deepEqual(out, { action: 'opened', number: 42, url: 'https://github.com/octo-org/clusters/issues/42' });
    assert.deepEqual(calls, [
      'GET issues?labels=bcmkube-health&page=1',
      'POST issues bcmkube health: cluster lab is unhealthy (nodes-ready) [bcmkube-health]',
    ]);
  });

  it('updates the open issue of the same cluster (not another cluster’s) when the failures change, leaves it alone when they do not', async () => {
    const { api: first } = fakeApi([]);
    let body = '';
    first.create = async (_t, b) => {
      body = b;
      return issue(42, b);
    };
    await syncHealthIssue(first, 'lab', sick, run);
    assert.ok(body.startsWith(healthMarker('lab')));
    assert.match(body, /\| nodes-ready \| \*\*fail\*\* \| dgx-05: NotReady \|/);
    const other = issue(9, healthMarker('prod'));
    const same = fakeApi([other, issue(42, body)]);
    assert.equal((await syncHealthIssue(same.api, 'lab', sick, `${run}0`)).action, 'unchanged');
    assert.deepEqual(same.calls, ['GET issues?labels=bcmkube-health&page=1']);
    const worse = evaluateHealth(
      facts((f) => {
        (f.kubeNodes as any[])[3].ready = false;
        (f.etcdMembers as any[])[0].healthy = false;
      }),
      expect,
    );
    const changed = fakeApi([other, issue(42, body)]);
    assert.deepEqual(await syncHealthIssue(changed.api, 'lab', worse, run), {
      action: 'updated',
      number: 42,
      url: 'https://github.com/octo-org/clusters/issues/42',
    });
    assert.deepEqual(changed.calls.slice(1), ['PATCH issues/42 body']);
  });

  it('closes it with a comment when healthy again; healthy with no issue does nothing', async () => {
    const { api, calls } = fakeApi([issue(42, `${healthMarker('lab')}\nold`)]);
    assert.equal((await syncHealthIssue(api, 'lab', well, run)).action, 'closed');
    assert.deepEqual(calls.slice(1), ['POST issues/42/comments', 'PATCH issues/42 body,state,state_reason=closed']);
    const none = fakeApi([]);
    assert.deepEqual(await syncHealthIssue(none.api, 'lab', well, run), { action: 'none' });
    assert.equal(none.calls.length, 1);
  });
});

describe('what the health check reads, parsed', () => {
  it('kubectl get nodes: Ready with its reason when not, and allocatable nvidia.com/gpu', () => {
    const json = JSON.stringify({
      kind: 'List',
      items: [
        {
          metadata: { name: 'dgx-05' },
          status: {
            allocatable: { cpu: '223', 'nvidia.com/gpu': '7' },
            conditions: [
              { type: 'MemoryPressure', status: 'False' },
              { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime is down' },
            ],
          },
        },
        { metadata: { name: 'cpu-01' }, status: { allocatable: { cpu: '8' }, conditions: [{ type: 'Ready', status: 'True' }] } },
      ],
    });
    assert.deepEqual(parseKubeNodes(json), [
      { name: 'dgx-05', ready: false, reason: 'KubeletNotReady: container runtime is down', allocatableGpus: 7 },
      { name: 'cpu-01', ready: true, allocatableGpus: 0 },
    ]);
  });

  it('KnativeServing: absent, Ready, or not Ready with its message', () => {
    assert.equal(parseKnativeServing(''), 'absent');
    assert.deepEqual(parseKnativeServing(JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'True' }] } })), { ready: true });
    assert.deepEqual(
      parseKnativeServing(JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'False', message: 'Ingress not ready' }] } })),
      { ready: false, message: 'Ingress not ready' },
    );
  });

  it('etcdctl endpoint health -w json, and the command run on the member with its own admin certificate', () => {
    assert.deepEqual(
      parseEtcdHealth('cpu-02', '[{"endpoint":"https://127.0.0.1:2379","health":false,"took":"","error":"context deadline exceeded"}]'),
      { name: 'cpu-02', endpoint: 'https://127.0.0.1:2379', healthy: false, error: 'context deadline exceeded' },
    );
    assert.match(etcdHealthCommand(inventory.nodes[1]!), /--cert=\/etc\/ssl\/etcd\/ssl\/admin-cpu-02\.pem/);
  });

  it('openssl end dates become ISO times per certificate', () => {
    assert.deepEqual(parseCertificateDates('cpu-01', '/etc/kubernetes/ssl/apiserver.crt notAfter=Nov  1 09:30:00 2027 GMT\ngarbage\n'), [
      { node: 'cpu-01', name: 'apiserver.crt', notAfter: '2027-11-01T09:30:00.000Z' },
    ]);
  });
});
