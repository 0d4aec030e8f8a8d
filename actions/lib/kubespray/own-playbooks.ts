// bcmkube's own playbooks, run with the same Ansible, inventory and config as Kubespray's, for what Kubespray
// leaves to the operator. Written into the stage's work folder; PlaybookRun.ours marks them.
import * as yaml from 'js-yaml';

/** One line per value: play names stay readable in the log. */
const DUMP = { lineWidth: -1 };

/**
 * mirrors.ca_file on the nodes: Kubespray downloads files (get_url) and containerd pulls images on the nodes
 * themselves, and both verify TLS against the node's system trust store. Kubespray v2.27.1 has no setting for a
 * private CA (its containerd hosts.toml template has no `ca` key), so it goes into the trust store first.
 */
export const MIRROR_CA_PLAYBOOK = 'bcmkube-mirror-ca.yml';
/** Where the CA goes on a node (Debian/Ubuntu, as DGX OS). */
export const NODE_CA_PATH = '/usr/local/share/ca-certificates/bcmkube-mirrors.crt';

export function mirrorCaPlaybook(caFile: string): string {
  return yaml.dump(
    [
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
          { name: 'Rebuild the trust store', 'ansible.builtin.command': 'update-ca-certificates', when: 'bcmkube_mirror_ca.changed' },
        ],
      },
    ],
    DUMP,
  );
}

/**
 * After control-plane nodes join a running cluster, Kubespray's docs (operations/nodes.md, "Restart
 * kube-system/nginx-proxy") ask to restart nginx-proxy on every host so it reloads its list of API servers:
 * stopping its container makes the kubelet start it again with the new config.
 */
export const NGINX_PROXY_PLAYBOOK = 'bcmkube-restart-nginx-proxy.yml';

export function nginxProxyRestartPlaybook(): string {
  const crictl = "{{ bin_dir | default('/usr/local/bin') }}/crictl";
  return yaml.dump(
    [
      {
        name: 'Restart nginx-proxy so it reloads the API servers (bcmkube, Kubespray docs operations/nodes.md)',
        hosts: 'k8s_cluster',
        gather_facts: false,
        tasks: [
          { name: 'crictl on the node', 'ansible.builtin.stat': { path: crictl }, register: 'bcmkube_crictl' },
          {
            name: 'Stop the nginx-proxy container (the kubelet starts it again)',
            'ansible.builtin.shell': `${crictl} ps --name nginx-proxy -q | xargs -r ${crictl} stop`,
            when: 'bcmkube_crictl.stat.exists',
          },
        ],
      },
    ],
    DUMP,
  );
}
