// What the lab's repository serves, laid out like upstream so the real download and checksum code runs:
//   charts/index.yaml + <chart>-<version>.tgz       small test charts with the real names and pinned versions
//   tools/helm/helm-<v>-linux-amd64.tar.gz(.sha256sum)            as get.helm.sh
//   tools/kubectl/release/<v>/bin/linux/amd64/kubectl(.sha256)    as dl.k8s.io
//     both the real binaries, reaching the lab's real API server (or, with cluster: 'standin', the launchers
//     of the recording cluster stand-ins, test/lab/standins, for the tests not yet moved)
//   tools/kubespray/<v>.tar.gz(.sha256)                           the Kubespray stand-in (see kubespray-standin/)
//   pypi/simple/<project>/ + pypi/files/<wheel>                   the real wheels of its requirements.txt (pypi.ts)
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadPlatformManifest } from '../../../actions/lib/helm/manifest.ts';
import { HELM_VERSION, KUBECTL_VERSION } from './binaries.ts';
import { buildLabPypi, ensureWheels } from './pypi.ts';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
export const KUBESPRAY_STANDIN_VERSION = 'v2.27.1';

export interface RepoContent {
  dir: string;
  /** path under dir → SHA-256 hex, for every downloadable file. */
  sha256: Record<string, string>;
  charts: Array<{ name: string; version: string }>;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function treeHash(root: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(relative(root, p)).update(readFileSync(p));
    }
  };
  walk(root);
  return h.digest('hex');
}

/** Isolated Helm state: never the user's ~/.config/helm or ~/.cache/helm. */
export function helmEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
}

/** The command the Kubespray stand-in runs on the runner to place the control plane of the lab in labDir. */
export function labKubeCommand(labDir: string): string[] {
  const root = join(HERE, '../../..');
  return ['bash', join(root, 'scripts/node24.sh'), join(root, 'test/lab/kube/ansible.ts'), '--lab', labDir];
}

/**
 * What the tool mirror serves as helm/kubectl: a launcher of the cluster stand-in of this checkout. Outside a
 * lab (no stand-in state) it refuses, so a tool cache that kept it can never be mistaken for the real tool.
 */
export function standinLauncher(tool: 'helm' | 'kubectl'): string {
  const target = join(HERE, '..', 'standins', tool);
  return [
    '#!/usr/bin/env bash',
    `# bcmkube lab: the cluster stand-in for ${tool} (${target}), served by the lab's tool mirror in the`,
    `# upstream layout. Cluster-free commands run the real ${tool}; it never reaches a real cluster.`,
    'if [ -z "${BCMKUBE_STANDIN_STATE:-}" ]; then',
    `  echo "${tool}: this is the bcmkube lab's cluster stand-in from the lab tool mirror, not a real ${tool}; remove $(dirname "$0") from the tool cache" >&2`,
    '  exit 127',
    'fi',
    `exec ${JSON.stringify(target)} "$@"`,
    '',
  ].join('\n');
}

/**
 * The version a real chart's Chart.yaml reports where it differs from our pin, so the lab's archive says
 * what the real one does: Knative's release scripts write 1.16.0 into the chart of tag v1.16.0.
 */
const REPORTED_VERSION: Record<string, (pinned: string) => string> = { 'knative-operator': (v) => v.replace(/^v/, '') };
export const reportedVersion = (chart: string, pinned: string): string => REPORTED_VERSION[chart]?.(pinned) ?? pinned;

/**
 * `cluster: 'real'` (default): the mirror serves the real helm and kubectl, and the Kubespray stand-in's cluster.yml
 * brings up the real control plane of the lab in dirname(dir). `'standin'`: the recording cluster stand-ins
 * (test/lab/standins) for the lab tests not yet moved to the real API server.
 */
