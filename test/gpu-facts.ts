// Node facts as prepare-nodes records them for a DGX node with `gpus` H100s (0: a CPU node), for tests.
import type { NodeFacts } from '../actions/lib/inventory/types.ts';

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
