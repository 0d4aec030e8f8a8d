// The lab's real control plane: its one-time build from a cold module and build cache (BENCH_ONLY=kubeBuild,
// tens of minutes on 2 cores), and its bring-up on running lab nodes, warm (BENCH_ONLY=controlPlane):
// etcd, kube-apiserver, controller-manager, scheduler and KWOK on a three-node lab, with their memory.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { kubeDown, kubeUp } from '../test/lab/kube/control-plane.ts';
import { nodeAddress, nodeInitPid, startNodes, stopNodes, type LabNodeSpec } from '../test/lab/nodes.ts';

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

export async function benchControlPlane() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-kube-'));
  const specs: LabNodeSpec[] = [
    { name: 'cpu-03', index: 3, gpus: 0 },
    { name: 'dgx-05', index: 105, gpus: 8 },
    { name: 'dgx-06', index: 106, gpus: 8 },
  ];
  const node = (s: LabNodeSpec) => ({ name: s.name, address: nodeAddress(SUBNET, s.index), gpus: s.gpus });
  try {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'admin')]);
    await startNodes({ dir, subnet: SUBNET, nodes: specs, adminPublicKey: readFileSync(join(dir, 'admin.pub'), 'utf8') });
    const start = performance.now();
    await kubeUp(dir, { etcd: [node(specs[0]!)], controlPlane: [node(specs[0]!)], workers: specs.slice(1).map(node) });
    const upSeconds = (performance.now() - start) / 1000;
    return { upSeconds: Number(upSeconds.toFixed(1)), controlPlaneNodeRssMb: nodeRssMb(dir, 'cpu-03') };
  } finally {
    await kubeDown(
      dir,
      specs.map((s) => s.name),
    ).catch(() => undefined);
    await stopNodes(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
