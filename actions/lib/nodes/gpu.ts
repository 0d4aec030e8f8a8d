// Parses the probe's nvidia-smi query. Format checked against real captures (test/fixtures/gpu/).
import type { GpuFact } from '../inventory/types.ts';

/** The exact query the probe runs; its answer is CSV without header or units. */
export const GPU_QUERY_FIELDS = [
  'index',
  'name',
  'uuid',
  'pci.bus_id',
  'memory.total',
  'driver_version',
  'mig.mode.current',
  'compute_cap',
] as const;
export const GPU_QUERY_ARGS = [`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

export interface GpuQueryResult {
  gpus: GpuFact[];
  driverVersion?: string;
  problems: string[];
}

export function parseGpuQuery(text: string): GpuQueryResult {
  const gpus: GpuFact[] = [];
  const problems: string[] = [];
  const drivers = new Set<string>();
  for (const [lineNo, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line) continue;
    const cols = line.split(',').map((c) => c.trim());
    if (cols.length !== GPU_QUERY_FIELDS.length) {
      problems.push(`nvidia-smi line ${lineNo + 1}: expected ${GPU_QUERY_FIELDS.length} fields, got ${cols.length}: ${line.slice(0, 120)}`);
      continue;
    }
    const [index, name, uuid, busId, memory, driver, mig, computeCap] = cols as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const memoryMiB = Number(memory);
    if (!/^\d+$/.test(index) || !Number.isFinite(memoryMiB)) {
      problems.push(`nvidia-smi line ${lineNo + 1}: index '${index}' or memory '${memory}' is not a number`);
      continue;
    }
    drivers.add(driver);
    gpus.push({ index: Number(index), name, uuid, busId, memoryMiB, migMode: mig, computeCap });
  }
  if (drivers.size > 1) problems.push(`GPUs report different driver versions: ${[...drivers].join(', ')}`);
  return { gpus, driverVersion: [...drivers][0], problems };
}
