import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrContains, cidrsOverlap, formatIpv4, parseCidr, parseIpv4, type Cidr } from '../../actions/lib/config/cidr.ts';

const cidr = (text: string): Cidr => {
  const c = parseCidr(text);
  assert.ok(typeof c !== 'string', `${text}: ${String(c)}`);
  return c;
};

describe('IPv4 addresses', () => {
  it('parses dotted quads and refuses anything else', () => {
    assert.equal(parseIpv4('127.0.1.254'), 0x7f0001fe);
    assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
    assert.equal(parseIpv4('0.0.0.0'), 0);
    for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', 'a.b.c.d', '', '::1', '1.2.3.4 x'])
      assert.equal(parseIpv4(bad), undefined, bad);
    assert.equal(formatIpv4(0x0a960000), '10.150.0.0');
  });
});

describe('CIDRs', () => {
  it('parses a network and its prefix length', () => {
    assert.deepEqual(cidr('10.150.0.0/16'), { base: 0x0a960000, bits: 16, text: '10.150.0.0/16' });
    assert.deepEqual(cidr('0.0.0.0/0'), { base: 0, bits: 0, text: '0.0.0.0/0' });
    assert.equal(cidr('127.0.1.254/32').bits, 32);
  });

  it('refuses host bits, bad prefixes and non-CIDRs, saying why', () => {
    assert.equal(parseCidr('172.29.0.1/16'), "'172.29.0.1/16' has host bits set; the network is 172.29.0.0/16");
    assert.equal(parseCidr('10.0.0.0/33'), 'prefix length /33 is larger than 32');
    assert.equal(parseCidr('10.0.0.0'), "'10.0.0.0' is not an IPv4 CIDR like 10.150.0.0/16");
    assert.equal(parseCidr('10.0.0.0/'), "'10.0.0.0/' is not an IPv4 CIDR like 10.150.0.0/16");
    assert.equal(parseCidr('10.0.0.300/24'), "'10.0.0.300' is not an IPv4 address");
    assert.equal(parseCidr('010.1.0.0/16'), "'010.1.0.0' is not an IPv4 address", 'leading zeros are ambiguous (octal)');
  });

  it('accepts host bits when not strict (a node address with its prefix)', () => {
    assert.deepEqual(parseCidr('10.184.162.102/24', false), { base: 0x0ab8a200, bits: 24, text: '10.184.162.102/24' });
  });

  it('tells whether an address is inside', () => {
    assert.ok(cidrContains('127.0.1.0/24', '127.0.1.106'));
    assert.ok(!cidrContains('127.0.1.0/24', '127.0.2.1'));
    assert.ok(cidrContains('0.0.0.0/0', '8.8.8.8'));
    assert.ok(cidrContains('127.0.1.5/32', '127.0.1.5'));
    assert.ok(!cidrContains('127.0.1.5/32', '127.0.1.6'));
    assert.ok(!cidrContains('127.0.1.0/24', 'not-an-ip'));
    assert.ok(!cidrContains('garbage', '127.0.1.1'));
  });

  it('detects overlap both ways, and its absence for neighbours', () => {
    assert.ok(cidrsOverlap(cidr('10.150.0.0/16'), cidr('10.150.255.0/24')));
    assert.ok(cidrsOverlap(cidr('10.150.255.0/24'), cidr('10.150.0.0/16')));
    assert.ok(cidrsOverlap(cidr('172.29.0.0/16'), cidr('172.29.0.0/16')));
    assert.ok(cidrsOverlap(cidr('0.0.0.0/0'), cidr('192.0.2.0/24')));
    assert.ok(!cidrsOverlap(cidr('10.150.0.0/16'), cidr('10.151.0.0/16')));
    assert.ok(!cidrsOverlap(cidr('172.29.0.0/16'), cidr('172.28.0.0/16')));
    assert.ok(!cidrsOverlap(cidr('10.0.0.0/9'), cidr('10.128.0.0/9')));
  });
});
