// mirrors.ca_file on the nodes: Kubespray downloads files (get_url) and containerd pulls images on the nodes
// themselves, and both verify TLS against the node's system trust store. Kubespray v2.27.1 has no setting for a
// private CA (its containerd hosts.toml template has no `ca` key), so bcmkube installs the CA there with a
// playbook of its own, run with the same Ansible, inventory and config before Kubespray's.
import * as yaml from 'js-yaml';

/** The playbook's file name in the stage's work folder. */
export const MIRROR_CA_PLAYBOOK = 'bcmkube-mirror-ca.yml';
/** Where the CA goes on a node (Debian/Ubuntu, as DGX OS). */
export const NODE_CA_PATH = '/usr/local/share/ca-certificates/bcmkube-mirrors.crt';

export function mirrorCaPlaybook(caFile: string): string {
  return yaml.dump([
    {
      name: "Trust the mirrors' CA (bcmkube, mirrors.ca_file)",
      hosts: 'k8s_cluster:etcd',
      gather_facts: false,
      tasks: [
        {
          name: 'CA in the system trust store',
          'ansible.builtin.copy': { src: caFile, dest: NODE_CA_PATH, owner: 'root', group: 'root', mode: '0644' },
          register: 'bcmkube_mirror_ca',
        },
        {
          name: 'Rebuild the trust store',
          'ansible.builtin.command': 'update-ca-certificates',
          when: 'bcmkube_mirror_ca.changed',
        },
      ],
    },
  ]);
}
