import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpretReply } from '../../actions/lib/bcm/client.ts';
import { parseNodes, parseStatuses, type BcmNetwork, type BcmNode } from '../../actions/lib/bcm/model.ts';
import { applyStatuses, chooseAddress, nearMisses, selectNodes } from '../../actions/lib/bcm/select.ts';
import { loadSpecFile } from '../../actions/lib/config/load.ts';
import type { ClusterSpec } from '../../actions/lib/config/types.ts';

const AT = '2026-11-24T00:00:00.000Z';
const networks: BcmNetwork[] = [
  { uuid: 'n-int', name: 'internalnet', type: 'INTERNAL', management: true, baseAddress: '127.3.1.0', netmaskBits: 24 },
  { uuid: 'n-ipmi', name: 'ipminet', type: 'INTERNAL', management: false, baseAddress: '127.2.1.0', netmaskBits: 24 },
  { uuid: 'n-dgx', name: 'dgxnet', type: 'EXTERNAL', management: false, baseAddress: '127.0.1.0', netmaskBits: 24 },
];

function bcmNode(hostname: string, index: number, extra: Partial<BcmNode> = {}): BcmNode {
  return {
    uuid: `u-${hostname}`,
    hostname,
    childType: 'PhysicalNode',
    mac: `AA:BB:CC:00:00:${index.toString(16).padStart(2, '0').toUpperCase()}`,
    categoryUuid: hostname.startsWith('dgx') ? 'c-dgx' : 'c-cpu',
    interfaces: [
      { name: 'BOOTIF', childType: 'NetworkPhysicalInterface', ip: `127.3.1.${index}`, networkUuid: 'n-int', isBmc: false },
      { name: 'ipmi0', childType: 'NetworkBmcInterface', ip: `127.2.1.${index}`, networkUuid: 'n-ipmi', isBmc: true },
      { name: 'ens1f0np0', childType: 'NetworkPhysicalInterface', ip: `127.0.1.${index}`, networkUuid: 'n-dgx', isBmc: false },
    ],
    ...extra,
  };
}

const labNodes = () => [bcmNode('cpu-03', 3), bcmNode('cpu-05', 5), bcmNode('cpu-06', 6), bcmNode('dgx-05', 105), bcmNode('dgx-06', 106)];
const categories = [
  { uuid: 'c-dgx', name: 'dgx-h100' },
  { uuid: 'c-cpu', name: 'cpu-nodes' },
];

function spec(mutate: (s: ClusterSpec) => void = () => {}): ClusterSpec {
  const s = structuredClone(loadSpecFile('clusters/lab.yaml').spec);
  // these nodes have a production network, dgxnet, beside BOOTIF on internalnet
  s.network.node_network = { name: 'dgxnet' };
  mutate(s);
  return s;
}

describe('BCM reply classification (bcm-api.md §5 order)', () => {
  const reply = (status: number, body: string) => ({ status, headers: {}, body });
  it('treats 401/403/635/640, HTML and `false` as authentication trouble', () => {
    for (const s of [401, 403, 635, 640]) assert.equal(interpretReply('x.y', reply(s, '')).kind, 'auth');
    assert.equal(interpretReply('x.y', reply(200, '<html><body>login</body></html>')).kind, 'auth');
    assert.equal(interpretReply('x.y', reply(200, 'false')).kind, 'auth');
  });
  it('names the call for 400, errormessage and success:false', () => {
    assert.match((interpretReply('cmdevice.getNodez', reply(400, 'bad')) as { reason: string }).reason, /does not know cmdevice\.getNodez/);
    assert.match(
      (interpretReply('cmnet.getNetworks', reply(200, '{"errormessage":"db locked"}')) as { reason: string }).reason,
      /BCM refused cmnet\.getNetworks: db locked/,
    );
    assert.equal(interpretReply('a.b', reply(200, '{"errormessage":"Profile x does not allow access to a.b"}')).kind, 'auth');
    assert.match(
      (interpretReply('a.b', reply(200, '{"success":false,"validation":[]}')) as { reason: string }).reason,
      /reported failure for a\.b/,
    );
  });
  it('flags a body that is not JSON, and accepts null, arrays and objects', () => {
    assert.equal(interpretReply('a.b', reply(200, '{"trunc')).kind, 'not-json');
    assert.deepEqual(interpretReply('a.b', reply(200, 'null')), { kind: 'ok', value: null });
    assert.deepEqual(interpretReply('a.b', reply(200, '[1]')), { kind: 'ok', value: [1] });
  });
});

