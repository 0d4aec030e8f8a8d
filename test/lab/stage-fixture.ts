// The lab as the later stages see it: a lab cluster, the lab's chart repository and tool mirror, the cluster
// stand-ins for helm/kubectl on PATH (real binaries for what needs no cluster), and the earlier stages already
// run through the CLI — up to prepare-nodes, or up to kubespray deploy (admin.conf on the control plane).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { main } from '../../actions/lib/cli/main.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import { startLabCluster, type LabCluster } from './cluster-fixture.ts';
import { defaultLabNodes, type LabNodeSpec } from './nodes.ts';
import { issueCert } from './pki.ts';
import { buildRepoContent, ensureRealHelmKubectl, startRepoServer, type RepoServer } from './repo/index.ts';

const ROOT = resolve(import.meta.dirname, '../..');

export interface CliRun {
  code: number;
  out: string;
  outputs: Record<string, string>;
}

export interface StageLab {
  lab: LabCluster;
  repo: RepoServer;
  dir: string;
  /** The --out folder every stage writes to. */
  out: string;
  /** The spec all stages run with (lab.yaml aimed at this lab, mirrors at the lab repository). */
  spec: string;
  /** Writes another spec, with the same mirrors, then `mutate`. */
  writeSpec(name: string, mutate?: (s: Record<string, any>) => void): string;
  /** Runs `bcmkube <argv>` in-process with a terminal reporter. */
  cli(...argv: string[]): Promise<CliRun>;
  /** JSON lines the helm/kubectl stand-ins recorded. */
  standinLog(): Array<Record<string, any>>;
  close(): Promise<void>;
}

export async function startStageLab(opts: {
  dir: string;
  subnet: number;
  nodes?: LabNodeSpec[];
  /** How far the earlier stages are run: none, 'prepare' (default) or 'kubespray' (a deployed stand-in cluster). */
  through?: 'none' | 'prepare' | 'kubespray';
  bcmPassword?: string;
  /** 'real': the lab's real control plane (Kubespray stand-in's cluster.yml) and real helm/kubectl; default 'standin'. */
  cluster?: 'real' | 'standin';
}): Promise<StageLab> {
  const { dir } = opts;
  const savedEnv = { ...process.env };
  const lab = await startLabCluster({
    dir,
    subnet: opts.subnet,
    nodes: opts.nodes ?? defaultLabNodes(),
    ...(opts.bcmPassword ? { bcmPassword: opts.bcmPassword } : {}),
  });
  let repo: RepoServer | undefined;
  const close = async () => {
    process.env = savedEnv;
    await lab.close();
    await repo?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const bins = await ensureRealHelmKubectl(join(ROOT, '.tools/k8s-bin'));
    const cluster = opts.cluster ?? 'standin';
    await buildRepoContent(join(dir, 'repo'), { ...bins, manifestPath: join(ROOT, 'helm/platform.yaml'), cluster });
    repo = await startRepoServer({ dir: join(dir, 'repo'), tls: issueCert(lab.ca, 'repo', ['127.0.0.1'], 'server') });
    Object.assign(process.env, {
      RUNNER_TOOL_CACHE: join(dir, 'tool-cache'),
      RUNNER_TEMP: join(dir, 'runner-temp'),
    });
    if (cluster === 'standin')
      Object.assign(process.env, {
        PATH: `${join(ROOT, 'test/lab/standins')}:${process.env.PATH}`,
        BCMKUBE_STANDIN_LOG: join(dir, 'standin.jsonl'),
        BCMKUBE_STANDIN_STATE: join(dir, 'standin-state.json'),
        BCMKUBE_REAL_KUBECTL: bins.kubectl,
        BCMKUBE_REAL_HELM: bins.helm,
      });
    const repoUrl = repo.url;
    const writeSpec = (name: string, mutate: (s: Record<string, any>) => void = () => {}) =>
      lab.writeSpec(name, (s) => {
        s.mirrors = {
          ...s.mirrors,
          kubespray: `${repoUrl}/tools/kubespray`,
          tools: `${repoUrl}/tools`,
          pypi: `${repoUrl}/pypi/simple`,
          ca_file: lab.ca.caCert,
        };
        mutate(s);
      });
    const cli = async (...argv: string[]): Promise<CliRun> => {
      const r = new TerminalReporter(() => {});
      const code = await main(argv, r);
      return { code, out: r.lines.join('\n'), outputs: r.outputs };
    };
    const out = join(dir, 'out');
    const spec = writeSpec('spec');
    const earlier = { none: [], prepare: ['discover', 'prepare'], kubespray: ['discover', 'prepare', 'kubespray'] };
    for (const stage of earlier[opts.through ?? 'prepare']) {
      const r = await cli(stage, '--spec', spec, '--out', out);
      assert.equal(r.code, 0, `${stage} on the lab: ${r.out}`);
    }
    const logFile = join(dir, 'standin.jsonl');
    return {
      lab,
      repo,
      dir,
      out,
      spec,
      writeSpec,
      cli,
      standinLog: () =>
        existsSync(logFile)
          ? readFileSync(logFile, 'utf8')
              .trim()
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l))
          : [],
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
