// The Run:ai domain in the Corefile pods reach: a hosts entry in its own server block that binds and forwards
// like Kubespray's `.:53`, never a forward to a node, replacing only its own zone, stable when re-applied.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverBlocks, withDomainHosts } from '../../actions/lib/runai/dns.ts';
import { COREDNS_COREFILE, NODELOCALDNS_COREFILE } from '../lab/runai-sim/kubespray-dns.ts';

const zones = (corefile: string) => serverBlocks(corefile).map((b) => b.zones.join(' '));
const blockOf = (corefile: string, zone: string) =>
  serverBlocks(corefile)
    .find((b) => b.zones.includes(zone))!
    .lines.join('\n');

describe('Run:ai domain in the cluster DNS', () => {
  it("nodelocaldns: adds a block that binds where Kubespray's blocks bind, answers from hosts and forwards the rest upstream", () => {
    const r = withDomainHosts(NODELOCALDNS_COREFILE, 'runai.example.com', '10.0.0.5');
    assert.equal(r.changed, true);
    assert.deepEqual(zones(r.corefile), ['cluster.local:53', 'in-addr.arpa:53', 'ip6.arpa:53', '.:53', 'runai.example.com:53']);
    assert.equal(
      blockOf(r.corefile, 'runai.example.com:53'),
      [
        'runai.example.com:53 {',
        '    errors',
        '    cache 30',
        '    reload',
        '    bind 169.254.25.10',
        '    hosts {',
        '        10.0.0.5 runai.example.com',
        '        fallthrough',
        '    }',
        '    forward . /etc/resolv.conf',
        '}',
      ].join('\n'),
    );
    assert.ok(r.corefile.startsWith(NODELOCALDNS_COREFILE.trimEnd()), "Kubespray's blocks are left exactly as they were");
    assert.doesNotMatch(blockOf(r.corefile, 'runai.example.com:53'), /forward \. 10\.|forward \. 127\./, 'no forward to a node or CoreDNS');
  });

  it('is stable: applying it again changes nothing; a new address replaces the entry, not adds a second block', () => {
    const once = withDomainHosts(NODELOCALDNS_COREFILE, 'runai.example.com', '10.0.0.5');
    assert.deepEqual(withDomainHosts(once.corefile, 'runai.example.com', '10.0.0.5'), { corefile: once.corefile, changed: false });
    const moved = withDomainHosts(once.corefile, 'runai.example.com', '10.0.0.9');
    assert.equal(moved.changed, true);
    assert.equal(zones(moved.corefile).filter((z) => z.startsWith('runai')).length, 1);
    assert.match(moved.corefile, /10\.0\.0\.9 runai\.example\.com/);
    assert.doesNotMatch(moved.corefile, /10\.0\.0\.5/);
    assert.equal(moved.corefile.split('# bcmkube').length, 2, 'one marker comment');
  });

  it("replaces the predecessor's block that forwarded the domain to a node IP", () => {
    const predecessor = `runai.example.com:53 {\n    errors\n    cache 30\n    forward . 10.0.0.1\n}\n${NODELOCALDNS_COREFILE}`;
    const r = withDomainHosts(predecessor, 'runai.example.com', '10.0.0.5');
    assert.doesNotMatch(r.corefile, /forward \. 10\.0\.0\.1/);
    assert.equal(zones(r.corefile).filter((z) => z.startsWith('runai')).length, 1);
  });

  it('coredns (no nodelocaldns): no bind line, and the forward keeps its options block', () => {
    const r = withDomainHosts(COREDNS_COREFILE, 'runai.example.com', '10.0.0.5');
    const block = blockOf(r.corefile, 'runai.example.com:53');
    assert.doesNotMatch(block, /bind/);
    assert.match(block, /    forward \. \/etc\/resolv\.conf \{\n        prefer_udp\n        max_concurrent 1000\n    \}\n\}$/);
  });

  it('a Corefile without a .:53 block gets a hosts-only block (nothing to forward to)', () => {
    const r = withDomainHosts('cluster.local:53 {\n    errors\n}\n', 'runai.example.com', '10.0.0.5');
    assert.match(blockOf(r.corefile, 'runai.example.com:53'), /hosts \{\n {8}10\.0\.0\.5 runai\.example\.com\n {4}\}\n\}/);
  });
});
