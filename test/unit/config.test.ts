import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { cidrContains, cidrsOverlap, parseCidr } from '../../actions/lib/config/cidr.ts';
import { loadSpecFile, parseSpec, SpecError } from '../../actions/lib/config/load.ts';
import { expandPattern, matchSelector } from '../../actions/lib/config/patterns.ts';

const base = () => yaml.load(readFileSync('clusters/lab.yaml', 'utf8')) as Record<string, any>;

function problemsOf(doc: unknown): { path: string; message: string; severity: string }[] {
  try {
    return parseSpec(typeof doc === 'string' ? doc : yaml.dump(doc), 'test.yaml').problems;
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
}

type Case = [name: string, mutate: (s: Record<string, any>) => void, path: string, message: RegExp];

const BAD: Case[] = [
  ['name missing', (s) => delete s.name, 'name', /is required/],
  ['name upper case', (s) => (s.name = 'Lab'), 'name', /'Lab' is not allowed here — Cluster name/],
  ['name too long', (s) => (s.name = 'a'.repeat(64)), 'name', /not allowed here/],
  ['name not text', (s) => (s.name = 42), 'name', /42 must be text/],
  ['bcm missing', (s) => delete s.bcm, 'bcm', /is required/],
  ['endpoint missing', (s) => delete s.bcm.endpoint, 'bcm.endpoint', /is required/],
  ['endpoint http', (s) => (s.bcm.endpoint = 'http://bcm:8081'), 'bcm.endpoint', /https only/],
  ['endpoint not a URL', (s) => (s.bcm.endpoint = 'https://bcm head:8081/'), 'bcm.endpoint', /must be a URL/],
  ['auth unknown', (s) => (s.bcm.auth = 'kerberos'), 'bcm.auth', /'kerberos' is not one of: login, client-cert/],
  ['timeout zero', (s) => (s.bcm.timeout_seconds = 0), 'bcm.timeout_seconds', /at least 1/],
  ['timeout text', (s) => (s.bcm.timeout_seconds = 'soon'), 'bcm.timeout_seconds', /must be a whole number/],
  ['retries huge', (s) => (s.bcm.retries = 99), 'bcm.retries', /at most 10/],
  ['insecure not bool', (s) => (s.bcm.insecure = 'yes'), 'bcm.insecure', /true or false/],
  ['unknown bcm key with suggestion', (s) => (s.bcm.endpiont = 'x'), 'bcm.endpiont', /did you mean 'endpoint'/],
  ['unknown top-level key', (s) => (s.nodez = {}), 'nodez', /did you mean 'nodes'/],
  ['inline password', (s) => (s.bcm.password = 'hunter2'), 'bcm.password', /secrets never go in the spec/],
  ['nodes missing', (s) => delete s.nodes, 'nodes', /is required/],
  ['control plane empty', (s) => (s.nodes.control_plane = []), 'nodes.control_plane', /at least 1 entry/],
  ['control plane not a list', (s) => (s.nodes.control_plane = 'cpu-03'), 'nodes.control_plane', /must be a list/],
  ['selector number', (s) => (s.nodes.control_plane = ['cpu-03', 5]), 'nodes.control_plane[1]', /must be a hostname, range pattern/],
  [
    'selector object without category',
    (s) => (s.nodes.workers = [{ categry: 'x' }]),
    'nodes.workers[0]',
    /must be a hostname, range pattern/,
  ],
  ['bad hostname', (s) => (s.nodes.control_plane = ['cpu_03']), 'nodes.control_plane[0]', /'cpu_03' is not a valid hostname/],
  ['hostname with shell metacharacters', (s) => (s.nodes.workers = ['dgx;reboot']), 'nodes.workers[0]', /is not a valid hostname/],
  ['reversed range', (s) => (s.nodes.workers = ['dgx-[06-05]']), 'nodes.workers[0]', /runs backwards/],
  ['unclosed range', (s) => (s.nodes.workers = ['dgx-[05-06']), 'nodes.workers[0]', /a range is written \[first-last\]/],
  ['huge range', (s) => (s.nodes.workers = ['dgx-[0-99999]']), 'nodes.workers[0]', /at most 10000/],
  ['bad glob', (s) => (s.nodes.workers = ['dgx/*']), 'nodes.workers[0]', /not a valid glob/],
  ['node in two roles', (s) => (s.nodes.workers = ['cpu-03', 'dgx-05']), 'nodes.workers[0]', /'cpu-03' is both control plane/],
  ['gpu worker not a worker', (s) => (s.nodes.gpu_workers = ['dgx-07']), 'nodes.gpu_workers[0]', /not in nodes.workers/],
  ['duplicate in a role', (s) => (s.nodes.control_plane = ['cpu-03', 'cpu-03', 'cpu-05']), 'nodes.control_plane[1]', /listed twice/],
  ['bad allowed status', (s) => (s.nodes.allowed_status = ['RUNNING']), 'nodes.allowed_status[0]', /not one of: UP, DOWN/],
  ['node network empty', (s) => (s.network.node_network = {}), 'network.node_network', /exactly one of name, cidr, interface/],
  [
    'node network two ways',
    (s) => (s.network.node_network = { name: 'dgxnet', cidr: '127.0.1.0/24' }),
    'network.node_network',
    /exactly one/,
  ],
  ['node network bad cidr', (s) => (s.network.node_network = { cidr: '127.0.1.0/33' }), 'network.node_network.cidr', /larger than 32/],
  ['pod cidr not a cidr', (s) => (s.network.pod_cidr = '172.29.0.0'), 'network.pod_cidr', /not an IPv4 CIDR/],
  [
    'pod cidr host bits',
    (s) => (s.network.pod_cidr = '172.29.0.1/16'),
    'network.pod_cidr',
    /host bits set; the network is 172\.29\.0\.0\/16/,
  ],
  ['pod cidr bad octet', (s) => (s.network.pod_cidr = '300.1.0.0/16'), 'network.pod_cidr', /'300\.1\.0\.0' is not an IPv4 address/],
  [
    'service overlaps pods',
    (s) => (s.network.service_cidr = '172.29.128.0/17'),
    'network.service_cidr',
    /overlaps the pod network 172\.29\.0\.0\/16/,
  ],
  [
    'pods overlap node network',
    (s) => (s.network = { node_network: { cidr: '10.150.0.0/24' }, pod_cidr: '172.29.0.0/16', service_cidr: '10.150.0.0/16' }),
    'network.service_cidr',
    /overlaps the node network/,
  ],
  ['pods on loopback', (s) => (s.network.pod_cidr = '127.64.0.0/16'), 'network.pod_cidr', /overlaps loopback/],
  ['service user bad name', (s) => (s.access.service_user.name = 'Ansible BCM'), 'access.service_user.name', /not allowed here/],
  ['service user uid low', (s) => (s.access.service_user.uid = 0), 'access.service_user.uid', /at least 1000/],
  ['service user bad shell', (s) => (s.access.service_user.shell = 'bash'), 'access.service_user.shell', /not allowed here/],
  [
    'public key and file',
    (s) => (s.access.service_user.public_key = 'ssh-ed25519 AAAAC3Nza x'),
    'access.service_user.public_key',
    /not both/,
  ],
  [
    'public key garbage',
    (s) => {
      delete s.access.service_user.public_key_file;
      s.access.service_user.public_key = 'not a key';
    },
    'access.service_user.public_key',
    /not an OpenSSH public key/,
  ],
  ['host key policy unknown', (s) => (s.access.host_key_policy = 'yolo'), 'access.host_key_policy', /not one of: strict, accept-new, off/],
  ['admin auth unknown', (s) => (s.access.admin.auth = 'token'), 'access.admin.auth', /not one of: key, password/],
  ['concurrency zero', (s) => (s.access.concurrency = 0), 'access.concurrency', /at least 1/],
  ['data partition relative', (s) => (s.access.data_partitions = ['raid']), 'access.data_partitions[0]', /not allowed here/],
  ['kubernetes version format', (s) => (s.kubernetes = { version: '1.31' }), 'kubernetes.version', /not allowed here/],
  [
    'kubernetes too new for kubespray',
    (s) => (s.kubernetes = { version: 'v1.33.1' }),
    'kubernetes.version',
    /Kubespray v2\.27\.1 supports Kubernetes >=1\.30\.0 <1\.32\.0, not v1\.33\.1/,
  ],
  [
    'kubernetes too old for Run:ai',
    (s) => (s.kubernetes = { kubespray_version: 'v2.25.0', version: 'v1.28.6' }),
    'kubernetes.version',
    /Run:ai 2\.21 supports Kubernetes >=1\.29\.0 <1\.33\.0/,
  ],
  ['cni unknown', (s) => (s.kubernetes = { cni: 'weave' }), 'kubernetes.cni', /not one of: calico, cilium, flannel/],
  ['runai unsupported line', (s) => (s.runai.version = '2.18.4'), 'runai.version', /not supported \(supported lines: 2\.21\)/],
  ['runai domain missing', (s) => delete s.runai.domain, 'runai.domain', /required when runai.enabled/],
  [
    'runai provided tls without cert',
    (s) => (s.runai.tls = { source: 'provided' }),
    'runai.tls.cert_file',
    /is required when runai.tls.source is provided/,
  ],
  ['runai ingress port', (s) => (s.runai.ingress_port = 70000), 'runai.ingress_port', /at most 65535/],
  [
    'release override unknown key',
    (s) => (s.platform = { releases: { 'gpu-operator': { enable: false } } }),
    'platform.releases.gpu-operator.enable',
    /unknown key \(did you mean 'enabled'\?\)/,
  ],
  ['mirror not a URL', (s) => (s.mirrors.charts = 'not a url'), 'mirrors.charts', /must be a URL/],
  ['extra vars not a mapping', (s) => (s.kubernetes = { extra_vars: ['a'] }), 'kubernetes.extra_vars', /must be a mapping/],
];

describe('cluster spec', () => {
  it('accepts both shipped specs with no problem', () => {
    for (const f of ['clusters/example.yaml', 'clusters/lab.yaml']) assert.deepEqual(loadSpecFile(f).problems, [], f);
  });

  it("applies the predecessor's defaults", () => {
    const { spec } = loadSpecFile('clusters/lab.yaml');
    assert.deepEqual(spec.access.service_user, {
      name: 'ansiblebcm',
      uid: 60000,
      gid: 60000,
      shell: '/bin/bash',
      public_key_file: '.bcmkube/lab/keys/service.pub',
      private_key_file: '.bcmkube/lab/keys/service',
    });
    assert.equal(spec.kubernetes.kubespray_version, 'v2.27.1');
    assert.equal(spec.kubernetes.version, 'v1.31.9');
    assert.equal(spec.kubernetes.cni, 'calico');
    assert.equal(spec.kubernetes.dns_domain, 'cluster.local');
    assert.equal(spec.network.pod_cidr, '172.29.0.0/16');
    assert.equal(spec.network.service_cidr, '10.150.0.0/16');
    assert.notEqual(spec.kubernetes.apiserver_healthcheck_port, 8081, 'BCM CMDaemon holds 8081');
    assert.deepEqual(spec.nodes.allowed_status, ['UP']);
    assert.equal(spec.access.host_key_policy, 'strict');
  });

  it(`gives the right path for each of ${BAD.length} bad specs`, () => {
    assert.ok(BAD.length >= 40);
    const misses: string[] = [];
    for (const [name, mutate, path, message] of BAD) {
      const doc = base();
      mutate(doc);
      const problems = problemsOf(doc).filter((p) => p.severity === 'error');
      const hit = problems.find((p) => p.path === path && message.test(p.message));
      if (!hit) misses.push(`${name}: expected ${path} ~ ${message}, got ${JSON.stringify(problems)}`);
    }
    assert.deepEqual(misses, []);
  });

  it('reports every independent problem at once', () => {
    const doc = base();
    doc.name = 'BAD NAME';
    doc.bcm.auth = 'x';
    doc.access.concurrency = -1;
    const problems = problemsOf(doc);
    assert.deepEqual(problems.map((p) => p.path).sort(), ['access.concurrency', 'bcm.auth', 'name']);
    assert.throws(
      () => parseSpec(yaml.dump(doc), 'multi.yaml'),
      (e: Error) => /multi\.yaml: 3 problem\(s\)/.test(e.message),
    );
  });

  it('never echoes an inline secret', () => {
    const doc = base();
    doc.access.admin.password = 'TopSecret-123';
    assert.throws(
      () => parseSpec(yaml.dump(doc), 's.yaml'),
      (e: Error) => /access\.admin\.password: secrets never go/.test(e.message) && !e.message.includes('TopSecret'),
    );
  });

  it('refuses YAML tricks: duplicate keys, alias bombs, several documents, non-mappings', () => {
    assert.match(problemsOf('name: a\nname: b\n')[0]!.message, /duplicated mapping key/);
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 9 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(',')}]`,
      ),
    ].join('\n');
    assert.match(problemsOf(bomb)[0]!.message, /not valid YAML/);
    assert.match(problemsOf('name: a\n---\nname: b\n')[0]!.message, /not valid YAML/);
    assert.match(problemsOf('- a\n- b\n')[0]!.message, /must be a YAML mapping/);
    assert.match(problemsOf(`name: ${'x'.repeat(1024 * 1024)}`)[0]!.message, /larger than/);
  });

  it('warns (not fails) on an even etcd count and on insecure TLS', () => {
    const doc = base();
    doc.nodes.control_plane = ['cpu-03', 'cpu-05'];
    doc.bcm.insecure = true;
    const { problems } = parseSpec(yaml.dump(doc), 'w.yaml');
    assert.deepEqual(
      problems.map((p) => [p.severity, p.path]),
      [
        ['warning', 'nodes.control_plane'],
        ['warning', 'bcm.insecure'],
      ],
    );
  });

  it('hashes the spec stably across key order and differently when a value changes', () => {
    const a = parseSpec(yaml.dump(base()), 'a').hash;
    const reordered = Object.fromEntries(Object.entries(base()).reverse());
    assert.equal(parseSpec(yaml.dump(reordered), 'b').hash, a);
    const changed = base();
    changed.network.pod_cidr = '172.30.0.0/16';
    assert.notEqual(parseSpec(yaml.dump(changed), 'c').hash, a);
  });
});

describe('node patterns', () => {
  it('expands ranges keeping zero padding, several ranges, and literals', () => {
    assert.deepEqual(expandPattern('dgx-[01-03]'), ['dgx-01', 'dgx-02', 'dgx-03']);
    assert.deepEqual(expandPattern('n[8-10]'), ['n8', 'n9', 'n10']);
    assert.deepEqual(expandPattern('rack[1-2]-dgx[01-02]'), ['rack1-dgx01', 'rack1-dgx02', 'rack2-dgx01', 'rack2-dgx02']);
    assert.deepEqual(expandPattern('cpu-03'), ['cpu-03']);
  });
  it('matches globs, ranges and categories', () => {
    assert.ok(matchSelector('dgx-*', 'dgx-05'));
    assert.ok(!matchSelector('dgx-0?', 'dgx-105'));
    assert.ok(matchSelector('dgx-[05-06]', 'dgx-06'));
    assert.ok(matchSelector({ category: 'dgx-h100' }, 'anything', 'dgx-h100'));
    assert.ok(!matchSelector({ category: 'dgx-h100' }, 'anything', undefined));
  });
});

describe('CIDRs', () => {
  it('parses, contains and overlaps', () => {
    const a = parseCidr('10.150.0.0/16');
    const b = parseCidr('10.150.255.0/24');
    assert.ok(typeof a !== 'string' && typeof b !== 'string');
    assert.ok(cidrsOverlap(a, b));
    assert.ok(!cidrsOverlap(a, parseCidr('10.151.0.0/16') as never));
    assert.ok(cidrContains('127.0.1.0/24', '127.0.1.106'));
    assert.ok(!cidrContains('127.0.1.0/24', '127.0.2.1'));
    assert.ok(cidrContains('0.0.0.0/0', '8.8.8.8'));
    assert.equal(typeof parseCidr('010.1.0.0/16'), 'string', 'leading zeros refused');
  });
});

describe('spec reference docs', () => {
  it('docs/cluster-spec.md is the one generated from the schema (run `npm run gen` after editing the schema)', async () => {
    const { renderSpecDocs } = await import('../../actions/lib/config/docs.ts');
    assert.equal(readFileSync('docs/cluster-spec.md', 'utf8'), renderSpecDocs());
    assert.match(renderSpecDocs(), /\| `access\.service_user\.uid` \| integer \| `60000` \|/);
  });
});
