// The lab's control plane when a component cannot start: kubeUp stops waiting at once and says which
// component, in which node, and why (the end of its log), instead of a bare timeout.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { kubeUp } from './kube/control-plane.ts';
import { nodeAddress, startNodes, stopNodes } from './nodes.ts';

const exec = promisify(execFile);
const SUBNET = 87;
const dir = mkdtempSync(join(tmpdir(), 'kube-errors-'));
const cp = { name: 'cpu-03', address: nodeAddress(SUBNET, 3), gpus: 0 };
let squatter: Server;

describe('the lab control plane when etcd cannot start', () => {
  before(async () => {
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'admin')]);
    await startNodes({
      dir,
      subnet: SUBNET,
      nodes: [{ name: 'cpu-03', index: 3, gpus: 0 }],
      adminPublicKey: readFileSync(join(dir, 'admin.pub'), 'utf8'),
    });
    // something else already holds etcd's client port on the node's address
    squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(2379, cp.address, resolve));
  });
  after(async () => {
    squatter?.close();
    await stopNodes(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('kubeUp fails within seconds, naming etcd, the node and the reason from its log', async () => {
    const started = Date.now();
    await assert.rejects(kubeUp(dir, { etcd: [cp], controlPlane: [cp], workers: [] }), (err: Error) => {
      assert.match(err.message, /^lab: etcd in cpu-03 exited; cpu-03:\/var\/log\/lab-kube\/etcd\.log ends: .*address already in use/);
      return true;
    });
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });
});
