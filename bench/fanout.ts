// The floor for prepare-nodes: a bare node-ssh fan-out running `true` on every node (host keys checked).
// Usage: node24 bench/fanout.ts <nodes.json> <admin key> <known_hosts> <concurrency>
import { readFileSync } from 'node:fs';
import { parseKnownHosts } from '../actions/lib/ssh/known-hosts.ts';
import { SshPool } from '../actions/lib/ssh/pool.ts';

const [nodesFile, keyFile, knownHostsFile, concurrency] = process.argv.slice(2) as [string, string, string, string];
const nodes = (JSON.parse(readFileSync(nodesFile, 'utf8')) as { nodes: Array<{ name: string; address: string }> }).nodes;
const pool = new SshPool({
  credentials: { username: 'root', privateKey: readFileSync(keyFile, 'utf8') },
  knownHosts: parseKnownHosts(readFileSync(knownHostsFile, 'utf8')),
  policy: 'strict',
  concurrency: Number(concurrency),
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 30_000,
  connectRetries: 1,
  legacyAlgorithms: false,
});
const results = await pool.forEach(
  nodes.map((n) => ({ hostname: n.name, address: n.address })),
  (t) => pool.exec(t, 'true'),
);
await pool.close();
const failed = [...results.values()].filter((r) => !r.ok).length;
if (failed) {
  console.error(`${failed} node(s) failed`);
  process.exit(1);
}
