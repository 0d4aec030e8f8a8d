// How ansible-playbook runs Kubespray: Kubespray's own ansible.cfg stays in force (its roles_path, library with the
// `kube` module, fact cache, timeouts), and the few settings that are ours go on top as the environment variables
// that override single keys. Every inherited ANSIBLE_* variable is dropped first, so a runner's vault password
// file, config file or callback settings never reach a run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StageError } from '../util/errors.ts';

export interface OurSetting {
  /** The key of ansible.cfg it replaces, as `section.key`. */
  key: string;
  env: string;
  value: string;
  why: string;
}

/**
 * Our settings over Kubespray's ansible.cfg. Everything else of that file applies as Kubespray ships it.
 * `knownHostsFile` is prepare-nodes' known_hosts; `factCache` a folder under RUNNER_TEMP.
 */
export function ourAnsibleSettings(knownHostsFile: string, factCache: string): OurSetting[] {
  return [
    {
      key: 'defaults.host_key_checking',
      env: 'ANSIBLE_HOST_KEY_CHECKING',
      value: 'True',
      why: "host keys are checked against prepare-nodes' known_hosts (Kubespray turns checking off)",
    },
    {
      key: 'ssh_connection.ssh_args',
      env: 'ANSIBLE_SSH_ARGS',
      // ServerAlive: a shared ControlMaster connection to a node that drops off would otherwise hang every later
      // task on it until TCP gives up (about 15 minutes). No UserKnownHostsFile=/dev/null (Kubespray's).
      value: `-o ControlMaster=auto -o ControlPersist=60s -o ConnectTimeout=10 -o ServerAliveInterval=10 -o ServerAliveCountMax=3 -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHostsFile}`,
      why: "strict host keys from prepare-nodes' known_hosts, our key only, dead nodes detected in 30 s",
    },
    {
      key: 'defaults.fact_caching',
      env: 'ANSIBLE_CACHE_PLUGIN',
      value: 'jsonfile',
      why: "the same plugin as Kubespray's; named because scale and remove-node rely on it",
    },
    {
      key: 'defaults.fact_caching_connection',
      env: 'ANSIBLE_CACHE_PLUGIN_CONNECTION',
      value: factCache,
      why: 'facts stay in this job (under RUNNER_TEMP), never in the shared /tmp',
    },
    {
      key: 'defaults.interpreter_python',
      env: 'ANSIBLE_PYTHON_INTERPRETER',
      value: 'auto_silent',
      why: "the node's Python is found without a warning per host",
    },
    {
      key: 'inventory.unparsed_is_failed',
      env: 'ANSIBLE_INVENTORY_UNPARSED_FAILED',
      value: 'True',
      why: 'an inventory Ansible cannot read fails the run (and the plan) instead of running on localhost only',
    },
    {
      key: 'defaults.retry_files_enabled',
      env: 'ANSIBLE_RETRY_FILES_ENABLED',
      value: 'False',
      why: 'no .retry files beside the playbooks',
    },
    { key: 'defaults.force_color', env: 'ANSIBLE_FORCE_COLOR', value: 'False', why: 'plain text for the job log and the recap parser' },
    { key: 'defaults.nocolor', env: 'ANSIBLE_NOCOLOR', value: 'True', why: 'plain text for the job log and the recap parser' },
  ];
}

/** Kubespray's own configuration file, which every run reads. */
export function kubesprayConfigFile(kubesprayRoot: string): string {
  const file = join(kubesprayRoot, 'ansible.cfg');
  if (!existsSync(file))
    throw new StageError(
      `the Kubespray archive has no ansible.cfg at its top (${file}): its roles and modules would not be found; check mirrors.kubespray serves a Kubespray release`,
    );
  return file;
}

/** The environment of ansible-playbook: Kubespray's ansible.cfg, our settings on top, nothing inherited. */
export function playbookEnvironment(
  base: NodeJS.ProcessEnv,
  opts: { kubesprayRoot: string; knownHostsFile: string; factCache: string },
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(base).filter(([k]) => !/^ANSIBLE_/.test(k)));
  env.ANSIBLE_CONFIG = kubesprayConfigFile(opts.kubesprayRoot);
  for (const s of ourAnsibleSettings(opts.knownHostsFile, opts.factCache)) env[s.env] = s.value;
  env.PYTHONUNBUFFERED = '1';
  return env;
}