export async function buildRepoContent(
  dir: string,
  opts: { helm: string; kubectl: string; manifestPath: string; cluster?: 'real' | 'standin' },
): Promise<RepoContent> {
  const real = (opts.cluster ?? 'real') === 'real';
  const manifest = loadPlatformManifest(opts.manifestPath);
  // the real wheels of the stand-in's requirements.txt (Kubespray v2.27.1's pins), fetched from PyPI once
  const wheels = await ensureWheels(join(HERE, 'kubespray-standin/requirements.txt'), join(HERE, '../../../.tools/pypi'));
  const charts = [...manifest.releases, ...manifest.runai].map((r) => ({
    name: r.chart,
    version: reportedVersion(r.chart, r.version),
  }));
  const stamp = createHash('sha256')
    .update(JSON.stringify(charts))
    .update(treeHash(join(HERE, 'chart-template')))
    .update(treeHash(join(HERE, 'chart-crds')))
    .update(treeHash(join(HERE, 'kubespray-standin')))
    .update(wheels.join('\n'))
    .update(`${HELM_VERSION} ${KUBECTL_VERSION}`)
    .update(real ? labKubeCommand(dirname(dir)).join(' ') : standinLauncher('helm') + standinLauncher('kubectl'))
    .digest('hex');
  const stampFile = join(dir, '.stamp');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
    return JSON.parse(readFileSync(join(dir, 'content.json'), 'utf8')) as RepoContent;
  }
  rmSync(dir, { recursive: true, force: true });
  const work = mkdtempSync(join(tmpdir(), 'lab-repo-'));
  const env = helmEnv(join(work, 'helm'));
  try {
    mkdirSync(join(dir, 'charts'), { recursive: true });
    for (const c of charts) {
      const src = join(work, 'charts', c.name);
      cpSync(join(HERE, 'chart-template'), src, { recursive: true });
      // the CRDs of the custom resources the stages apply or wait on (crds/: helm installs them first)
      if (existsSync(join(HERE, 'chart-crds', c.name))) cpSync(join(HERE, 'chart-crds', c.name), join(src, 'crds'), { recursive: true });
      writeFileSync(
        join(src, 'Chart.yaml'),
        `apiVersion: v2\nname: ${c.name}\nversion: ${c.version}\nappVersion: "${c.version}"\ndescription: Lab test chart standing in for ${c.name} ${c.version} (bcmkube lab)\ntype: application\n`,
      );
      await run(opts.helm, ['package', src, '-d', join(dir, 'charts')], { env });
    }
    await run(opts.helm, ['repo', 'index', join(dir, 'charts')], { env });

    const helmDir = join(dir, 'tools/helm');
    mkdirSync(join(work, 'linux-amd64'), { recursive: true });
    if (real) cpSync(opts.helm, join(work, 'linux-amd64/helm'));
    else writeFileSync(join(work, 'linux-amd64/helm'), standinLauncher('helm'), { mode: 0o755 });
    mkdirSync(helmDir, { recursive: true });
    const helmTar = `helm-${HELM_VERSION}-linux-amd64.tar.gz`;
    await run('tar', ['-C', work, '-I', 'gzip -1', '-cf', join(helmDir, helmTar), 'linux-amd64/helm']);
    writeFileSync(join(helmDir, `${helmTar}.sha256sum`), `${sha256(join(helmDir, helmTar))}  ${helmTar}\n`);

    const kubectlDir = join(dir, `tools/kubectl/release/${KUBECTL_VERSION}/bin/linux/amd64`);
    mkdirSync(kubectlDir, { recursive: true });
    if (real) cpSync(opts.kubectl, join(kubectlDir, 'kubectl'));
    else writeFileSync(join(kubectlDir, 'kubectl'), standinLauncher('kubectl'), { mode: 0o755 });
    writeFileSync(join(kubectlDir, 'kubectl.sha256'), sha256(join(kubectlDir, 'kubectl')));

    const ksDir = join(dir, 'tools/kubespray');
    const top = `kubespray-${KUBESPRAY_STANDIN_VERSION.slice(1)}`;
    cpSync(join(HERE, 'kubespray-standin'), join(work, top), { recursive: true });
    // the lab this mirror serves (<lab>/repo): cluster.yml brings its control plane up with no environment variable
    const defaults = join(work, top, 'roles/kubespray-defaults/defaults/main.yml');
    if (real)
      writeFileSync(
        defaults,
        readFileSync(defaults, 'utf8').replace(
          /^bcmkube_lab_kube: \[\]$/m,
          `bcmkube_lab_kube: ${JSON.stringify(labKubeCommand(dirname(dir)))}`,
        ),
      );
    mkdirSync(ksDir, { recursive: true });
    const ksTar = `${KUBESPRAY_STANDIN_VERSION}.tar.gz`;
    await run('tar', [
      '-C',
      work,
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--mtime=2026-01-01',
      '-I',
      'gzip -n',
      '-cf',
      join(ksDir, ksTar),
      top,
    ]);
    writeFileSync(join(ksDir, `${ksTar}.sha256`), sha256(join(ksDir, ksTar)));

    const served = buildLabPypi(dir, wheels);

    const hashes: Record<string, string> = {};
    for (const f of [
      ...served,
      `tools/helm/${helmTar}`,
      `tools/kubectl/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl`,
      `tools/kubespray/${ksTar}`,
      ...readdirSync(join(dir, 'charts')).map((f) => `charts/${f}`),
    ]) {
      hashes[f] = sha256(join(dir, f));
    }
    const content: RepoContent = { dir, sha256: hashes, charts };
    writeFileSync(join(dir, 'content.json'), JSON.stringify(content, null, 2));
    writeFileSync(stampFile, stamp);
    return content;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
