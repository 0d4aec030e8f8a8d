import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mergeInventory, parseInventory, readInventory, serializeInventory, writeInventory } from '../../actions/lib/inventory/document.ts';
import { findSecrets } from '../../actions/lib/inventory/secrets.ts';
import type { Inventory, InventoryNode } from '../../actions/lib/inventory/types.ts';
import { tempDir } from '../temp-dirs.ts';

function node(hostname: string, extra: Partial<InventoryNode> = {}): InventoryNode {
  return {
    hostname,
    uuid: `uuid-${hostname}`,
    mac: '00:11:22:33:44:55',
    status: 'UP',
    roles: ['worker', 'gpu_worker'],
    address: '127.0.1.5',
    network: 'dgxnet',
    addresses: [
      { network: 'ipminet', interface: 'ipmi0', ip: '127.2.1.5' },
      { network: 'dgxnet', interface: 'ens1f0np0', ip: '127.0.1.5' },
    ],
    history: [{ stage: 'discover-nodes', at: '2026-11-24T00:00:00.000Z', result: 'discovered' }],
    ...extra,
  };
}

function inventory(nodes: InventoryNode[]): Inventory {
  return {
    schemaVersion: 1,
    cluster: 'lab',
    specHash: 'abc',
    bcm: { endpoint: 'https://127.0.1.254:8081', version: '11.0' },
    nodes,
    history: [],
  };
}

describe('inventory document', () => {
  it('round-trips byte-identically through a file', () => {
    const dir = tempDir('inv-');
    const path = join(dir, 'inventory.json');
    const first = writeInventory(path, inventory([node('dgx-06'), node('dgx-05', { address: '127.0.1.6' })]));
    const again = serializeInventory(readInventory(path));
    assert.equal(again, first);
    assert.equal(readFileSync(path, 'utf8'), first);
  });

  it('is canonical: node order, role order and key order do not change the bytes', () => {
    const a = serializeInventory(inventory([node('b'), node('a')]));
    const shuffled = JSON.parse(JSON.stringify(inventory([node('a', { roles: ['gpu_worker', 'worker'] }), node('b')])));
    shuffled.nodes[0].addresses.reverse();
    const reordered = Object.fromEntries(Object.entries(shuffled).reverse()) as unknown as Inventory;
    assert.equal(serializeInventory(reordered), a);
    assert.ok(a.indexOf('"hostname": "a"') < a.indexOf('"hostname": "b"'));
  });

  it('refuses to write a planted PEM block or token, and never echoes the value', () => {
    const pem = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----';
    const withPem = inventory([node('a', { category: pem })]);
    assert.throws(
      () => serializeInventory(withPem),
      (err: Error) => /nodes\[0\]\.category: value contains a PEM block/.test(err.message) && !err.message.includes('b3BlbnNz'),
    );
    const withToken = { ...inventory([node('a')]), bcm: { endpoint: 'https://x', token: 's3cr3t-value' } } as unknown as Inventory;
    assert.throws(
      () => serializeInventory(withToken),
      (err: Error) => /bcm\.token: key 'token' holds a value/.test(err.message) && !err.message.includes('s3cr3t'),
    );
  });

  it('finds tokens by their shape even under innocent keys', () => {
    const findings = findSecrets({
      notes: 'ghp_0123456789abcdefghijABCDEFGHIJ',
      jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig',
      ok: 'dgx-05',
    });
    assert.deepEqual(findings.map((f) => f.path).sort(), ['jwt', 'notes']);
  });

  it('rejects a document that is not an inventory, naming the fields', () => {
    const dir = tempDir('inv-');
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ schemaVersion: 9, cluster: '', nodes: [{ hostname: 'a' }] }));
    assert.throws(
      () => readInventory(path),
      (err: Error) => /schemaVersion: must be 1/.test(err.message) && /nodes\[0\]\.uuid: must be a string/.test(err.message),
    );
    assert.throws(() => parseInventory('{oops', 'x.json'), /x\.json is not valid JSON/);
    assert.throws(() => readInventory(join(dir, 'missing.json')), /run discover-nodes first/);
  });

  it('refuses to write two nodes with one hostname', () => {
    assert.throws(() => serializeInventory(inventory([node('a'), node('a')])), /'a' appears twice/);
  });

  it('merges a later stage: facts added, history extended, other nodes untouched', () => {
    const base = inventory([node('a'), node('b')]);
    const mark = { stage: 'prepare-nodes', at: '2026-11-24T01:00:00.000Z', result: '1 changed' };
    const merged = mergeInventory(base, [{ hostname: 'a', history: [{ ...mark, result: 'converged' }] }], mark);
    assert.equal(merged.nodes[0]!.history.length, 2);
    assert.equal(merged.nodes[1], base.nodes[1]);
    assert.deepEqual(merged.history, [mark]);
    assert.throws(() => mergeInventory(base, [{ hostname: 'zzz' }], mark), /'zzz' is not in the inventory/);
  });
});
