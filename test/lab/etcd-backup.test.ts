// bcmkube etcd backup / restore on the lab's real etcd (three members placed as Kubespray places them) and
// API server: objects written, backed up, deleted, restored, and back on every member; a damaged snapshot
// and an unreachable member are refused before anything stops.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { main } from '../../actions/lib/cli/main.ts';
import { sealSnapshot } from '../../actions/lib/etcd/crypto.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import { generateServiceKeypair } from '../../actions/lib/stages/keygen.ts';
import { kubeUp, type KubeCluster } from './kube/control-plane.ts';
import { nodeAddress, nodeExec, nodeFault, nodeInitPid, startNodes, stopNodes, type LabNodeSpec } from './nodes.ts';

const exec = promisify(execFile);
const SUBNET = 98;
const CLUSTER = 'lab98';
const KEY = 'lab-etcd-backup-key-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'etcd-backup-'));
const specs: LabNodeSpec[] = [
  { name: 'cpu-03', index: 3, gpus: 0 },
  { name: 'cpu-05', index: 5, gpus: 0 },
  { name: 'cpu-06', index: 6, gpus: 0 },
  { name: 'bak-01', index: 40, gpus: 0 },
];
const node = (s: LabNodeSpec) => ({ name: s.name, address: nodeAddress(SUBNET, s.index), gpus: s.gpus });
const etcdNodes = specs.slice(0, 3).map(node);
const backupHost = node(specs[3]!);
const BACKUP_DIR = '/home/ansiblebcm/etcd-backups';
let cluster: KubeCluster;

/** A shell script as root inside a node (nsenter, not SSH: the product's own SSH is what is under test). */
async function inNode(name: string, script: string): Promise<{ code: number; out: string; err: string }> {
  const r = await nodeExec(dir, name, ['sh', '-c', `PATH=/usr/local/bin:$PATH; ${script}`]);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

const kubectl = (...args: string[]) =>
  exec(cluster.kubectl, ['--kubeconfig', cluster.adminConf, '--request-timeout=10s', ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout, err: stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: e.stdout ?? '', err: e.stderr ?? '' }),
  );

/** The keys under /registry/configmaps/backup-test/ as one member's own etcd holds them (serializable read). */
async function configMapsOn(n: { name: string; address: string }): Promise<string[]> {
  const r = await inNode(
    n.name,
    'set -a; . /etc/etcd.env; etcdctl --consistency=s get --prefix --keys-only /registry/configmaps/backup-test/',
  );
  assert.equal(r.code, 0, r.err);
  return r.out
    .split('\n')
    .filter((l) => l.startsWith('/registry/'))
    .map((l) => l.split('/').at(-1)!)
    .filter((n) => n !== 'kube-root-ca.crt')
    .sort();
}

function writeSpec(): string {
  const s = {
    name: CLUSTER,
    bcm: { endpoint: 'https://127.0.98.254:8081', auth: 'login' },
    nodes: { control_plane: ['cpu-03'], etcd: ['cpu-03', 'cpu-05', 'cpu-06'] },
    network: { node_network: { name: 'internalnet' } },
    access: {
      service_user: { private_key_file: join(dir, 'keys/service') },
      known_hosts_file: join(dir, 'known_hosts'),
      connect_timeout_seconds: 3,
      command_timeout_seconds: 90,
    },
    etcd_backup: { target: { host: backupHost.address, path: BACKUP_DIR }, keep: 2 },
    runai: { enabled: false },
  };
  const file = join(dir, 'spec.yaml');
  writeFileSync(file, yaml.dump(s));
  return file;
}

function writeInventory(): string {
  const nodes = etcdNodes.map((n, i) => ({
    hostname: n.name,
    uuid: `uuid-${n.name}`,
    mac: `02:00:00:00:00:0${i}`,
    status: 'UP',
    roles: i === 0 ? ['control_plane', 'etcd'] : ['etcd'],
    address: n.address,
    network: 'internalnet',
    addresses: [],
    history: [],
  }));
  const file = join(dir, 'inventory.json');
  writeFileSync(
    file,
    JSON.stringify({
      schemaVersion: 1,
      cluster: CLUSTER,
      specHash: '',
      bcm: { endpoint: 'https://127.0.98.254:8081' },
      nodes,
      history: [],
    }),
  );
  return file;
}

