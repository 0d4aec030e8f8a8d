// The pure parts of etcd backup and restore: sealing, names and retention, member settings, the restore plan.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../actions/lib/cli/main.ts';
import { openSnapshot, sealSnapshot } from '../../actions/lib/etcd/crypto.ts';
import { parseEtcdEnv } from '../../actions/lib/etcd/members.ts';
import { renderRestorePlan, restorePlan } from '../../actions/lib/etcd/restore-plan.ts';
import { age, retention, snapshotId, validSnapshotId } from '../../actions/lib/etcd/snapshots.ts';
import { lastSnapshotAt, runnerStore } from '../../actions/lib/etcd/store.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import { tempDir } from '../temp-dirs.ts';

const KEY = 'a-long-enough-backup-key';

describe('snapshot sealing (AES-256-GCM)', () => {
  const plain = Buffer.from('/registry/secrets/default/token\0very secret');
  it('round-trips, and the sealed file shows nothing of the snapshot', () => {
    const sealed = sealSnapshot(plain, KEY);
    assert.ok(!sealed.includes(Buffer.from('registry')));
    assert.deepEqual(openSnapshot(sealed, KEY, 'x'), plain);
    assert.notDeepEqual(sealSnapshot(plain, KEY), sealed, 'a fresh salt and IV each time');
  });
  it('refuses a flipped byte, another key, a foreign file and a short key', () => {
    const sealed = sealSnapshot(plain, KEY);
    const damaged = Buffer.from(sealed);
    damaged[damaged.length - 3]! ^= 1;
    assert.throws(() => openSnapshot(damaged, KEY, 'lab-1.db.enc'), /lab-1\.db\.enc failed its integrity check/);
    assert.throws(() => openSnapshot(sealed, 'another-key-of-some-length', 'f'), /integrity check/);
    assert.throws(() => openSnapshot(plain, KEY, 'f'), /not a bcmkube etcd snapshot/);
    assert.throws(() => sealSnapshot(plain, 'short'), /at least 16 characters/);
  });
});

describe('snapshot names and retention', () => {
  const at = new Date(Date.UTC(2026, 11, 7, 23, 5, 9, 123));
  it('names sort by time and parse back', () => {
    assert.equal(snapshotId('prod', at), 'prod-20261207T230509Z');
    assert.equal(validSnapshotId('prod', 'prod-20261207T230509Z'), 'prod-20261207T230509Z');
    assert.throws(() => validSnapshotId('prod', 'prod-2026; rm -rf /'), /--snapshot: .* is not a snapshot of cluster 'prod'/);
    assert.throws(() => validSnapshotId('prod', 'prod-east-20261207T230509Z'), /not a snapshot/);
  });
  it('keeps the newest N of this cluster and never touches other files', () => {
    const files = [
      'prod-20261205T000000Z.db.enc',
      'prod-20261207T000000Z.db.enc',
      'prod-20261206T000000Z.db.enc',
      'staging-20261201T000000Z.db.enc',
      'prod-20261201T000000Z.db.enc.tmp',
      'notes.txt',
    ];
    assert.deepEqual(retention('prod', files, 2), {
      kept: ['prod-20261206T000000Z', 'prod-20261207T000000Z'],
      removed: ['prod-20261205T000000Z'],
    });
    assert.deepEqual(retention('prod', files, 5).removed, []);
  });
  it('says how old the previous one is', () => {
    assert.equal(age(new Date(at.getTime() - 26 * 3600_000), at), '1d 2h');
    assert.equal(age(new Date(at.getTime() - 90_000), at), '1m 30s');
  });
});

const env = (name: string, ip: string) => `ETCD_DATA_DIR=/var/lib/etcd
ETCD_INITIAL_ADVERTISE_PEER_URLS=https://${ip}:2380
ETCD_INITIAL_CLUSTER_TOKEN=k8s_etcd
ETCD_NAME=${name}
ETCD_INITIAL_CLUSTER=etcd1=https://10.0.0.1:2380,etcd2=https://10.0.0.2:2380,etcd3=https://10.0.0.3:2380
`;