describe('BCM model parsing', () => {
  it('turns placeholders into unset and keeps real values', () => {
    const [n] = parseNodes([
      {
        uuid: 'u1',
        hostname: 'dgx-01',
        mac: '00:00:00:00:00:00',
        category: '00000000-0000-0000-0000-000000000000',
        interfaces: [
          { name: 'BOOTIF', ip: '0.0.0.0', network: 'n1', childType: 'NetworkPhysicalInterface' },
          { name: 'ipmi0', ip: '10.148.0.1', childType: 'NetworkBmcInterface' },
        ],
      },
    ]);
    assert.equal(n!.mac, undefined);
    assert.equal(n!.categoryUuid, undefined);
    assert.equal(n!.interfaces[0]!.ip, undefined);
    assert.equal(n!.interfaces[1]!.isBmc, true);
  });
  it('skips entries without hostname or uuid, and refuses a non-list answer', () => {
    assert.equal(parseNodes([{ hostname: 'x' }, { uuid: 'u' }, null, 'junk']).length, 0);
    assert.throws(() => parseNodes({ errormessage: 'x' }), /expected a list/);
  });
  it('aligns statuses with the UUIDs asked for, skipping nulls, and reads closed', () => {
    const s = parseStatuses(
      [{ ref_device_uuid: 'a', status: 'UP', closed: true }, null, { status: 'INSTALLER_CALLING_INIT' }],
      ['a', 'b', 'c'],
    );
    assert.deepEqual(s.get('a'), { uuid: 'a', status: 'UP', closed: true });
    assert.equal(s.has('b'), false);
    assert.equal(s.get('c')!.status, 'INSTALLER_CALLINGINIT');
  });
});

