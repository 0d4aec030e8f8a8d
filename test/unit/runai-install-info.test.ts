// The control plane's install info is parsed, never run: client secret, chart version, --set pairs; an empty
// secret or another cluster's uid is refused, and a Run:ai 3.x answer is named as such.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInstallationString, parseInstallInfo, setsToValues } from '../../actions/lib/runai/install-info.ts';
import { installationString } from '../lab/runai-sim/server.ts';

const UUID = '9f55255e-11ed-47c7-acef-fc4054768dbc';
const doc = (clientSecret: string, version = '2.21.30') => ({
  installationStr: installationString({
    controlPlaneHost: 'runai.example.com',
    clientSecret,
    uuid: UUID,
    clusterHost: 'runai.example.com',
    chartVersion: version,
  }),
  repositoryName: 'runai',
  chartRepoURL: 'https://runai.jfrog.io/artifactory/api/helm/run-ai-charts',
  clientSecret,
});

describe('Run:ai install info', () => {
  it('reads the --set pairs and the exact --version of the documented installation string', () => {
    const { sets, version } = parseInstallationString(doc('Qk3v9ZyXbT1sLmN0pR7aW2cD4eF6gH8j').installationStr);
    assert.deepEqual(sets, {
      'controlPlane.url': 'runai.example.com',
      'controlPlane.clientSecret': 'Qk3v9ZyXbT1sLmN0pR7aW2cD4eF6gH8j',
      'cluster.uid': UUID,
      'cluster.url': 'runai.example.com',
    });
    assert.equal(version, '2.21.30');
  });

  it('reads comma-joined pairs, --set-string and Helm typing into nested values', () => {
    const { sets, strings } = parseInstallationString(
      'helm upgrade -i runai-cluster runai/runai-cluster --set a.b=1,a.c=true --set-string a.d=007 --set "e.f=x y" --set g=0.5',
    );
    assert.deepEqual(sets, { 'a.b': '1', 'a.c': 'true', 'a.d': '007', 'e.f': 'x y', g: '0.5' });
    assert.deepEqual(setsToValues(sets, strings), { a: { b: 1, c: true, d: '007' }, e: { f: 'x y' }, g: '0.5' });
  });

  it('gives the client secret, chart version and repository', () => {
    const info = parseInstallInfo(doc('Qk3v9ZyXbT1sLmN0pR7aW2cD4eF6gH8j'), UUID, 'dgx');
    assert.equal(info.clientSecret, 'Qk3v9ZyXbT1sLmN0pR7aW2cD4eF6gH8j');
    assert.equal(info.chartVersion, '2.21.30');
    assert.equal(info.chartRepoURL, 'https://runai.jfrog.io/artifactory/api/helm/run-ai-charts');
  });

  it('takes the secret from the installation string when the field is empty', () => {
    const d = { ...doc('from-the-string'), clientSecret: '' };
    assert.equal(parseInstallInfo(d, UUID, 'dgx').clientSecret, 'from-the-string');
  });

  it('refuses an empty client secret, naming the cluster', () => {
    assert.throws(
      () => parseInstallInfo(doc(''), UUID, 'dgx'),
      /no client secret for cluster 'dgx' \(9f55255e-.*refusing to install runai-cluster with an empty secret/,
    );
  });

  it('says so when a 3.x control plane sends a bootstrap token instead', () => {
    assert.throws(
      () => parseInstallInfo({ installationStr: 'helm upgrade -i runai-cluster', bootstrapToken: 'jwt' }, UUID, 'dgx'),
      /Run:ai 3\.x control plane/,
    );
  });

  it("refuses install info that names another cluster's uid", () => {
    const d = doc('s');
    d.installationStr = d.installationStr.replace(UUID, '00000000-0000-0000-0000-000000000000');
    assert.throws(() => parseInstallInfo(d, UUID, 'dgx'), /names cluster\.uid 00000000-.*not 9f55255e/);
  });
});