let spec: string;
let inventory: string;
async function bcmkube(...argv: string[]): Promise<{ code: number; out: string }> {
  const reporter = new TerminalReporter(() => {});
  const code = await main(
    [
      'etcd',
      ...argv,
      '--spec',
      spec,
      '--inventory',
      inventory,
      '--etcd-backup-key-file',
      join(dir, 'backup-key'),
      '--out',
      join(dir, 'out'),
    ],
    reporter,
  );
  return { code, out: reporter.lines.join('\n') };
}

/**
 * What Kubespray's nodes have and the lab's do not: systemd's etcd unit (`systemctl stop|start etcd`) and a
 * kubelet running kube-apiserver from its static pod manifest. Stand-ins over lab-kube, in the nodes only.
 */
const SYSTEMCTL = `#!/bin/sh
case "$1 $2" in "stop etcd") exec lab-kube stop etcd ;; "start etcd") exec lab-kube start etcd ;; "cat etcd.service") exit 0 ;; esac
echo "lab systemctl: only stop|start etcd, cat etcd.service" >&2; exit 1
`;
const KUBELET = `mkdir -p /etc/kubernetes/manifests
for c in kube-apiserver kube-controller-manager kube-scheduler; do echo 'kind: Pod' > /etc/kubernetes/manifests/$c.yaml; done
setsid sh -c 'while sleep 1; do for c in kube-apiserver kube-controller-manager kube-scheduler; do
  if [ -f /etc/kubernetes/manifests/$c.yaml ]; then lab-kube start $c; else lab-kube stop $c; fi >/dev/null 2>&1; done; done' </dev/null >/dev/null 2>&1 &`;

