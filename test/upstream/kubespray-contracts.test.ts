// The kubespray stage against Kubespray v2.27.1's real files (../shared/upstream/kubespray-v2.27.1): the Python
// pins our venv installs, the ansible-core range, the Kubernetes versions it has checksums for, and the settings of
// its ansible.cfg that stay in force under ours.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { kubesprayAnsibleRange } from '../../actions/lib/kubespray/ansible-env.ts';
import { ourAnsibleSettings, playbookEnvironment } from '../../actions/lib/kubespray/ansible-settings.ts';
import { kubernetesVersionsFromChecksums, supportedKubernetesVersions } from '../../actions/lib/kubespray/kubernetes-versions.ts';
import { readUpstream, upstreamPath } from './upstream.ts';

const KS = 'kubespray-v2.27.1';
const STANDIN = join(import.meta.dirname, '../lab/repo/kubespray-standin');
const pins = (text: string) =>
  text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .sort();

/** `section.key` of every setting in an ansible.cfg. */
function cfgKeys(text: string): string[] {
  let section = '';
  const keys: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) section = s[1]!;
    else keys.push(`${section}.${line.split('=')[0]!.trim()}`);
  }
  return keys;
}

describe('Kubespray v2.27.1: Python and Ansible', () => {
  it("the lab stand-in's requirements.txt pins exactly what the real one pins (ansible 9.13.0, cryptography, jmespath, netaddr)", () => {
    assert.deepEqual(pins(readFileSync(join(STANDIN, 'requirements.txt'), 'utf8')), pins(readUpstream(KS, 'requirements.txt')));
    assert.ok(pins(readUpstream(KS, 'requirements.txt')).includes('ansible==9.13.0'));
  });
  it('the ansible-core range read from the real ansible_version.yml is 2.16.4 <= core < 2.17.0, as the stand-in enforces', () => {
    assert.deepEqual(kubesprayAnsibleRange(upstreamPath(KS)), { min: '2.16.4', max: '2.17.0' });
    assert.deepEqual(kubesprayAnsibleRange(STANDIN), kubesprayAnsibleRange(upstreamPath(KS)));
  });
});

describe('Kubespray v2.27.1: Kubernetes versions', () => {
  const real = kubernetesVersionsFromChecksums(readUpstream(KS, 'roles/kubespray-defaults/defaults/main/checksums.yml'));
  it('our data file holds exactly the versions the real checksums.yml has kubelet and kubeadm checksums for', () => {
    assert.deepEqual(supportedKubernetesVersions('v2.27.1'), real);
  });
  it('those run up to v1.29.15, v1.30.13 and v1.31.9, and include the lab spec version', () => {
    const newest = (minor: string) => real.filter((v) => v.startsWith(`${minor}.`)).at(-1);
    assert.deepEqual([newest('v1.29'), newest('v1.30'), newest('v1.31')], ['v1.29.15', 'v1.30.13', 'v1.31.9']);
    assert.ok(!real.includes('v1.31.10'));
  });
});

describe("Kubespray v2.27.1's ansible.cfg under our settings", () => {
  const keys = cfgKeys(readUpstream(KS, 'ansible.cfg'));
  const env = playbookEnvironment(
    { ANSIBLE_VAULT_PASSWORD_FILE: '/home/runner/.vault', PATH: '/usr/bin' },
    {
      kubesprayRoot: upstreamPath(KS),
      knownHostsFile: '/run/known_hosts',
      factCache: '/run/facts',
    },
  );
  it('is the config file of every run (roles_path, library and the rest apply as Kubespray ships them)', () => {
    assert.equal(env.ANSIBLE_CONFIG, upstreamPath(KS, 'ansible.cfg'));
    for (const kept of ['defaults.roles_path', 'defaults.library', 'defaults.gathering', 'defaults.timeout', 'ssh_connection.pipelining'])
      assert.ok(keys.includes(kept), `${kept} is a setting of the real file`);
  });
  it('we override only keys the real file sets or Ansible knows, each for a stated reason; host keys are checked', () => {
    const ours = ourAnsibleSettings('/run/known_hosts', '/run/facts');
    for (const s of ours) assert.ok(s.why.length > 10, `${s.key}: why`);
    const overridden = ours.map((s) => s.key).filter((k) => keys.includes(k));
    assert.deepEqual(overridden.sort(), [
      'defaults.fact_caching',
      'defaults.fact_caching_connection',
      'defaults.host_key_checking',
      'ssh_connection.ssh_args',
    ]);
    assert.match(readUpstream(KS, 'ansible.cfg'), /UserKnownHostsFile=\/dev\/null/, "Kubespray's own ssh_args skip host keys");
    assert.equal(env.ANSIBLE_HOST_KEY_CHECKING, 'True');
    assert.match(env.ANSIBLE_SSH_ARGS!, /StrictHostKeyChecking=yes -o UserKnownHostsFile=\/run\/known_hosts$/);
    assert.equal(env.ANSIBLE_VAULT_PASSWORD_FILE, undefined, "the runner's vault settings never reach a run");
  });
});
