// Inventories for tests: node facts as prepare-nodes records them for a DGX node with `gpus` H100s (0: a CPU node).
import type { Inventory, InventoryNode, NodeFacts } from '../actions/lib/inventory/types.ts';

export function gpuNodeFacts(gpus: number, name = 'NVIDIA H100 80GB HBM3'): NodeFacts {
  return {
    os: { id: 'ubuntu', versionId: '22.04', prettyName: 'DGX OS' },
    kernel: '5.15',
    gpus: Array.from({ length: gpus }, (_, i) => ({
      index: i,
      name,
      uuid: `GPU-${i}`,
      busId: `0000:${i}:00.0`,
      memoryMiB: 81559,
      migMode: 'Disabled',
      computeCap: '9.0',
    })),
    freeGb: {},
    containerd: { present: true, running: true },
    homeOnNfs: false,
    clockOffsetSeconds: 0,
  };
}

/** An inventory node as discover-nodes and prepare-nodes leave it, with `gpus` GPUs in its facts. */
export function factsNode(hostname: string, roles: InventoryNode['roles'], gpus: number, address = ''): InventoryNode {
  return {
    hostname,
    uuid: hostname,
    mac: '',
    status: 'UP',
    roles,
    address,
    network: '',
    addresses: [],
    facts: gpuNodeFacts(gpus),
    history: [],
  };
}

/** The inventory of cluster 'lab' holding `nodes`. */
export function labInventory(nodes: InventoryNode[]): Inventory {
  return { schemaVersion: 1, cluster: 'lab', specHash: 'x', bcm: { endpoint: 'https://127.0.0.1:8081' }, nodes, history: [] };
}
