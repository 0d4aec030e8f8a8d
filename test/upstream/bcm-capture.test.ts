// discover-nodes on a real BCM 11 head node's answers (upstream/bcm11: cmdevice calls and cmnet.getNetworks captured
// from bcm11-headnode, with node001 on internalnet and node002 on managementnet, both networks management: true).
// The BCM simulator serves those files as they are, over TLS with a certificate that names the head node and not its
// IP, as BCM's own does; the parsers and the selection run on them for the selectors a user would write.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { parseCategories, parseNetworks, parseNodes } from '../../actions/lib/bcm/model.ts';
import { main } from '../../actions/lib/cli/main.ts';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { TerminalReporter } from '../../actions/lib/report/reporter.ts';
import { deviceStatus, type BcmFixture } from '../lab/bcm-sim/fixture.ts';
import { startBcmSimulator, type BcmSimulator } from '../lab/bcm-sim/server.ts';
import { ensureLabCa, issueCert } from '../lab/pki.ts';
import { readUpstreamJson } from './upstream.ts';

const SUBNET = 82;
type Captured = Array<{ method: string; arg: unknown; response: any }>;
const capture = readUpstreamJson<Captured>('bcm11', 'sampleRest', 'cmdevice_discovered_methods_20251120_175345.json');
const answer = (method: string) => capture.find((e) => e.method === method)!.response;
const networks = readUpstreamJson<unknown[]>('bcm11', 'specs', '007-cmnet-networks', 'contracts', 'cmnet-get-networks-response.json');
const notCalls = readUpstreamJson<Captured>('bcm11', 'sampleRest', 'cmdevice_failed_methods_20251120_175345.json').map((e) => e.method);

/** The capture as the simulator's data. Statuses were not captured: every device is given UP (authored, not real). */
function captureFixture(): BcmFixture {
  const nodes = structuredClone(answer('getNodes')) as Record<string, unknown>[];
  return {
    version: 'bcm11',
    nodes,
    networks: structuredClone(networks) as Record<string, unknown>[],
    categories: structuredClone(answer('getCategories')),
    statuses: new Map(nodes.map((n) => [n.uuid as string, deviceStatus(n.uuid as string, 'UP', false)])),
    switches: [],
  };
}

describe('BCM 11 capture: parsers', () => {
  it('reads the three devices, both networks and the category, placeholders as unset', () => {
    const nodes = parseNodes(answer('getNodes'));
    assert.deepEqual(
      nodes.map((n) => [n.hostname, n.childType, n.mac ?? '-', n.interfaces.map((i) => `${i.name} ${i.ip} bmc=${i.isBmc}`)]),
      [
        ['node002', 'PhysicalNode', '-', ['BOOTIF 172.21.12.1 bmc=false']],
        ['bcm11-headnode', 'HeadNode', '00:50:56:9B:E4:6D', ['ens33 172.21.15.254 bmc=false']],
        ['node001', 'PhysicalNode', '-', ['BOOTIF 10.141.0.1 bmc=false']],
      ],
    );
    const head = nodes.find((n) => n.childType === 'HeadNode')!;
    assert.equal(head.categoryUuid, undefined, 'the head node has no category');
    assert.equal(head.provisioningInterface, undefined, 'zero UUID');
    const node001 = nodes.find((n) => n.hostname === 'node001')!;
    assert.equal(node001.provisioningInterface, answer('getNodes')[2].interfaces[0].uuid, 'BOOTIF is its provisioning interface');
    assert.deepEqual(
      parseNetworks(networks).map((n) => `${n.name} ${n.baseAddress}/${n.netmaskBits} ${n.type} management=${n.management}`),
      ['managementnet 172.21.12.0/22 INTERNAL management=true', 'internalnet 10.141.0.0/16 INTERNAL management=true'],
    );
    assert.deepEqual(
      parseCategories(answer('getCategories')).map((c) => c.name),
      ['default'],
    );
    assert.equal(nodes.filter((n) => n.categoryUuid === answer('getCategories')[0].uuid).length, 2);
  });
});

