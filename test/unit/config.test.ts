import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import schema from '../../schema/cluster-spec.schema.json' with { type: 'json' };
import { renderSpecDocs } from '../../actions/lib/config/docs.ts';
import {
  describeProblems,
  loadSpecFile,
  MAX_ALIASES,
  parseSpec,
  PATTERN_WORDS,
  showValue,
  SpecError,
  toPath,
} from '../../actions/lib/config/load.ts';
import { checkCredentialSources, isSecretKey } from '../../actions/lib/config/semantics.ts';
import type { SpecProblem } from '../../actions/lib/config/types.ts';
import { UsageError } from '../../actions/lib/util/errors.ts';

type Doc = Record<string, any>;
const lab = (): Doc => yaml.load(readFileSync('clusters/lab.yaml', 'utf8')) as Doc;
const MINIMAL = `
name: mini
bcm: { endpoint: 'https://bcm-head-01:8081', auth: login }
nodes: { control_plane: [cpu-01] }
network: { node_network: { name: dgxnet } }
runai: { domain: runai.example.com }
`;

function problemsOf(text: string): SpecProblem[] {
  try {
    return parseSpec(text, 'test.yaml').problems;
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
}
const errorsOf = (doc: Doc | string) => problemsOf(typeof doc === 'string' ? doc : yaml.dump(doc)).filter((p) => p.severity === 'error');
const warningsOf = (doc: Doc) => parseSpec(yaml.dump(doc), 'w.yaml').problems.map((p) => [p.path, p.message] as const);

describe('shipped specs', () => {
  it('both load with no error and no warning', () => {
    for (const f of ['clusters/example.yaml', 'clusters/lab.yaml']) assert.deepEqual(loadSpecFile(f).problems, [], f);
  });

  it("example.yaml is the predecessor's cluster", () => {
    const { spec } = loadSpecFile('clusters/example.yaml');
    assert.deepEqual(spec.nodes.control_plane, ['cpu-03', 'cpu-05', 'cpu-06']);
    assert.deepEqual(spec.nodes.etcd, [], 'etcd defaults to the control plane');
    assert.deepEqual(spec.nodes.workers, ['dgx-05', 'dgx-06']);
    assert.equal(spec.bcm.endpoint, 'https://bcm-head-01.example.com:8081');
    assert.deepEqual(spec.network.node_network, { name: 'dgxnet' });
    assert.deepEqual(spec.access.admin, { user: 'ibm', auth: 'password' });
    assert.equal(spec.runai.domain, 'runai.example.com');
    assert.match(
      readFileSync('clusters/example.yaml', 'utf8'),
      /^# yaml-language-server: \$schema=\.\.\/schema\/cluster-spec\.schema\.json\n/,
    );
  });

  it('lab.yaml points at what the lab writes, on loopback only', () => {
    const { spec } = loadSpecFile('clusters/lab.yaml');
    assert.equal(spec.bcm.endpoint, 'https://127.0.1.254:8081');
    assert.equal(spec.bcm.password_file, '.bcmkube/lab/secrets/bcm-password');
    assert.equal(spec.bcm.ca_file, '.bcmkube/lab/pki/ca.pem');
    assert.deepEqual(spec.nodes.workers, ['dgx-[05-06]']);
    assert.equal(spec.access.admin.key_file, '.bcmkube/lab/keys/admin');
    assert.equal(spec.access.known_hosts_file, '.bcmkube/lab/known_hosts');
    assert.equal(spec.runai.url, 'https://127.0.1.253');
    assert.deepEqual(spec.runai.tls, {
      source: 'provided',
      cert_file: '.bcmkube/lab/pki/runai.pem',
      key_file: '.bcmkube/lab/pki/runai.key',
      ca_file: '.bcmkube/lab/pki/ca.pem',
    });
    for (const url of [
      spec.bcm.endpoint,
      spec.runai.url,
      spec.mirrors.tools,
      spec.mirrors.charts,
      spec.mirrors.kubespray,
      spec.mirrors.pypi,
    ])
      assert.match(String(url), /^https:\/\/127\./);
    assert.match(readFileSync('clusters/lab.yaml', 'utf8'), /^# yaml-language-server: \$schema=\.\.\/schema\/cluster-spec\.schema\.json\n/);
  });
});

describe('defaults', () => {
  it("fills in the predecessor's values, except its bugs", () => {
    const { spec } = parseSpec(MINIMAL, 'mini.yaml');
    assert.deepEqual(spec.access.service_user, { name: 'ansiblebcm', uid: 60000, gid: 60000, shell: '/bin/bash' });
    assert.deepEqual(spec.kubernetes, {
      kubespray_version: 'v2.27.1',
      version: 'v1.31.9',
      cni: 'calico',
      dns_domain: 'cluster.local',
      apiserver_healthcheck_port: 8082,
      extra_vars: {},
    });
    assert.equal(spec.network.pod_cidr, '172.29.0.0/16');
    assert.equal(spec.network.service_cidr, '10.150.0.0/16');
    assert.equal(spec.network.allow_management, false);
    assert.deepEqual(spec.nodes, {
      control_plane: ['cpu-01'],
      workers: [],
      etcd: [],
      gpu_workers: [],
      allow_stacked: false,
      allowed_status: ['UP'],
      skippable: [],
    });
    assert.deepEqual([spec.bcm.timeout_seconds, spec.bcm.retries, spec.bcm.insecure], [30, 3, false]);
    const a = spec.access;
    assert.deepEqual(
      [a.host_key_policy, a.concurrency, a.min_containerd_gb, a.max_clock_skew_seconds, a.data_partitions, a.legacy_algorithms],
      ['strict', 32, 10, 2, ['/raid', '/local'], false],
    );
    assert.deepEqual(spec.platform, { ingress: 'ingress-nginx', gpu_driver: false, releases: {} });
    assert.equal(spec.runai.enabled, true);
    assert.match(spec.runai.version, /^2\.21\.\d+$/);
    assert.equal(spec.runai.ingress_port, 443);
    assert.equal(spec.runai.tls.source, 'generate');
  });

  it('does not require runai.domain when Run:ai is off, nor check Run:ai version ranges', () => {
    const doc = yaml.load(MINIMAL) as Doc;
    doc.runai = { enabled: false };
    doc.kubernetes = { kubespray_version: 'v2.25.0', version: 'v1.28.6' };
    assert.deepEqual(parseSpec(yaml.dump(doc), 'off.yaml').problems, []);
  });

  it('hashes the spec with defaults: stable across key order, explicit defaults and comments; changes with a value', () => {
    const a = parseSpec(yaml.dump(lab()), 'a').hash;
    assert.match(a, /^[0-9a-f]{64}$/);
    const reordered = Object.fromEntries(Object.entries(lab()).reverse());
    reordered.bcm = Object.fromEntries(Object.entries(reordered.bcm as Doc).reverse());
    assert.equal(parseSpec(yaml.dump(reordered), 'b').hash, a);
    const explicit = lab();
    explicit.kubernetes = { cni: 'calico', version: 'v1.31.9' };
    assert.equal(parseSpec(yaml.dump(explicit), 'c').hash, a);
    assert.equal(parseSpec(`# a comment\n${readFileSync('clusters/lab.yaml', 'utf8')}`, 'd').hash, loadSpecFile('clusters/lab.yaml').hash);
    const changed = lab();
    changed.network.pod_cidr = '172.30.0.0/16';
    assert.notEqual(parseSpec(yaml.dump(changed), 'e').hash, a);
  });
});

describe('problems', () => {
  it('reports every independent problem at once, each as a path: message line', () => {
    const doc = lab();
    doc.name = 'BAD NAME';
    doc.bcm.auth = 'x';
    doc.network.service_cidr = '172.29.0.0/20';
    const errors = errorsOf(doc);
    assert.deepEqual(errors.map((p) => p.path).sort(), ['bcm.auth', 'name', 'network.service_cidr']);
    assert.throws(
      () => parseSpec(yaml.dump(doc), 'multi.yaml'),
      (e: Error) => {
        assert.ok(e instanceof SpecError && e instanceof UsageError);
        assert.match(e.message, /^multi\.yaml: 3 problem\(s\) in the cluster spec:\n/);
        for (const p of errors) assert.ok(e.message.includes(`${p.path}: ${p.message}`), p.path);
        return true;
      },
    );
  });

  it('runs the semantic checks of sections the schema found nothing wrong with', () => {
    const doc = lab();
    doc.bcm.retries = -1; // schema
    doc.nodes.workers = ['cpu-03']; // semantics: stacked
    doc.network.pod_cidr = '10.150.0.0/16'; // semantics: overlap
    assert.deepEqual(
      errorsOf(doc).map((p) => p.path),
      ['bcm.retries', 'nodes.workers[0]', 'network.service_cidr'],
    );
  });

  it('names an unknown key, suggests the closest known one and lists the allowed keys', () => {
    const doc = lab();
    doc.nodes.gpu_worker = ['dgx-05'];
    const [p] = errorsOf(doc);
    assert.equal(p?.path, 'nodes.gpu_worker');
    assert.match(p!.message, /^unknown key \(did you mean 'gpu_workers'\?\); allowed here: control_plane, workers, etcd, gpu_workers/);
    doc.nodes = { control_plane: ['cpu-03'], zzzzzzzz: 1 };
    assert.doesNotMatch(errorsOf(doc)[0]!.message, /did you mean/, 'no far-fetched guess');
  });

  it('refuses duplicate keys, naming the line', () => {
    const [p] = errorsOf(`${MINIMAL}\nnodes: { control_plane: [cpu-02] }\n`);
    assert.equal(p?.path, '');
    assert.match(p!.message, /duplicated mapping key in "test\.yaml" \(8:1\)/);
  });

  it('refuses an alias bomb, but allows a few aliases', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const [p] = errorsOf(`${MINIMAL}\n${levels.join('\n')}\n`);
    assert.equal(p?.path, '');
    assert.match(p!.message, /not valid YAML: .*alias/i);

    const doc = yaml.load(MINIMAL) as Doc;
    const withAliases = yaml
      .dump(doc)
      .replace('control_plane:\n    - cpu-01', 'control_plane: &cp\n    - cpu-01')
      .concat('access:\n  data_partitions: &dp [/raid]\n');
    const ok = parseSpec(`${withAliases}platform:\n  releases:\n    a: { values: { p: *dp, q: *cp } }\n`, 'aliases.yaml');
    assert.deepEqual(ok.spec.platform.releases.a?.values, { p: ['/raid'], q: ['cpu-01'] });
    assert.ok(MAX_ALIASES >= 2 && MAX_ALIASES < 100);
  });

  it('refuses several documents, non-mappings, empty files, deep nesting and huge files', () => {
    const root = (text: string) => {
      const [p] = errorsOf(text);
      assert.equal(p?.path, '');
      return p!.message;
    };
    assert.match(root(`${MINIMAL}---\nname: b\n`), /not valid YAML/);
    assert.match(root('- a\n- b\n'), /must be a YAML mapping/);
    assert.match(root('just text\n'), /must be a YAML mapping/);
    assert.match(root(''), /not valid YAML|must be a YAML mapping/);
    assert.match(root(`${MINIMAL}deep: ${'['.repeat(60)}${']'.repeat(60)}\n`), /not valid YAML/);
    assert.match(root(`name: ${'x'.repeat(1024 * 1024)}`), /larger than 1048576 bytes/);
  });

  it('never echoes an inline secret, wherever it is', () => {
    const secret = 'TopSecret-123';
    const doc = lab();
    doc.access.admin.password = secret;
    doc.bcm.password = [secret];
    doc.platform = { releases: { grafana: { values: { adminPassword: secret, existingSecret: 'grafana-admin' } } } };
    doc.kubernetes = { extra_vars: { calico: { api_token: secret } } };
    assert.throws(
      () => parseSpec(yaml.dump(doc), 's.yaml'),
      (e: Error) => {
        assert.ok(!e.message.includes(secret), e.message);
        assert.deepEqual((e as SpecError).problems.map((p) => p.path).sort(), [
          'access.admin.password',
          'bcm.password',
          'kubernetes.extra_vars.calico.api_token',
          'platform.releases.grafana.values.adminPassword',
        ]);
        assert.match(e.message, /access\.admin\.password: secrets never go in the spec/);
        return true;
      },
    );
    assert.equal(showValue(secret, 'platform.releases.x.values.token[0]'), '(value hidden)');
    assert.equal(showValue('x'.repeat(100), 'name'), `'${'x'.repeat(56)}…`, 'long values are cut');
  });

  it('knows which keys name secrets', () => {
    for (const k of [
      'password',
      'bcm_password',
      'adminPassword',
      'client-secret',
      'token',
      'api_token',
      'private_key',
      'sshPrivateKey',
      'tls_key',
      'passwd',
    ])
      assert.ok(isSecretKey(k), k);
    for (const k of [
      'password_file',
      'private_key_file',
      'public_key',
      'existingSecret',
      'secretName',
      'token_ttl',
      'key',
      'kube_token_auth',
    ])
      assert.ok(!isSecretKey(k), k);
  });

  it('writes readable paths', () => {
    assert.equal(toPath('/nodes/control_plane/1'), 'nodes.control_plane[1]');
    assert.equal(toPath('/platform/releases/gpu-operator/values'), 'platform.releases.gpu-operator.values');
    assert.equal(toPath('/a~1b/0/c'), 'a/b[0].c');
    assert.equal(toPath(''), '');
  });

  it('formats problems for the CLI, one line each, errors and warnings marked apart', () => {
    const text = describeProblems([
      { path: 'nodes.workers[0]', message: 'bad', severity: 'error' },
      { path: '', message: 'not valid YAML', severity: 'error' },
      { path: 'bcm.insecure', message: 'off', severity: 'warning' },
    ]);
    assert.equal(text, '  ✗ nodes.workers[0]: bad\n  ✗ (spec): not valid YAML\n  ! bcm.insecure: off');
  });

  it('says when the file cannot be read', () => {
    assert.throws(
      () => loadSpecFile('clusters/no-such.yaml'),
      (e: Error) => e instanceof UsageError && /cannot read the cluster spec 'clusters\/no-such\.yaml': ENOENT/.test(e.message),
    );
  });
});

describe('accepted specs with warnings', () => {
  it('refuses an even etcd count (Kubespray stops on it), naming the list it came from', () => {
    const doc = lab();
    doc.nodes.control_plane = ['cpu-03', 'cpu-05'];
    assert.deepEqual(
      errorsOf(doc).map((p) => [p.path, p.message]),
      [
        [
          'nodes.control_plane',
          '2 etcd members (etcd runs on the control plane): Kubespray refuses an even count (2 members survive no more failures than 1); use an odd number (3 or 5)',
        ],
      ],
    );
    doc.nodes.etcd = ['cpu-[01-04]'];
    assert.deepEqual(
      errorsOf(doc).map((p) => p.path),
      ['nodes.etcd'],
    );
  });

  it('warns on more than 7 etcd members', () => {
    const doc = lab();
    doc.nodes.etcd = ['cpu-[01-09]'];
    assert.deepEqual(warningsOf(doc), [['nodes.etcd', '9 etcd members slow every write; 3 or 5 is usual']]);
  });

  it('warns on pod or service networks on loopback, insecure BCM TLS, unchecked host keys, and odd ports', () => {
    const doc = lab();
    doc.network.pod_cidr = '127.64.0.0/16';
    doc.bcm.insecure = true;
    doc.access.host_key_policy = 'off';
    doc.runai.ingress_port = 8443;
    doc.kubernetes = { dns_domain: doc.name };
    assert.deepEqual(
      warningsOf(doc).map(([p]) => p),
      ['network.pod_cidr', 'runai.ingress_port', 'kubernetes.dns_domain', 'access.host_key_policy', 'bcm.insecure'],
    );
  });

  it('warns when the Kubespray version is not in the table', () => {
    const doc = lab();
    doc.kubernetes = { kubespray_version: 'v2.30.0' };
    assert.match(warningsOf(doc)[0]![1], /Kubespray v2\.30\.0 is not in the compatibility table/);
  });

  it('accepts every patch of a known Kubespray line', () => {
    const doc = lab();
    doc.kubernetes = { kubespray_version: 'v2.26.1', version: 'v1.30.4' };
    assert.deepEqual(warningsOf(doc), []);
  });

  it('allows stacked nodes when asked, globs and categories anywhere, and GPU workers matching a worker glob', () => {
    const doc = lab();
    doc.nodes.workers = ['cpu-03', 'dgx-*', { category: 'dgx-h100' }];
    doc.nodes.allow_stacked = true;
    doc.nodes.gpu_workers = ['dgx-0?', 'dgx-05'];
    assert.deepEqual(warningsOf(doc), []);
  });
});

describe('credential sources (for the CLI and the actions)', () => {
  const spec = () => structuredClone(loadSpecFile('clusters/lab.yaml').spec);

  it('accepts the lab spec: every credential has a *_file', () => {
    assert.deepEqual(checkCredentialSources(spec(), {}), []);
  });

  it('needs each credential from an input or a file, pointing at the file key', () => {
    const s = spec();
    s.bcm = { ...s.bcm, auth: 'client-cert' };
    delete s.access.admin.key_file;
    delete s.access.service_user.private_key_file;
    delete s.runai.password_file;
    s.runai.tls = { source: 'provided' };
    const problems = checkCredentialSources(s, {});
    assert.deepEqual(
      problems.map((p) => p.path),
      [
        'bcm.client_cert_file',
        'bcm.client_key_file',
        'access.admin.key_file',
        'access.service_user.private_key_file',
        'runai.password_file',
        'runai.tls.cert_file',
        'runai.tls.key_file',
      ],
    );
    assert.match(problems[1]!.message, /pass input 'bcm-client-key' from a secret, or set bcm\.client_key_file \(CLI\)/);
    const all = {
      'bcm-client-cert': true,
      'bcm-client-key': true,
      'admin-ssh-key': true,
      'service-ssh-key': true,
      'runai-admin-password': true,
      'tls-cert': true,
      'tls-key': true,
    };
    assert.deepEqual(checkCredentialSources(s, all), []);
  });

  it('checks only the areas a stage asks for, and Run:ai only when enabled', () => {
    const s = spec();
    delete s.bcm.password_file;
    s.access.admin = { user: 'ibm', auth: 'password' };
    delete s.runai.password_file;
    assert.deepEqual(
      checkCredentialSources(s, {}, ['bcm']).map((p) => p.path),
      ['bcm.password_file'],
    );
    assert.deepEqual(
      checkCredentialSources(s, {}, ['admin']).map((p) => p.path),
      ['access.admin.password_file'],
    );
    assert.deepEqual(checkCredentialSources(s, { 'bcm-password': true, 'admin-password': true }, ['bcm', 'admin']), []);
    s.runai.enabled = false;
    assert.deepEqual(checkCredentialSources(s, {}, ['runai']), []);
  });

  it('needs the service public key from the spec or an input', () => {
    const s = spec();
    delete s.access.service_user.public_key_file;
    assert.deepEqual(
      checkCredentialSources(s, {}, ['service']).map((p) => p.path),
      ['access.service_user.public_key_file'],
    );
    assert.deepEqual(checkCredentialSources(s, { 'service-public-key': true }, ['service']), []);
  });
});

describe('the published schema', () => {
  interface Node {
    [k: string]: unknown;
    properties?: Record<string, Node>;
    additionalProperties?: boolean | Node;
    items?: Node;
    oneOf?: Node[];
    pattern?: string;
    description?: string;
  }
  // Free-form mappings passed through to Kubespray / Helm.
  const FREE_FORM = new Set(['kubernetes.extra_vars', 'platform.releases.*.values']);

  function walk(node: Node, path: string, visit: (n: Node, p: string) => void) {
    visit(node, path);
    for (const [k, child] of Object.entries(node.properties ?? {})) walk(child, path ? `${path}.${k}` : k, visit);
    if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${path}.*`, visit);
    if (node.items) walk(node.items, `${path}[]`, visit);
    node.oneOf?.forEach((o, i) => walk(o, `${path}|${i}`, visit));
  }
  const root = schema as unknown as Node;
  const everywhere = (visit: (n: Node, p: string) => void) => {
    walk(root, '', visit);
    for (const [name, def] of Object.entries((root.$defs ?? {}) as Record<string, Node>)) walk(def, `$defs.${name}`, visit);
  };

  it('is draft 2020-12 and describes every property (editors show these)', () => {
    assert.equal(root.$schema, 'https://json-schema.org/draft/2020-12/schema');
    const missing: string[] = [];
    everywhere((n, p) => {
      for (const [k, child] of Object.entries(n.properties ?? {})) if (!child.description) missing.push(`${p}.${k}`);
    });
    assert.deepEqual(missing, []);
  });

  it('closes every mapping except the free-form ones', () => {
    const open: string[] = [];
    everywhere((n, p) => {
      if (n.type === 'object' && n.additionalProperties === undefined && !FREE_FORM.has(p)) open.push(p || '(root)');
    });
    assert.deepEqual(open, []);
  });

  it('explains every pattern in words', () => {
    const unexplained: string[] = [];
    everywhere((n, p) => {
      if (n.pattern && !PATTERN_WORDS[n.pattern]) unexplained.push(`${p}: ${n.pattern}`);
    });
    assert.deepEqual(unexplained, []);
  });

  it('keeps the BCM healthcheck clash out of the default', () => {
    const k = (root.properties!.kubernetes!.properties ?? {}) as Record<string, Node>;
    assert.equal(k.apiserver_healthcheck_port?.default, 8082);
    assert.match(String(k.apiserver_healthcheck_port?.description), /8081 is held by BCM's CMDaemon/);
  });
});

describe('spec reference docs', () => {
  it('docs/cluster-spec.md is the one generated from the schema (run `npm run gen` after editing the schema)', () => {
    assert.equal(readFileSync('docs/cluster-spec.md', 'utf8'), renderSpecDocs());
  });

  it('has a table row per key with type, default and description', () => {
    const docs = renderSpecDocs();
    assert.match(docs, /\| `access\.service_user\.uid` \| integer \| `60000` \| UID/);
    assert.match(docs, /\| `bcm\.endpoint` \| string \(uri\) \| {2}\| \*\*Required\.\*\* Base URL/);
    assert.match(docs, /\| `kubernetes\.dns_domain` \| string \(hostname\) \| `"cluster\.local"` \|/);
    assert.ok(docs.split('\n').filter((l) => l.startsWith('| `')).length > 60, 'a row per key');
  });
});
