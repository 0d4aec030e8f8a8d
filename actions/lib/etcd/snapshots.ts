// Snapshot names and retention: <cluster>-<UTC time>.db.enc, so names sort by age and a store needs no index.
import { UsageError } from '../util/errors.ts';

export const SNAPSHOT_SUFFIX = '.db.enc';
const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export function snapshotId(cluster: string, at: Date): string {
  return `${cluster}-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

/** When the snapshot was taken, or undefined for a name that is not one of this cluster's snapshots. */
export function snapshotTime(cluster: string, id: string): Date | undefined {
  if (!id.startsWith(`${cluster}-`)) return undefined;
  const m = STAMP.exec(id.slice(cluster.length + 1));
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

/** This cluster's snapshot ids among a folder's file names, oldest first. */
export function clusterSnapshots(cluster: string, fileNames: string[]): string[] {
  return fileNames
    .filter((f) => f.endsWith(SNAPSHOT_SUFFIX))
    .map((f) => f.slice(0, -SNAPSHOT_SUFFIX.length))
    .filter((id) => snapshotTime(cluster, id) !== undefined)
    .sort();
}

/** Keep the newest `keep`; the rest go. Other clusters' files and other files are never touched. */
export function retention(cluster: string, fileNames: string[], keep: number): { kept: string[]; removed: string[] } {
  const all = clusterSnapshots(cluster, fileNames);
  const cut = Math.max(0, all.length - keep);
  return { kept: all.slice(cut), removed: all.slice(0, cut) };
}

export function validSnapshotId(cluster: string, id: string): string {
  if (snapshotTime(cluster, id) === undefined)
    throw new UsageError(
      `--snapshot: '${id.slice(0, 80)}' is not a snapshot of cluster '${cluster}' (expected ${cluster}-YYYYMMDDTHHMMSSZ, as \`bcmkube etcd backup\` names them)`,
    );
  return id;
}

/** "3h 12m", "2d 4h": how old a snapshot is. */
export function age(from: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}
