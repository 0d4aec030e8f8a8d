// What the Run:ai charts and the cluster receive: one values object per chart (user overrides merged in, no
// `--set`), and the namespaces and secrets phase backend applies, with the names and labels the charts look for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { backendObjects, CA_LABELS, describeObject, dockerConfigJson, secretData } from '../../actions/lib/runai/objects.ts';
import { backendIssuer, backendValues, clusterValues, controlPlaneUrl, valueKeys, valuesYaml } from '../../actions/lib/runai/values.ts';

const backend = (over: Partial<Parameters<typeof backendValues>[0]> = {}) =>
  backendValues({
    domain: 'runai.example.com',
    url: 'https://runai.example.com:30443',
    customCA: true,
    adminUser: 'admin@example.com',
    adminPassword: 'Sup3r-Secret!',
    ingressClass: 'nginx',
    ...over,
  }) as Record<string, any>;

describe('Run:ai values', () => {
  it('control plane: a port-less domain, the custom CA, the admin, the pull secret, the ingress class', () => {
    const v = backend();
    assert.equal(v.global.domain, 'runai.example.com');
    assert.deepEqual(v.global.customCA, { enabled: true });
    assert.deepEqual(v.global.imagePullSecrets, [{ name: 'runai-reg-creds' }]);
    assert.deepEqual(v.global.ingress, { tlsSecretName: 'runai-backend-tls', ingressClass: 'nginx' });
    assert.deepEqual(v.tenantsManager.config, { adminUsername: 'admin@example.com', adminPassword: 'Sup3r-Secret!' });
  });

  it('behind a NodePort, Keycloak advertises an issuer with the port (as a YAML string); on 443 nothing is added', () => {
    const env = yaml.load(backend().keycloakx.extraEnv) as Array<{ name: string; value: string }>;
    assert.deepEqual(env, [
      { name: 'KC_HOSTNAME', value: 'https://runai.example.com:30443/auth' },
      { name: 'KC_HOSTNAME_STRICT', value: 'false' },
    ]);
    assert.equal(backend({ url: 'https://runai.example.com' }).keycloakx, undefined);
  });

  it('the issuer the backend validates: the port-less domain on 443, the NodePort endpoint behind one', () => {
    const onNodePort = backend();
    assert.equal(onNodePort.global.keycloakExternalEndpoint, 'runai.example.com:30443');
    assert.deepEqual(onNodePort.clusterService, { keycloakExternalEndpoint: 'runai.example.com:30443' });
    assert.equal(backendIssuer(onNodePort), 'https://runai.example.com:30443/auth/realms/runai');
    const on443 = backend({ url: 'https://runai.example.com' });
    assert.equal(on443.global.keycloakExternalEndpoint, undefined);
    assert.equal(backendIssuer(on443), 'https://runai.example.com/auth/realms/runai');
  });

  it("the user's overrides merge key by key over the derived values", () => {
    const v = backend({
      overrides: { global: { ingress: { ingressClass: 'haproxy' } }, postgresql: { primary: { persistence: { size: '50Gi' } } } },
    });
    assert.deepEqual(v.global.ingress, { tlsSecretName: 'runai-backend-tls', ingressClass: 'haproxy' });
    assert.equal(v.global.domain, 'runai.example.com');
    assert.equal(v.postgresql.primary.persistence.size, '50Gi');
  });

  it('cluster chart: every --set of the install command as the control plane wrote it, only what it leaves out added', () => {
    const installValues = {
      controlPlane: { url: 'runai.example.com', clientSecret: 'from-the-command' },
      cluster: { uid: '9f55255e-11ed-47c7-acef-fc4054768dbc', url: 'runai.example.com' },
      global: { customCA: { enabled: true } },
      extra: { fromControlPlane: 7 },
    };
    const v = clusterValues({
      installValues,
      domain: 'runai.example.com',
      clientSecret: 'c-secret',
      clusterUid: '9f55255e-11ed-47c7-acef-fc4054768dbc',
      customCA: false,
    });
    assert.deepEqual(v, installValues, 'nothing the command set is replaced, https:// and a port are never added');
    const gaps = clusterValues({
      installValues: { cluster: { uid: '9f55255e-11ed-47c7-acef-fc4054768dbc' } },
      domain: 'runai.example.com',
      clientSecret: 'c-secret',
      clusterUid: '9f55255e-11ed-47c7-acef-fc4054768dbc',
      customCA: true,
      overrides: { cluster: { url: 'cluster.example.com' } },
    });
    assert.deepEqual(gaps, {
      controlPlane: { url: 'runai.example.com', clientSecret: 'c-secret' },
      cluster: { uid: '9f55255e-11ed-47c7-acef-fc4054768dbc', url: 'cluster.example.com' },
      global: { customCA: { enabled: true } },
    });
  });

  it('one YAML document with each key once; the summary lists key names only', () => {
    const text = valuesYaml(backend(), 'test');
    const lines = text.split('\n').filter((l) => /^\S[^:]*:/.test(l));
    assert.deepEqual(
      lines.map((l) => l.split(':')[0]),
      ['global', 'tenantsManager', 'keycloakx', 'clusterService'],
    );
    assert.deepEqual(yaml.load(text), backend());
    const keys = valueKeys(backend());
    assert.ok(keys.includes('tenantsManager.config.adminPassword'));
    assert.equal(keys.join(' ').includes('Sup3r-Secret!'), false);
  });

  it('the control-plane URL: the domain with the ingress port, 443 left out, runai.url as given', () => {
    assert.equal(controlPlaneUrl('runai.example.com', 30443), 'https://runai.example.com:30443');
    assert.equal(controlPlaneUrl('runai.example.com', 443), 'https://runai.example.com');
    assert.equal(controlPlaneUrl('runai.example.com', 30443, 'https://10.0.0.5:8443/'), 'https://10.0.0.5:8443');
  });
});