describe('etcd backup and restore on the lab', { timeout: 900_000 }, () => {
  before(async () => {
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lab-admin', '-f', join(dir, 'admin')]);
    const service = generateServiceKeypair('ed25519', 'bcmkube-service');
    await exec('mkdir', ['-p', join(dir, 'keys')]);
    writeFileSync(join(dir, 'keys/service'), service.privateKey, { mode: 0o600 });
    writeFileSync(join(dir, 'backup-key'), KEY, { mode: 0o600 });
    await startNodes({ dir, subnet: SUBNET, nodes: specs, adminPublicKey: readFileSync(join(dir, 'admin.pub'), 'utf8') });
    cluster = await kubeUp(dir, { etcd: etcdNodes, controlPlane: [etcdNodes[0]!], workers: [] });
    // the service user prepare-nodes converges: a key and passwordless sudo
    for (const n of [...etcdNodes, backupHost]) {
      const r = await inNode(
        n.name,
        `id ansiblebcm >/dev/null 2>&1 || useradd -m -s /bin/bash ansiblebcm; install -d -m 700 -o ansiblebcm ~ansiblebcm/.ssh && echo '${service.publicKey}' > ~ansiblebcm/.ssh/authorized_keys && chown ansiblebcm ~ansiblebcm/.ssh/authorized_keys && echo 'ansiblebcm ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/ansiblebcm && chmod 440 /etc/sudoers.d/ansiblebcm`,
      );
      assert.equal(r.code, 0, `${n.name}: ${r.err}`);
    }
    for (const n of etcdNodes) {
      const r = await inNode(n.name, `cat > /usr/local/bin/systemctl <<'EOF'\n${SYSTEMCTL}EOF\nchmod 755 /usr/local/bin/systemctl`);
      assert.equal(r.code, 0, r.err);
    }
    const k = await inNode(etcdNodes[0]!.name, KUBELET);
    assert.equal(k.code, 0, k.err);
    spec = writeSpec();
    inventory = writeInventory();
  });
  after(async () => {
    await stopNodes(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up, and a restore brings deleted objects back on every member', async (t) => {
    assert.equal((await kubectl('create', 'namespace', 'backup-test')).code, 0);
    for (const name of ['alpha', 'beta', 'gamma']) {
      const r = await kubectl('-n', 'backup-test', 'create', 'configmap', name, `--from-literal=value=${name}`);
      assert.equal(r.code, 0, r.err);
    }
    let started = Date.now();
    const first = await bcmkube('backup');
    t.diagnostic(`backup: ${Date.now() - started} ms; ${first.out.split('\n').find((l) => l.startsWith('etcd snapshot'))}`);
    assert.equal(first.code, 0, first.out);
    assert.match(
      first.out,
      new RegExp(
        `etcd snapshot ${CLUSTER}-\\d{8}T\\d{6}Z from cpu-03: \\d+ bytes, revision \\d+, \\d+ keys; sealed .* in ${backupHost.address.replace(/\./g, '\\.')}:${BACKUP_DIR}; previous: none`,
      ),
    );
    await new Promise((r) => setTimeout(r, 1100));
    const second = await bcmkube('backup');
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /previous: lab98-\d{8}T\d{6}Z \(\d+s before\)/);
    const id = /etcd snapshot (lab98-\d{8}T\d{6}Z)/.exec(second.out)![1]!;

    // sealed at rest on the backup host: 0600, no etcd/bbolt data readable in it
    const stored = await inNode(
      backupHost.name,
      `stat -c '%a %U %n' ${BACKUP_DIR}/*; grep -c 'backup-test' ${BACKUP_DIR}/${id}.db.enc || true`,
    );
    assert.match(stored.out, new RegExp(`600 ansiblebcm ${BACKUP_DIR}/${id}\\.db\\.enc`));
    assert.match(stored.out, /^0$/m, 'the stored file holds no readable key name');
    assert.doesNotMatch(first.out + second.out, new RegExp(KEY));

    for (const name of ['alpha', 'beta']) assert.equal((await kubectl('-n', 'backup-test', 'delete', 'configmap', name)).code, 0);
    assert.equal((await kubectl('-n', 'backup-test', 'create', 'configmap', 'after-backup')).code, 0);
    for (const n of etcdNodes) assert.deepEqual(await configMapsOn(n), ['after-backup', 'gamma'], n.name);

    const refused = await bcmkube('restore', '--snapshot', id);
    assert.equal(refused.code, 2);
    assert.match(refused.out, /pass --confirm lab98/);

    const plan = await bcmkube('restore', '--snapshot', id, '--plan');
    assert.equal(plan.code, 0, plan.out);
    for (const n of etcdNodes)
      assert.match(
        plan.out,
        new RegExp(
          `${n.name}: etcdutl snapshot restore as etcd${etcdNodes.indexOf(n) + 1} \\(https://${n.address.replace(/\./g, '\\.')}:2380\\)`,
        ),
      );
    assert.ok(plan.out.indexOf('stop the API server') < plan.out.indexOf('stop etcd on every member'));
    for (const n of etcdNodes) assert.deepEqual(await configMapsOn(n), ['after-backup', 'gamma'], 'plan mode changed nothing');

    const pids = async () => (await inNode(etcdNodes[0]!.name, 'lab-kube status')).out;
    const before = await pids();
    started = Date.now();
    const restored = await bcmkube('restore', '--snapshot', id, '--confirm', CLUSTER);
    t.diagnostic(`restore: ${Date.now() - started} ms`);
    assert.equal(restored.code, 0, restored.out);
    const pid = (status: string, c: string) => new RegExp(`^${c} (\\d+)$`, 'm').exec(status)?.[1];
    // the kubelet (here its stand-in, every second) starts the static pods whose manifests came back
    let after = await pids();
    for (let i = 0; i < 20 && /(controller-manager|scheduler) stopped/.test(after); i++) {
      await new Promise((r) => setTimeout(r, 500));
      after = await pids();
    }
    for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      assert.ok(pid(after, c), `${c} runs again: ${after}`);
      assert.notEqual(pid(after, c), pid(before, c), `${c} was restarted`);
    }
    for (const n of etcdNodes) {
      const left = await inNode(n.name, 'ls /var/tmp; ls -d /var/lib/etcd*');
      assert.doesNotMatch(left.out, /bcmkube-(backup|restore)-/, `${n.name}: no plaintext snapshot left behind`);
      assert.match(left.out, new RegExp(`/var/lib/etcd\\.before-${id}`), `${n.name} keeps the old data dir`);
    }
    for (const n of etcdNodes)
      assert.deepEqual(await configMapsOn(n), ['alpha', 'beta', 'gamma'], `${n.name} holds the snapshot's objects`);
    const got = await kubectl('-n', 'backup-test', 'get', 'configmap', 'alpha', '-o', 'jsonpath={.data.value}');
    assert.equal(got.out, 'alpha', got.err);
    const health = await inNode(etcdNodes[1]!.name, 'set -a; . /etc/etcd.env; etcdctl endpoint health --cluster');
    assert.equal((health.out + health.err).match(/is healthy/g)?.length, 3, health.out + health.err);

    // retention: keep 2, a third backup removes the oldest
    const third = await bcmkube('backup');
    assert.equal(third.code, 0, third.out);
    assert.match(third.out, /kept 2, removed 1/);
  });

  it('a damaged snapshot is refused before anything stops', async () => {
    const stillRunning = async () => {
      for (const n of etcdNodes) {
        const status = await inNode(n.name, 'lab-kube status; ls /var/tmp');
        assert.match(status.out, /^etcd \d+$/m, `${n.name}: etcd still runs`);
        assert.doesNotMatch(status.out, /bcmkube-restore-/, `${n.name}: no staged snapshot left`);
      }
      assert.match((await inNode(etcdNodes[0]!.name, 'lab-kube status')).out, /^kube-apiserver \d+$/m);
      assert.equal((await kubectl('-n', 'backup-test', 'get', 'configmap', 'gamma')).code, 0);
    };
    const list = await inNode(backupHost.name, `ls ${BACKUP_DIR}`);
    const id = list.out
      .split('\n')
      .filter((f) => f.endsWith('.db.enc'))
      .sort()
      .at(-1)!
      .replace('.db.enc', '');
    const flip = await inNode(
      backupHost.name,
      `cd ${BACKUP_DIR} && printf '\\377' | dd of=${id}.db.enc bs=1 seek=200 conv=notrunc status=none`,
    );
    assert.equal(flip.code, 0, flip.err);
    const r = await bcmkube('restore', '--snapshot', id, '--confirm', CLUSTER);
    assert.equal(r.code, 1);
    assert.match(r.out, /failed its integrity check .* nothing was changed/);
    assert.doesNotMatch(r.out, /stop the API server/);
    await stillRunning();

    // sealed with the right key but no etcd database inside: the members' own etcdutl check refuses it
    const bogus = `${CLUSTER}-20260101T000000Z`;
    writeFileSync(
      `/proc/${nodeInitPid(dir, backupHost.name)}/root${BACKUP_DIR}/${bogus}.db.enc`,
      sealSnapshot(Buffer.alloc(64 * 1024, 7), KEY),
    );
    const notEtcd = await bcmkube('restore', '--snapshot', bogus, '--confirm', CLUSTER);
    assert.equal(notEtcd.code, 1);
    assert.match(
      notEtcd.out,
      /copy the snapshot to every member and check it there: .*check it \(etcdutl snapshot status\) failed .*\nnothing was stopped or changed/,
    );
    assert.doesNotMatch(notEtcd.out, /\d+\/\d+ stop the API server/);
    await stillRunning();
    await inNode(backupHost.name, `rm ${BACKUP_DIR}/${bogus}.db.enc`);
  });

  it('with one member unreachable the restore stops before changing anything', async () => {
    const list = await inNode(backupHost.name, `ls ${BACKUP_DIR}`);
    const id = list.out
      .split('\n')
      .filter((f) => f.endsWith('.db.enc'))
      .sort()[0]!
      .replace('.db.enc', '');
    assert.equal((await kubectl('-n', 'backup-test', 'create', 'configmap', 'delta')).code, 0);
    await nodeFault(dir, 'cpu-06', 'drop');
    try {
      const r = await bcmkube('restore', '--snapshot', id, '--confirm', CLUSTER);
      assert.equal(r.code, 1);
      assert.match(r.out, /a restore needs every etcd member; nothing was stopped or changed:\n\s+cpu-06: cannot connect/);
    } finally {
      await nodeFault(dir, 'cpu-06', 'restore');
    }
    for (const n of etcdNodes.slice(0, 2))
      assert.ok((await configMapsOn(n)).includes('delta'), `${n.name} still has what was written after the backup`);
    assert.equal((await kubectl('-n', 'backup-test', 'get', 'configmap', 'delta')).code, 0);

    // a control-plane node whose static pods are not where Kubespray puts them is refused up front too
    await inNode('cpu-03', 'mv /etc/kubernetes/manifests/kube-scheduler.yaml /root/');
    try {
      const r = await bcmkube('restore', '--snapshot', id, '--confirm', CLUSTER);
      assert.equal(r.code, 1);
      assert.match(
        r.out,
        /a restore needs every control-plane node; nothing was stopped or changed:\n\s+cpu-03: checking the control plane's static pods .* failed \(exit 1\): no \/etc\/kubernetes\/manifests\/kube-scheduler\.yaml$/m,
      );
    } finally {
      await inNode('cpu-03', 'mv /root/kube-scheduler.yaml /etc/kubernetes/manifests/');
    }
    assert.match((await inNode('cpu-05', 'lab-kube status')).out, /^etcd \d+$/m);
  });
});
