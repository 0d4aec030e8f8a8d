// BENCHMARKS.md from bench/results.json: the numbers of the last `npm run bench` on this machine.
type Spread = { median: number; min: number; max: number; runs: number };
const s = (x: Spread | undefined, unit: string) =>
  x ? `${x.median} ${unit} (min ${x.min}, max ${x.max}, ${x.runs} runs)` : 'not measured';

export function renderBenchmarks(r: Record<string, any>): string {
  const lines = [
    '# Benchmarks',
    '',
    `Measured by \`npm run bench\` on ${r.date} — ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGb} GiB, Node ${r.machine.node}.`,
    'Numbers are medians with the spread over repeated runs; raw data in `bench/results.json`. Regenerate with `npm run bench`',
    '(`BENCH_ONLY=discovery10k,bundles,prepare50,helmDag,controlPlane` by default, plus `kubeBuild` on request: the control plane built from a cold Go cache, minutes; `BENCH_RUNS`, `BENCH_ANSIBLE_RUNS`, `BENCH_DAG_RUNS` select and repeat).',
    '',
  ];
  if (r.discovery10k) {
    lines.push(
      '## Discovery of a 10,000-node BCM cluster',
      '',
      r.discovery10k.what,
      '',
      '| measure | result | goal |',
      '| --- | --- | --- |',
      `| wall time | ${s(r.discovery10k.wallSeconds, 's')} | ≤ ${r.discovery10k.goal.wallSeconds} s |`,
      `| peak RSS | ${s(r.discovery10k.peakRssMb, 'MB')} | ≤ ${r.discovery10k.goal.peakRssMb} MB |`,
      '',
    );
  }
  if (r.prepare50) {
    const p = r.prepare50;
    lines.push(
      '## prepare-nodes on 50 nodes vs Ansible vs a bare SSH fan-out (same run)',
      '',
      p.what,
      '',
      '| what | wall time |',
      '| --- | --- |',
      `| bare node-ssh fan-out (\`true\`) | ${s(p.fanoutSeconds, 's')} |`,
      `| prepare-nodes, from zero | ${s(p.prepareFromZeroSeconds, 's')} |`,
      `| prepare-nodes, converged re-run | ${s(p.prepareConvergedSeconds, 's')} |`,
      `| Ansible equivalent | ${s(p.ansibleSeconds, 's')} |`,
      '',
      `Ansible / prepare-nodes: **${p.ratios.ansibleOverPrepare}×** (goal ≥ ${p.goal.ansibleOverPrepareAtLeast}×); prepare-nodes / fan-out: **${p.ratios.prepareOverFanout}×** (goal ≤ ${p.goal.prepareOverFanoutAtMost}×). prepare-nodes peak RSS ${s(p.preparePeakRssMb, 'MB')}.`,
      '',
    );
  }
  if (r.helmDag) {
    const d = r.helmDag;
    lines.push(
      '## helm-platform: the release graph vs its critical path and the sequential sum',
      '',
      d.what,
      '',
      '| what | seconds |',
      '| --- | --- |',
      `| wall time of the graph (${d.concurrency} at a time) | ${s(d.wallSeconds, 's')} |`,
      `| critical path of the measured release times | ${s(d.criticalPathSeconds, 's')} |`,
      `| sequential sum of the measured release times | ${s(d.sequentialSumSeconds, 's')} |`,
      `| nominal (stand-in hold times only): critical path ${d.nominal.criticalPath.join(' → ')} | ${d.nominal.criticalPathSeconds} s; sum ${d.nominal.sumSeconds} s |`,
      '',
      `Wall / critical path: **${d.wallOverCriticalPath.median}×** (goal ≤ ${d.goal.wallOverCriticalPathAtMost}×); wall / sequential sum: **${d.wallOverSum.median}×** (goal ≤ ${d.goal.wallOverSumAtMost}×).`,
      '',
    );
  }
  if (r.kubeBuild || r.controlPlane) {
    lines.push(
      "## The lab's real control plane (etcd, kube-apiserver, controller-manager, scheduler, KWOK)",
      '',
      '| what | value |',
      '| --- | --- |',
    );
    if (r.kubeBuild) {
      lines.push(`| one-time build from a cold module and build cache | ${r.kubeBuild.coldBuildMinutes} min |`);
      for (const [bin, mb] of Object.entries(r.kubeBuild.sizesMb as Record<string, number>)) lines.push(`| ${bin} | ${mb} MB |`);
    }
    if (r.controlPlane) {
      const c = r.controlPlane;
      lines.push(`| the five lab nodes started | ${c.nodesSeconds} s |`);
      lines.push(`| then the control plane placed, started and the nodes Ready (warm: binaries built) | ${c.controlPlaneSeconds} s |`);
      for (const [name, mb] of Object.entries(c.nodeRssMb as Record<string, number>))
        lines.push(`| memory of ${name}'s Kubernetes processes (RSS) | ${mb} MB |`);
    }
    lines.push('');
  }
  if (r.bundles) {
    lines.push('## Bundles: size and cold start', '', '| bundle | size | cold start | peak RSS |', '| --- | --- | --- | --- |');
    for (const [name, b] of Object.entries(r.bundles as Record<string, any>))
      lines.push(`| ${name} | ${b.bundleKb} KB | ${s(b.coldStartMs, 'ms')} | ${s(b.peakRssMb, 'MB')} |`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