describe('Run:ai namespaces and secrets (phase backend)', () => {
  const tls = { certChain: 'CERT', key: 'KEY', ca: 'CA' };
  const objects = backendObjects({
    namespaceLabels: {
      backend: { 'pod-security.kubernetes.io/enforce': 'privileged' },
      cluster: { 'pod-security.kubernetes.io/enforce': 'privileged' },
    },
    dockerConfig: dockerConfigJson('jfrog-token'),
    tls,
  });

  it('namespaces first, then the pull secret in both, the TLS secrets, the CA in both', () => {
    assert.deepEqual(objects.map(describeObject), [
      'Namespace runai-backend',
      'Namespace runai',
      'Secret runai-backend/runai-reg-creds',
      'Secret runai/runai-reg-creds',
      'Secret runai-backend/runai-backend-tls',
      'Secret runai/runai-cluster-domain-tls-secret',
      'Secret runai-backend/runai-ca-cert',
      'Secret runai/runai-ca-cert',
    ]);
    assert.deepEqual(objects[0]!.metadata.labels, { 'pod-security.kubernetes.io/enforce': 'privileged' });
    assert.deepEqual(
      objects.map((o) => o.type ?? ''),
      [
        '',
        '',
        'kubernetes.io/dockerconfigjson',
        'kubernetes.io/dockerconfigjson',
        'kubernetes.io/tls',
        'kubernetes.io/tls',
        'Opaque',
        'Opaque',
      ],
    );
  });

  it('the CA secret carries runai-ca.pem and the labels the cluster chart selects on', () => {
    const ca = objects.at(-1)!;
    assert.deepEqual(ca.metadata.labels, CA_LABELS);
    assert.deepEqual(CA_LABELS, { 'run.ai/cluster-wide': 'true', 'run.ai/name': 'runai-ca-cert' });
    assert.deepEqual(secretData(JSON.stringify(ca)), { 'runai-ca.pem': 'CA' });
  });

  it("the pull secret is a dockerconfigjson for runai.jfrog.io with NVIDIA's puller user", () => {
    const data = secretData(JSON.stringify(objects[2]))!;
    const auths = JSON.parse(data['.dockerconfigjson']!).auths;
    assert.deepEqual(Object.keys(auths), ['runai.jfrog.io']);
    assert.equal(auths['runai.jfrog.io'].username, 'self-hosted-image-puller-prod');
    assert.equal(auths['runai.jfrog.io'].password, 'jfrog-token');
    assert.equal(Buffer.from(auths['runai.jfrog.io'].auth, 'base64').toString(), 'self-hosted-image-puller-prod:jfrog-token');
  });

  it('a publicly trusted certificate: no CA secret', () => {
    const plain = backendObjects({ namespaceLabels: { backend: {}, cluster: {} }, dockerConfig: '{}', tls: { certChain: 'C', key: 'K' } });
    assert.equal(plain.filter((o) => o.metadata.name === 'runai-ca-cert').length, 0);
  });
});