describe('node selection', () => {
  it("selects the lab's five nodes with roles and their production addresses", () => {
    const sel = selectNodes(spec(), { nodes: labNodes(), networks, categories }, AT);
    assert.deepEqual(sel.problems, []);
    const byName = Object.fromEntries(sel.nodes.map((n) => [n.hostname, n]));
    assert.deepEqual(byName['cpu-03']!.roles.sort(), ['control_plane', 'etcd']);
    assert.deepEqual(byName['dgx-05']!.roles.sort(), ['gpu_worker', 'worker']);
    assert.equal(byName['dgx-06']!.address, '127.0.1.106');
    assert.equal(byName['dgx-06']!.network, 'dgxnet');
    assert.equal(byName['dgx-06']!.category, 'dgx-h100');
    assert.equal(byName['dgx-06']!.addresses.length, 3, 'every address kept for later stages');
  });

  it('reports every problem at once: missing node with near misses, no address, duplicate address', () => {
    const nodes = labNodes();
    nodes[2] = bcmNode('cpu-06', 6, { interfaces: nodes[2]!.interfaces.filter((i) => i.name !== 'ens1f0np0') });
    nodes[4] = bcmNode('dgx-06', 105);
    const s = spec((x) => (x.nodes.control_plane = ['cpu-03', 'cpu-04', 'cpu-06']));
    const sel = selectNodes(s, { nodes, networks, categories }, AT);
    assert.equal(sel.problems.length, 3, sel.problems.join('\n'));
    assert.match(sel.problems[0]!, /^nodes\.control_plane\[1\]: node 'cpu-04' is not in BCM \(did you mean cpu-03, cpu-05, cpu-06\?\)/);
    assert.ok(
      sel.problems.some((p) =>
        /^cpu-06: no address on network 'dgxnet'; its addresses: 127\.3\.1\.6 on internalnet \(BOOTIF\), 127\.2\.1\.6 on ipminet \(ipmi0, a BMC interface: never used\)/.test(
          p,
        ),
      ),
    );
    assert.ok(sel.problems.some((p) => /^dgx-05, dgx-06: share the address 127\.0\.1\.105/.test(p)));
  });

  it('reaches nodes on a network BCM flags management: true (BCM 11 flags internalnet so), by name, CIDR or interface', () => {
    const nets = new Map(networks.map((n) => [n.uuid, n]));
    const node = bcmNode('cpu-03', 3);
    for (const node_network of [{ name: 'internalnet' }, { cidr: '127.3.1.0/24' }, { interface: 'BOOTIF' }])
      assert.deepEqual(
        chooseAddress(
          node,
          spec((x) => (x.network.node_network = node_network)),
          nets,
        ),
        { ip: '127.3.1.3', network: 'internalnet' },
        JSON.stringify(node_network),
      );
    const byName = selectNodes(
      spec((x) => (x.network.node_network = { name: 'internalnet' })),
      { nodes: labNodes(), networks, categories },
      AT,
    );
    assert.deepEqual(byName.problems, []);
    assert.deepEqual(
      byName.nodes.map((n) => `${n.hostname} ${n.address} ${n.network}`),
      [
        'cpu-03 127.3.1.3 internalnet',
        'cpu-05 127.3.1.5 internalnet',
        'cpu-06 127.3.1.6 internalnet',
        'dgx-05 127.3.1.105 internalnet',
        'dgx-06 127.3.1.106 internalnet',
      ],
    );
  });

  it('never picks a BMC interface, and refuses the BMC network by name, unless allow_management', () => {
    const nets = new Map(networks.map((n) => [n.uuid, n]));
    const node = bcmNode('cpu-03', 3);
    const bmc = spec((x) => (x.network.node_network = { interface: 'ipmi0' }));
    assert.equal(chooseAddress(node, bmc, nets), undefined);
    assert.equal(
      chooseAddress(
        node,
        spec((x) => (x.network.node_network = { cidr: '127.2.1.0/24' })),
        nets,
      ),
      undefined,
    );
    bmc.network.allow_management = true;
    assert.deepEqual(chooseAddress(node, bmc, nets), { ip: '127.2.1.3', network: 'ipminet' });
    const byName = selectNodes(
      spec((x) => (x.network.node_network = { name: 'ipminet' })),
      { nodes: labNodes(), networks, categories },
      AT,
    );
    assert.match(
      byName.problems[0]!,
      /^network\.node_network\.name: 'ipminet' is BCM's BMC \(out-of-band\) network: it holds only BMC interfaces \(ipmi0 of cpu-03, ipmi0 of cpu-05, ipmi0 of cpu-06 and 2 more\).*BCM has 'internalnet', 'dgxnet'/,
    );
    const byCidr = selectNodes(
      spec((x) => (x.network.node_network = { cidr: '127.2.1.0/24' })),
      { nodes: labNodes(), networks, categories },
      AT,
    );
    assert.match(
      byCidr.problems[0]!,
      /^cpu-03: no address on CIDR 127\.2\.1\.0\/24; its addresses: .*127\.2\.1\.3 on ipminet \(ipmi0, a BMC interface: never used\)/,
    );
  });

  it('selects by range pattern, glob and category', () => {
    const s = spec((x) => {
      x.nodes.control_plane = ['cpu-0[3-6]'];
      x.nodes.workers = [{ category: 'dgx-h100' }];
    });
    const nodes = [...labNodes(), bcmNode('cpu-04', 4)];
    const sel = selectNodes(s, { nodes, networks, categories }, AT);
    assert.deepEqual(sel.problems, []);
    assert.deepEqual(
      sel.nodes.filter((n) => n.roles.includes('control_plane')).map((n) => n.hostname),
      ['cpu-03', 'cpu-04', 'cpu-05', 'cpu-06'],
    );
    assert.deepEqual(
      sel.nodes.filter((n) => n.roles.includes('worker')).map((n) => n.hostname),
      ['dgx-05', 'dgx-06'],
    );
    const none = selectNodes(
      spec((x) => (x.nodes.workers = ['gpu-*'])),
      { nodes, networks, categories },
      AT,
    );
    assert.match(none.problems.join('\n'), /nodes\.workers\[0\]: .*gpu-\*.* matches no BCM node/);
  });

  it('refuses a node matched as control plane and worker unless stacking is allowed', () => {
    const s = spec((x) => (x.nodes.workers = ['dgx-*', 'cpu-*']));
    const sel = selectNodes(s, { nodes: labNodes(), networks, categories }, AT);
    assert.match(sel.problems.join('\n'), /cpu-03: selected as both control plane and worker/);
  });

  it('refuses a BCM hostname that could reach a shell as anything but a name, and writes no node for it', () => {
    const s = spec((x) => (x.nodes.workers = [{ category: 'dgx-h100' }]));
    const evil = bcmNode('dgx-07;touch${IFS}/tmp/pwned', 107, { uuid: 'u-evil' });
    const sel = selectNodes(s, { nodes: [...labNodes(), evil], networks, categories }, AT);
    assert.match(
      sel.problems.join('\n'),
      /"dgx-07;touch\$\{IFS\}\/tmp\/pwned" \(BCM device u-evil\): not a valid hostname .*rename the node in BCM/,
    );
    assert.ok(!sel.nodes.some((n) => n.uuid === 'u-evil'));
  });

  it('refuses duplicate hostnames in BCM', () => {
    const sel = selectNodes(spec(), { nodes: [...labNodes(), bcmNode('dgx-05', 200, { uuid: 'other' })], networks, categories }, AT);
    assert.match(sel.problems.join('\n'), /dgx-05: BCM has 2 devices with this hostname/);
  });

  it('refuses nodes that are not UP, or closed, naming status and fix', () => {
    const sel = selectNodes(spec(), { nodes: labNodes(), networks, categories }, AT);
    const statuses = new Map(sel.nodes.map((n) => [n.uuid, { uuid: n.uuid, status: 'UP', closed: false }]));
    statuses.set('u-dgx-05', { uuid: 'u-dgx-05', status: 'DOWN', closed: false });
    statuses.set('u-cpu-05', { uuid: 'u-cpu-05', status: 'UP', closed: true });
    statuses.delete('u-cpu-06');
    const out = applyStatuses(sel, statuses, spec());
    assert.equal(out.problems.length, 3);
    assert.match(out.problems.join('\n'), /dgx-05: BCM reports it DOWN \(accepted: UP\)/);
    assert.match(out.problems.join('\n'), /cpu-05: BCM reports it UP and closed/);
    assert.match(out.problems.join('\n'), /cpu-06: BCM reports it UNKNOWN/);
  });

  it('suggests near-miss hostnames', () => {
    assert.deepEqual(nearMisses('dgx-5', ['dgx-05', 'dgx-06', 'cpu-03', 'login01']), ['dgx-05', 'dgx-06']);
  });
});
