// `bcmkube lab up|down|status|fault`: the local lab from a checkout.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TerminalReporter, type Reporter } from '../../actions/lib/report/reporter.ts';
import { table } from '../../actions/lib/report/markdown.ts';
import { errorMessage, UsageError } from '../../actions/lib/util/errors.ts';
import { DEFAULT_LAB_DIR, labConfig, labDown, labFault, labUp, readLabState, syntheticNodes, type LabState } from './lab.ts';

const FAULTS = ['drop', 'reject', 'hang', 'reboot', 'poweroff', 'restore'] as const;
type Fault = (typeof FAULTS)[number];

const USAGE = `usage: bcmkube lab <up|down|status|fault> [options]
  up [--nodes N] [--bcm-version 10|11] [--password-admin] [--subnet S] [--dir DIR]
      bring up the lab (default: the five nodes of clusters/lab.yaml); idempotent
  down [--dir DIR]      stop everything the lab started and remove its mounts and firewall table
  status [--dir DIR]    endpoints, credential files and nodes
  fault <node> <${FAULTS.join('|')}> [--dir DIR]`;

export function describeLab(state: LabState): string {
  const f = state.files;
  return [
    `lab in ${state.dir} (subnet 127.0.${state.subnet}.0/24, BCM ${state.bcmVersion})`,
    '',
    table(
      ['service', 'URL'],
      [
        ['BCM head node (JSON API)', state.services.bcm.url],
        ['Run:ai control plane', state.services.runai.url],
        ['chart repository + tool mirror', state.services.repo.url],
      ],
    ),
    '',
    table(
      ['credential', 'file'],
      [
        ['lab CA (BCM, Run:ai, repository)', f.caCert],
        [`BCM password of '${state.users.bcm}'`, f.bcmPassword],
        ['BCM client certificate / key', `${f.bcmClientCert} / ${f.bcmClientKey}`],
        ['admin SSH key (root)', f.adminKey],
        ['service user SSH key', `${f.serviceKey} (+ .pub)`],
        ['known_hosts', f.knownHosts],
        [`Run:ai password of '${state.users.runai}'`, f.runaiPassword],
        ...(f.adminPassword ? [[`password of admin '${state.users.admin}'`, f.adminPassword]] : []),
      ],
    ),
    '',
    table(
      ['node', 'address', 'GPUs', 'host key'],
      state.nodes.map((n) => [n.name, `${n.address}:${n.port}`, n.gpus, n.hostKeyFingerprint]),
    ),
  ].join('\n');
}

export async function labCli(argv: string[], reporter: Reporter): Promise<number> {
  const [sub, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        dir: { type: 'string', default: DEFAULT_LAB_DIR },
        subnet: { type: 'string', default: '1' },
        nodes: { type: 'string' },
        'bcm-version': { type: 'string', default: '11' },
        'password-admin': { type: 'boolean', default: false },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (!sub || values.help) {
    reporter.info(USAGE);
    return sub ? 0 : 2;
  }
  switch (sub) {
    case 'up': {
      const count = values.nodes === undefined ? undefined : Number(values.nodes);
      if (count !== undefined && (!Number.isInteger(count) || count < 1 || count > 200))
        throw new UsageError('--nodes must be a whole number from 1 to 200');
      if (values['bcm-version'] !== '10' && values['bcm-version'] !== '11') throw new UsageError('--bcm-version must be 10 or 11');
      const subnet = Number(values.subnet);
      if (!Number.isInteger(subnet) || subnet < 1 || subnet > 250)
        throw new UsageError('--subnet must be a whole number from 1 to 250 (nodes get 127.0.<subnet>.<n>)');
      const started = Date.now();
      const state = await labUp(
        labConfig({
          dir: values.dir,
          subnet,
          ...(count ? { nodes: syntheticNodes(count) } : {}),
          bcmVersion: values['bcm-version'] === '10' ? 'bcm10' : 'bcm11',
          passwordAdmin: values['password-admin'],
        }),
      );
      reporter.info(describeLab(state));
      reporter.info(`\nlab up in ${((Date.now() - started) / 1000).toFixed(1)}s. Next: bcmkube discover --spec clusters/lab.yaml`);
      return 0;
    }
    case 'down':
      await labDown(values.dir);
      reporter.info(`lab in ${values.dir} is down: no node, service, mount or firewall table of it is left`);
      return 0;
    case 'status': {
      const state = readLabState(values.dir);
      if (!state) {
        reporter.info(`no lab in ${values.dir}; start one with: npm run lab -- up`);
        return 1;
      }
      reporter.info(describeLab(state));
      return 0;
    }
    case 'fault': {
      const [node, fault] = positionals;
      if (!node || !fault || !(FAULTS as readonly string[]).includes(fault)) throw new UsageError(USAGE);
      await labFault(values.dir, node, fault as Fault);
      reporter.info(`${node}: ${fault}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown lab command '${sub}'\n${USAGE}`);
  }
}

// the lab's own entry point: `bcmkube lab …` (bundled or from source) runs this file as a process
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const reporter = new TerminalReporter();
  process.exitCode = await labCli(process.argv.slice(2), reporter).catch((err: unknown) => {
    reporter.error(errorMessage(err));
    return err instanceof UsageError ? 2 : 1;
  });
}
