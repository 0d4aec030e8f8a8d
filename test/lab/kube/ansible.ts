// What the Kubespray stand-in's cluster.yml and scale.yml run on the controller (one `delegate_to: localhost`
// task): bring the lab's real control plane up on the inventory's groups, as Kubespray's roles would, and create
// what a Kubespray deploy creates that later stages read (kube-system's nodelocaldns and CoreDNS: ConfigMaps and workloads).
// The lab folder is baked into the stand-in tarball when the lab builds it (test/lab/repo/content.ts).
//   ansible.ts --lab <dir> up --etcd a,b --control-plane a --workers c,d
import { execFile } from 'node:child_process';
import { parseArgs } from 'node:util';
import { readRunningNodes } from '../nodes.ts';
import { dnsConfigMaps, dnsWorkloads } from '../runai-sim/kubespray-dns.ts';
import { kubeUp, type KubeNode } from './control-plane.ts';

const { values, positionals } = parseArgs({
  options: {
    lab: { type: 'string' },
    etcd: { type: 'string', default: '' },
    'control-plane': { type: 'string', default: '' },
    workers: { type: 'string', default: '' },
  },
  allowPositionals: true,
});
if (positionals[0] !== 'up' || !values.lab) {
  process.stderr.write('usage: ansible.ts --lab <dir> up --etcd a,b --control-plane a --workers c,d\n');
  process.exit(2);
}
const labDir = values.lab;
const running = readRunningNodes(labDir);
const pick = (csv: string): KubeNode[] =>
  csv
    .split(',')
    .filter(Boolean)
    .map((name) => {
      const n = running.find((r) => r.name === name);
      if (!n)
        throw new Error(
          `lab: inventory host ${name} is not a running node of the lab in ${labDir} (running: ${running.map((r) => r.name).join(', ')})`,
        );
      return n;
    });
try {
  const cluster = await kubeUp(labDir, {
    etcd: pick(values.etcd),
    controlPlane: pick(values['control-plane']),
    workers: pick(values.workers),
  });
  // Kubespray's dns role creates these once (EnsureExists); a later run keeps what is there
  await new Promise<void>((done, fail) => {
    const p = execFile(
      cluster.kubectl,
      ['--kubeconfig', cluster.adminConf, 'create', '--save-config=false', '-f', '-', '-o', 'name'],
      (err, _out, stderr) => (err && !/AlreadyExists/.test(stderr) ? fail(new Error(stderr.trim())) : done()),
    );
    p.stdin!.end(
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...dnsConfigMaps(['nodelocaldns', 'coredns']), ...dnsWorkloads()] }),
    );
  });
  process.stdout.write(`control plane up: ${cluster.server}\n`);
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
