// Pure selection: which BCM nodes the spec asks for, in which roles, reached on which address.
// Every problem is collected, so the user fixes them in one round.
import { cidrContains } from '../config/cidr.ts';
import { expandPattern, isGlob, matchSelector, selectorToString } from '../config/patterns.ts';
import type { ClusterSpec, NodeSelector } from '../config/types.ts';
import type { InventoryNode, InventoryRole, NodeAddress } from '../inventory/types.ts';
import { nearest } from '../util/similar.ts';
import type { BcmCategory, BcmNetwork, BcmNode, BcmStatus } from './model.ts';
import { isValidHostname } from '../ssh/quote.ts';

export interface DiscoveryFacts {
  nodes: BcmNode[];
  networks: BcmNetwork[];
  categories: BcmCategory[];
}

export interface Selection {
  nodes: InventoryNode[];
  problems: string[];
}

/** Hostnames in BCM closest to a missing one, for "did you mean". */
export function nearMisses(wanted: string, known: string[], max = 3): string[] {
  return nearest(wanted, known, max);
}

/** Every address of a node, labelled by its BCM network name. */
export function nodeAddresses(node: BcmNode, networks: Map<string, BcmNetwork>): NodeAddress[] {
  return node.interfaces
    .filter((i) => i.ip)
    .map((i) => ({ network: (i.networkUuid && networks.get(i.networkUuid)?.name) || '', interface: i.name, ip: i.ip! }));
}

function describeNodeNetwork(spec: ClusterSpec): string {
  const n = spec.network.node_network;
  return n.name ? `network '${n.name}'` : n.cidr ? `CIDR ${n.cidr}` : `interface '${n.interface}'`;
}

/**
 * Networks BCM lists only BMC interfaces on (the out-of-band network, e.g. ipminet). BCM has no network type
 * for them, and its `management` flag does not mark them: it marks any network CMDaemon may manage nodes
 * over, internalnet included (bcm11 capture: both networks carry it).
 */
export function bmcNetworks(nodes: BcmNode[]): Map<string, string[]> {
  const bmc = new Map<string, string[]>();
  const os = new Set<string>();
  for (const node of nodes)
    for (const iface of node.interfaces) {
      if (!iface.networkUuid) continue;
      if (!iface.isBmc) os.add(iface.networkUuid);
      else bmc.set(iface.networkUuid, [...(bmc.get(iface.networkUuid) ?? []), `${iface.name} of ${node.hostname}`]);
    }
  for (const uuid of os) bmc.delete(uuid);
  return bmc;
}

/**
 * The address of a node on the spec's node network. A BMC interface is the node's baseboard controller, not
 * its operating system: it is never chosen unless network.allow_management is set.
 */
export function chooseAddress(
  node: BcmNode,
  spec: ClusterSpec,
  networks: Map<string, BcmNetwork>,
): { ip: string; network: string } | undefined {
  const sel = spec.network.node_network;
  for (const iface of node.interfaces) {
    if (!iface.ip) continue;
    if (iface.isBmc && !spec.network.allow_management) continue;
    const net = iface.networkUuid ? networks.get(iface.networkUuid) : undefined;
    const matches = sel.name ? net?.name === sel.name : sel.cidr ? cidrContains(sel.cidr, iface.ip) : iface.name === sel.interface;
    if (matches) return { ip: iface.ip, network: net?.name ?? '' };
  }
  return undefined;
}

/** Spec-level problems with the chosen network that no node could fix. */
function networkProblems(spec: ClusterSpec, facts: DiscoveryFacts): string[] {
  const name = spec.network.node_network.name;
  if (!name) return [];
  const net = facts.networks.find((n) => n.name === name);
  if (!net) {
    const names = [...new Set(facts.networks.map((n) => n.name))].sort();
    const shown = names.length > 20 ? `${names.slice(0, 20).join(', ')} and ${names.length - 20} more` : names.join(', ');
    return [`network.node_network.name: BCM has no network '${name}' (it has: ${shown || 'none'})`];
  }
  const bmc = bmcNetworks(facts.nodes);
  const interfaces = bmc.get(net.uuid);
  if (interfaces && !spec.network.allow_management) {
    const others = facts.networks.filter((n) => !bmc.has(n.uuid) && n.uuid !== net.uuid).map((n) => `'${n.name}'`);
    const shown = interfaces.slice(0, 3).join(', ') + (interfaces.length > 3 ? ` and ${interfaces.length - 3} more` : '');
    return [
      `network.node_network.name: '${name}' is BCM's BMC (out-of-band) network: it holds only BMC interfaces (${shown}), which reach the baseboard controller, not the node's operating system. Name the network the nodes boot or work on${others.length ? ` (BCM has ${others.join(', ')})` : ''}`,
    ];
  }
  return [];
}

