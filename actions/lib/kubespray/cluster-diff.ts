// What Kubespray would have to do, from the inventory and the nodes the cluster reports. Pure: plan mode and the
// post-deploy registration check both use it.
import type { Inventory } from '../inventory/types.ts';
import { isKubernetesNode } from './render.ts';

export interface ClusterDiff {
  /** Undefined when no cluster answered (not deployed yet, or no credentials to ask). */
  registered?: string[];
  /** Inventory nodes the cluster does not report, split by what adding them takes. */
  newControlPlane: string[];
  newWorkers: string[];
  /** Registered nodes the inventory no longer has: candidates for remove-node, never removed automatically. */
  notInInventory: string[];
  /** deploy | scale | upgrade | none, with the nodes it concerns and why. */
  suggestion: { operation: 'deploy' | 'scale' | 'upgrade' | 'none'; nodes: string[]; why: string };
}

export function diffClusterNodes(inv: Inventory, registered: string[] | undefined, wantedKubeVersion: string): ClusterDiff {
  const known = new Set(registered ?? []);
  // dedicated etcd nodes are not in k8s_cluster: they never register, so their absence says nothing
  const missing = inv.nodes.filter((n) => isKubernetesNode(n) && !known.has(n.hostname));
  const newControlPlane = missing.filter((n) => n.roles.includes('control_plane')).map((n) => n.hostname);
  const newWorkers = missing.filter((n) => !newControlPlane.includes(n.hostname)).map((n) => n.hostname);
  const inInventory = new Set(inv.nodes.map((n) => n.hostname));
  const notInInventory = [...known].filter((n) => !inInventory.has(n)).sort();
  const base = { newControlPlane, newWorkers, notInInventory, ...(registered ? { registered: [...registered].sort() } : {}) };
  if (!registered || registered.length === 0)
    return { ...base, suggestion: { operation: 'deploy', nodes: [], why: 'no cluster answers yet: cluster.yml deploys it' } };
  if (newControlPlane.length)
    return {
      ...base,
      suggestion: {
        operation: 'deploy',
        nodes: newControlPlane,
        why: 'new control-plane or etcd nodes are added with cluster.yml (Kubespray does not scale them)',
      },
    };
  if (newWorkers.length)
    return { ...base, suggestion: { operation: 'scale', nodes: newWorkers, why: 'new worker nodes: scale.yml limited to them' } };
  const deployed = inv.kubernetes?.version;
  if (deployed && deployed !== wantedKubeVersion)
    return {
      ...base,
      suggestion: { operation: 'upgrade', nodes: [], why: `the cluster runs ${deployed}, the spec asks for ${wantedKubeVersion}` },
    };
  return { ...base, suggestion: { operation: 'none', nodes: [], why: 'every inventory node is registered: no changes' } };
}