describe("a member's /etc/etcd.env", () => {
  it('gives its name, peer URL, cluster, token and data dir', () => {
    const m = parseEtcdEnv({ hostname: 'cp-2', address: '10.0.0.2' }, env('etcd2', '10.0.0.2'));
    assert.equal(m.name, 'etcd2');
    assert.equal(m.peerUrl, 'https://10.0.0.2:2380');
    assert.equal(m.token, 'k8s_etcd');
    assert.equal(m.dataDir, '/var/lib/etcd');
  });
  it('refuses a value that is missing or could smuggle a command', () => {
    assert.throws(
      () => parseEtcdEnv({ hostname: 'cp-2', address: 'x' }, 'ETCD_NAME=etcd2\n'),
      /cp-2: \/etc\/etcd\.env has no ETCD_INITIAL_ADVERTISE_PEER_URLS/,
    );
    assert.throws(() => parseEtcdEnv({ hostname: 'cp-2', address: 'x' }, env('etcd2;reboot', '10.0.0.2')), /unexpected ETCD_NAME/);
  });
});

describe('the restore plan', () => {
  const members = ['cp-1', 'cp-2', 'cp-3'].map((h, i) =>
    parseEtcdEnv({ hostname: h, address: `10.0.0.${i + 1}` }, env(`etcd${i + 1}`, `10.0.0.${i + 1}`)),
  );
  const controlPlane = members.map((m) => ({ hostname: m.hostname, address: m.address, apiPort: 6443 }));
  const phases = restorePlan({ snapshotId: 'prod-20261207T230509Z', members, controlPlane, waitSeconds: 60 });
  it("follows etcd's order: check everywhere, API servers down, etcd down, restore, etcd up together, quorum, API up", () => {
    assert.deepEqual(
      phases.map((p) => p.title.split(' ').slice(0, 3).join(' ')),
      [
        'copy the snapshot',
        'stop the API',
        'stop etcd on',
        "restore every member's",
        'start etcd on',
        'wait for quorum:',
        'start the API',
        'start kube-controller-manager and',
        'remove the staged',
      ],
    );
    assert.deepEqual(
      phases.map((p) => p.changes),
      [false, true, true, true, true, true, true, true, true],
      'only the copy-and-check phase comes before anything changes',
    );
  });
  it('restores each member with its own name and peer URL from the one snapshot', () => {
    const restores = phases[3]!.steps.filter((s) => s.command.includes('snapshot restore'));
    assert.equal(restores.length, 3);
    for (const [i, s] of restores.entries()) {
      assert.equal(s.node, `cp-${i + 1}`);
      assert.match(
        s.command,
        new RegExp(
          `--name=etcd${i + 1} .*--initial-cluster-token=k8s_etcd --initial-advertise-peer-urls=https://10\\.0\\.0\\.${i + 1}:2380 --data-dir=/var/lib/etcd$`,
        ),
      );
      assert.match(
        s.command,
        /^sudo -n \/usr\/local\/bin\/etcdutl snapshot restore \/var\/tmp\/bcmkube-restore-prod-20261207T230509Z\.db /,
      );
    }
    assert.match(phases[3]!.steps[0]!.command, /mv \/var\/lib\/etcd \/var\/lib\/etcd\.before-prod-20261207T230509Z/);
  });
  it('every node gets its steps, and the rendered plan is the commands apply runs', () => {
    const lines = renderRestorePlan(phases).join('\n');
    for (const p of phases) for (const s of p.steps) assert.ok(lines.includes(`${s.node}: ${s.what}\n      $ ${s.command}`));
    assert.equal(phases[0]!.steps.filter((s) => s.stdin === 'snapshot').length, 3);
  });
});