export function selectNodes(spec: ClusterSpec, facts: DiscoveryFacts, at: string): Selection {
  const problems: string[] = [...networkProblems(spec, facts)];
  const networks = new Map(facts.networks.map((n) => [n.uuid, n]));
  const categories = new Map(facts.categories.map((c) => [c.uuid, c.name]));
  const byHostname = new Map<string, BcmNode[]>();
  for (const n of facts.nodes) byHostname.set(n.hostname, [...(byHostname.get(n.hostname) ?? []), n]);
  const knownNames = [...byHostname.keys()];

  const resolve = (key: 'control_plane' | 'etcd' | 'workers' | 'gpu_workers'): string[] => {
    const names: string[] = [];
    spec.nodes[key].forEach((selector: NodeSelector, i: number) => {
      const where = `nodes.${key}[${i}]`;
      if (typeof selector === 'string' && !isGlob(selector)) {
        for (const name of expandPattern(selector)) {
          if (byHostname.has(name)) names.push(name);
          else {
            const near = nearMisses(name, knownNames);
            problems.push(`${where}: node '${name}' is not in BCM${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`);
          }
        }
        return;
      }
      const matched = facts.nodes
        .filter((n) => matchSelector(selector, n.hostname, n.categoryUuid && categories.get(n.categoryUuid)))
        .map((n) => n.hostname);
      if (!matched.length) problems.push(`${where}: ${selectorToString(selector)} matches no BCM node`);
      names.push(...matched);
    });
    return names;
  };
  const controlPlane = resolve('control_plane');
  const workers = resolve('workers');
  const byRole: Array<[InventoryRole, string[]]> = [
    ['control_plane', controlPlane],
    ['etcd', spec.nodes.etcd.length ? resolve('etcd') : controlPlane],
    ['worker', workers],
    ['gpu_worker', spec.nodes.gpu_workers.length ? resolve('gpu_workers') : workers],
  ];
  const roles = new Map<string, Set<InventoryRole>>();
  for (const [role, names] of byRole) for (const name of names) roles.set(name, (roles.get(name) ?? new Set()).add(role));

  const nodes: InventoryNode[] = [];
  const byAddress = new Map<string, string[]>();
  for (const [hostname, roleSet] of [...roles.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const candidates = byHostname.get(hostname)!;
    if (candidates.length > 1) {
      const uuids = candidates.slice(0, 5).map((c) => c.uuid);
      if (candidates.length > 5) uuids.push(`and ${candidates.length - 5} more`);
      problems.push(
        `${hostname}: BCM has ${candidates.length} devices with this hostname (${uuids.join(', ')}); rename or remove the duplicate in BCM`,
      );
      continue;
    }
    const node = candidates[0]!;
    if (!isValidHostname(hostname)) {
      // it would reach ssh, Ansible and kubectl: later stages refuse it, so the inventory never holds it
      problems.push(
        `${JSON.stringify(hostname.slice(0, 80))} (BCM device ${node.uuid}): not a valid hostname (RFC 1123: letters, digits and -, dot-separated labels); rename the node in BCM`,
      );
      continue;
    }
    if (roleSet.has('control_plane') && roleSet.has('worker') && !spec.nodes.allow_stacked) {
      problems.push(`${hostname}: selected as both control plane and worker; remove it from one role or set nodes.allow_stacked: true`);
    }
    const addresses = nodeAddresses(node, networks);
    const chosen = chooseAddress(node, spec, networks);
    if (!chosen) {
      const bmcNote = (name: string) =>
        node.interfaces.some((i) => i.name === name && i.isBmc) && !spec.network.allow_management ? ', a BMC interface: never used' : '';
      const have =
        addresses.map((a) => `${a.ip} on ${a.network || 'no network'} (${a.interface}${bmcNote(a.interface)})`).join(', ') || 'none';
      problems.push(
        `${hostname}: no address on ${describeNodeNetwork(spec)}; its addresses: ${have}. Give it an interface there in BCM, or choose another network.node_network`,
      );
      continue;
    }
    byAddress.set(chosen.ip, [...(byAddress.get(chosen.ip) ?? []), hostname]);
    nodes.push({
      hostname,
      uuid: node.uuid,
      mac: node.mac ?? '',
      category: node.categoryUuid ? categories.get(node.categoryUuid) : undefined,
      status: 'UNKNOWN',
      roles: [...roleSet],
      address: chosen.ip,
      network: chosen.network,
      addresses,
      history: [{ stage: 'discover-nodes', at, result: 'discovered' }],
    });
  }
  for (const [ip, names] of byAddress)
    if (names.length > 1)
      problems.push(`${names.join(', ')}: share the address ${ip}; each node needs its own address on ${describeNodeNetwork(spec)}`);
  if (!nodes.some((n) => n.roles.includes('control_plane')) && !problems.some((p) => p.startsWith('nodes.control_plane'))) {
    problems.push('nodes.control_plane: no control-plane node was selected; list at least one');
  }
  return { nodes, problems };
}

/** Puts BCM's status on each selected node; refuses nodes that are not in an accepted status or are closed. */
export function applyStatuses(selection: Selection, statuses: Map<string, BcmStatus>, spec: ClusterSpec): Selection {
  const problems = [...selection.problems];
  const nodes = selection.nodes.map((node) => {
    const status = statuses.get(node.uuid);
    const text = status?.status ?? 'UNKNOWN';
    if (!status || !spec.nodes.allowed_status.includes(text) || status.closed) {
      problems.push(
        `${node.hostname}: BCM reports it ${status?.closed ? `${text} and closed` : text} (accepted: ${spec.nodes.allowed_status.join(', ')}); bring it up in BCM, or add the status to nodes.allowed_status`,
      );
    }
    return { ...node, status: status?.closed ? `${text} (closed)` : text };
  });
  return { nodes, problems };
}
