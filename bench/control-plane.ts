// The lab's real control plane: its one-time build from a cold module and build cache (BENCH_ONLY=kubeBuild,
// minutes), and its bring-up on running lab nodes, warm (BENCH_ONLY=controlPlane):
// etcd, kube-apiserver, controller-manager, scheduler and KWOK on the five-node lab, with their memory.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { kubeUp } from '../test/lab/kube/control-plane.ts';
import { defaultLabNodes, nodeAddress, nodeInitPid, startNodes, stopNodes, type LabNodeSpec } from '../test/lab/nodes.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const SUBNET = 89;

export async function benchKubeBuild() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-kube-build-'));
  try {
    const env = { ...process.env, GOMODCACHE: join(dir, 'mod'), GOCACHE: join(dir, 'cache'), BCMKUBE_KUBE_TOOLS: join(dir, 'tools') };
    const start = performance.now();
    await run('bash', [join(ROOT, 'scripts/build-kube.sh')], { env, maxBuffer: 64 << 20 });
    const minutes = (performance.now() - start) / 60_000;
    const sizesMb: Record<string, number> = {};
    for (const folder of readdirSync(join(dir, 'tools')).filter((f) => !f.startsWith('.'))) {
      for (const bin of readdirSync(join(dir, 'tools', folder)).filter((f) => !f.startsWith('.')))
        sizesMb[bin] = Math.round(statSync(join(dir, 'tools', folder, bin)).size / 2 ** 20);
    }
    return { coldBuildMinutes: Number(minutes.toFixed(1)), sizesMb };
  } finally {
    await run('chmod', ['-R', 'u+w', dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resident memory (MB) of every process in a node's PID namespace but its sshd (the namespace's PID 1). */
function nodeRssMb(labDir: string, name: string): number {
  const init = nodeInitPid(labDir, name);
  if (!init) return 0;
  const ns = readlinkSync(`/proc/${init}/ns/pid`);
  let kb = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p) && p !== String(init))) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/pid`) !== ns) continue;
      kb += Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // the process ended meanwhile
    }
  }
  return Math.round(kb / 1024);
}

/** The lab of clusters/lab.yaml: cpu-03/05/06 the control plane and etcd, dgx-05/06 the GPU workers. */
export async function benchControlPlane() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-kube-'));
  const specs = defaultLabNodes();
  const node = (s: LabNodeSpec) => ({ name: s.name, address: nodeAddress(SUBNET, s.index), gpus: s.gpus });
  const controlPlane = specs.filter((s) => !s.gpus).map(node);
  try {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'admin')]);
    const start = performance.now();
    await startNodes({ dir, subnet: SUBNET, nodes: specs, adminPublicKey: readFileSync(join(dir, 'admin.pub'), 'utf8') });
    const nodesUp = performance.now();
    await kubeUp(dir, { etcd: controlPlane, controlPlane, workers: specs.filter((s) => s.gpus).map(node) });
    const done = performance.now();
    const rss = Object.fromEntries(specs.map((n) => [n.name, nodeRssMb(dir, n.name)]));
    return {
      what: "five lab nodes started, then etcd ×3, kube-apiserver ×3, controller-manager ×3 and scheduler ×3 placed and started in them, KWOK as every node's kubelet, the five Node objects Ready",
      nodesSeconds: Number(((nodesUp - start) / 1000).toFixed(1)),
      controlPlaneSeconds: Number(((done - nodesUp) / 1000).toFixed(1)),
      nodeRssMb: rss,
    };
  } finally {
    // by PID: a node's end ends every process of its PID namespace, the control plane's too
    await stopNodes(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