describe('bcmkube etcd on the command line', () => {
  const cli = async (...argv: string[]) => {
    const reporter = new TerminalReporter(() => {});
    const code = await main(['etcd', ...argv], reporter);
    return { code, out: reporter.lines.join('\n') };
  };
  it('refuses a restore without --confirm <cluster>, before reading anything', async () => {
    const r = await cli('restore', '--spec', 'clusters/lab.yaml', '--snapshot', 'dgx-lab-20261207T230509Z');
    assert.equal(r.code, 2);
    assert.match(r.out, /pass --confirm dgx-lab \(or run with --plan to see the steps\); nothing was changed/);
    const wrong = await cli('restore', '--spec', 'clusters/lab.yaml', '--snapshot', 'dgx-lab-20261207T230509Z', '--confirm', 'prod');
    assert.equal(wrong.code, 2);
  });
  it('takes the operation as the word after etcd and names the ones there are', async () => {
    const help = await cli('--help');
    assert.equal(help.code, 0);
    assert.match(help.out, /^usage: bcmkube etcd backup\|restore --spec/);
    const r = await cli('defrag', '--spec', 'clusters/lab.yaml');
    assert.equal(r.code, 2);
    assert.match(r.out, /operation: 'defrag' is not one of backup \| restore/);
    const id = await cli('restore', '--spec', 'clusters/lab.yaml', '--snapshot', 'latest', '--confirm', 'dgx-lab');
    assert.equal(id.code, 2);
    assert.match(id.out, /--snapshot: 'latest' is not a snapshot of cluster 'dgx-lab'/);
  });
});

describe('a snapshot store on the runner', () => {
  it('writes 0600 files in a 0700 folder it creates, lists, reads and removes them', async () => {
    const path = join(tempDir('etcd-store-'), 'deep/backups');
    const store = runnerStore(path);
    assert.deepEqual(await store.list(), []);
    await store.put('prod-20261207T230509Z.db.enc', Buffer.from('sealed'));
    assert.equal(statSync(path).mode & 0o777, 0o700);
    assert.equal(statSync(join(path, 'prod-20261207T230509Z.db.enc')).mode & 0o777, 0o600);
    assert.deepEqual(await store.list(), ['prod-20261207T230509Z.db.enc'], 'no temporary file left');
    assert.equal((await store.get('prod-20261207T230509Z.db.enc')).toString(), 'sealed');
    await store.remove('prod-20261207T230509Z.db.enc');
    await assert.rejects(
      store.get('prod-20261207T230509Z.db.enc'),
      /no snapshot prod-20261207T230509Z\.db\.enc in the runner's .*backups \(ENOENT\)/,
    );
  });
});

describe('the health check reads the last backup from the store', () => {
  it("is this cluster's newest snapshot, never another cluster's or a stray file", async () => {
    const path = tempDir('etcd-last-');
    const store = runnerStore(path);
    assert.equal(await lastSnapshotAt(store, 'prod'), undefined, 'no backup yet');
    for (const f of ['prod-20261205T010000Z.db.enc', 'prod-20261207T230509Z.db.enc', 'prod-b-20261208T000000Z.db.enc', 'prod-notes.txt'])
      await store.put(f, Buffer.from('sealed'));
    assert.equal((await lastSnapshotAt(store, 'prod'))?.toISOString(), '2026-12-07T23:05:09.000Z');
    assert.equal((await lastSnapshotAt(store, 'prod-b'))?.toISOString(), '2026-12-08T00:00:00.000Z');
  });
});

describe('a restore stopped half-way runs again', () => {
  it('setting the data dir aside twice keeps the first (original) copy and clears what the attempt left', () => {
    const root = tempDir('etcd-aside-');
    const dataDir = join(root, 'etcd');
    const m = parseEtcdEnv({ hostname: 'cp-1', address: '10.0.0.1' }, env('etcd1', '10.0.0.1').replace('/var/lib/etcd', dataDir));
    const phases = restorePlan({ snapshotId: 'prod-20261207T230509Z', members: [m], controlPlane: [], waitSeconds: 1 });
    const aside = phases[3]!.steps[0]!.command.replace(/^sudo -n /, '');
    const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
    mkdirSync(join(dataDir, 'member'), { recursive: true });
    writeFileSync(join(dataDir, 'member/original'), '');
    assert.equal(sh(aside).status, 0);
    mkdirSync(join(dataDir, 'member'), { recursive: true }); // the attempt's restore, then a failure
    writeFileSync(join(dataDir, 'member/attempt'), '');
    assert.equal(sh(aside).status, 0);
    assert.deepEqual(readdirSync(join(root, 'etcd.before-prod-20261207T230509Z/member')), ['original']);
    assert.equal(existsSync(dataDir), false, 'ready for etcdutl snapshot restore, which wants no data dir');
  });
});