describe('BCM 11 capture: discover-nodes against it, served over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bcm-capture-'));
  const PASSWORD = 'capture-Pa55word';
  let sim: BcmSimulator;
  let ca: string;
  before(async () => {
    const pki = ensureLabCa(join(dir, 'pki'));
    ca = pki.caCert;
    // BCM's certificate names the head node; the endpoint below is its address
    const cert = issueCert(pki, 'bcm11-headnode', ['bcm11-headnode'], 'server');
    sim = await startBcmSimulator({
      fixture: captureFixture(),
      host: `127.0.${SUBNET}.1`,
      tls: { cert: cert.cert, key: cert.key, ca: pki.caCert },
      users: { root: PASSWORD },
    });
    writeFileSync(join(dir, 'password'), PASSWORD, { mode: 0o600 });
  });
  after(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let count = 0;
  async function discover(mutate: (s: Record<string, any>) => void) {
    const s = yaml.load(readFileSync('clusters/lab.yaml', 'utf8')) as Record<string, any>;
    s.name = 'bcm11-capture';
    s.bcm = {
      endpoint: sim.url,
      auth: 'login',
      username: 'root',
      password_file: join(dir, 'password'),
      ca_file: ca,
      tls_server_name: 'bcm11-headnode',
      timeout_seconds: 5,
      retries: 0,
    };
    s.nodes = { control_plane: ['node001'] };
    mutate(s);
    const file = join(dir, `spec-${++count}.yaml`);
    writeFileSync(file, yaml.dump(s));
    const out = join(dir, `out-${count}`);
    const reporter = new TerminalReporter(() => {});
    const code = await main(['discover', '--spec', file, '--out-dir', out], reporter);
    const text = reporter.lines.join('\n');
    const inv = code === 0 ? (JSON.parse(readFileSync(join(out, 'inventory.json'), 'utf8')) as Inventory) : undefined;
    return { code, text, nodes: inv?.nodes.map((n) => `${n.hostname} ${n.address} ${n.network}`) ?? [] };
  }

  it('the simulator answers each captured call with the captured answer', async () => {
    const { request } = await import('node:https');
    const post = (body: unknown, cookie?: string) =>
      new Promise<{ body: string; cookie?: string }>((resolve, reject) => {
        const req = request(
          new URL('/json', sim.url),
          {
            method: 'POST',
            ca: readFileSync(ca),
            servername: 'bcm11-headnode',
            headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ body: text, cookie: String(res.headers['set-cookie'] ?? '').split(';')[0] }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    const login = await post({ service: 'login', username: 'root', password: PASSWORD });
    for (const e of capture.filter((x) => ['getNodes', 'getDevices', 'getNode', 'getComputeNodes', 'getCategories'].includes(x.method))) {
      const r = await post({ service: 'cmdevice', call: e.method, args: e.arg === null ? [] : [e.arg] }, login.cookie);
      assert.deepEqual(JSON.parse(r.body), e.response, e.method);
    }
    assert.deepEqual(JSON.parse((await post({ service: 'cmnet', call: 'getNetworks' }, login.cookie)).body), networks);
  });

  it('network internalnet, CIDR 10.141.0.0/16, interface BOOTIF: node001 on 10.141.0.1, with no allow_management', async () => {
    for (const node_network of [{ name: 'internalnet' }, { cidr: '10.141.0.0/16' }, { interface: 'BOOTIF' }]) {
      const r = await discover((s) => (s.network = { node_network }));
      assert.equal(r.code, 0, `${JSON.stringify(node_network)}\n${r.text}`);
      assert.deepEqual(r.nodes, ['node001 10.141.0.1 internalnet'], JSON.stringify(node_network));
    }
  });

  it('the category default and the pattern node00[1-2] select both compute nodes, each on its own network (by interface)', async () => {
    for (const workers of [[{ category: 'default' }], ['node00[1-2]']]) {
      const r = await discover((s) => {
        s.nodes = { control_plane: ['node001'], workers, allow_stacked: true };
        s.network = { node_network: { interface: 'BOOTIF' } };
      });
      assert.equal(r.code, 0, r.text);
      assert.deepEqual(r.nodes, ['node001 10.141.0.1 internalnet', 'node002 172.21.12.1 managementnet']);
    }
  });

  it('node002 has no address on internalnet: refused with the address it has, which the message does not contradict', async () => {
    const r = await discover((s) => {
      s.nodes = { control_plane: ['node001'], workers: ['node002'] };
      s.network = { node_network: { name: 'internalnet' } };
    });
    assert.equal(r.code, 1);
    assert.match(r.text, /node002: no address on network 'internalnet'; its addresses: 172\.21\.12\.1 on managementnet \(BOOTIF\)/);
    assert.doesNotMatch(r.text, /node001: no address/);
  });

  it('without bcm.tls_server_name the name check fails and says so; the CA is not blamed', async () => {
    const r = await discover((s) => {
      delete s.bcm.tls_server_name;
      s.network = { node_network: { name: 'internalnet' } };
    });
    assert.equal(r.code, 1);
    assert.match(r.text, /does not name 127\.0\.82\.1 \(it names DNS:bcm11-headnode\): set bcm\.tls_server_name/);
  });

  it('calls only what BCM 11 answers: none of the names the capture found unanswered', () => {
    const calls = [
      ...new Set(
        sim
          .requests()
          .map((q) => q.call)
          .filter(Boolean),
      ),
    ];
    assert.ok(calls.includes('getNodes'));
    assert.deepEqual(
      calls.filter((c) => notCalls.includes(c!)),
      [],
    );
  });
});
