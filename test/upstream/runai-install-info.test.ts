// The install-info parser on install commands real Run:ai control planes generated (upstream/runai/install-strings,
// cluster-install-info): it yields the values each control plane set, and runai-cluster gets exactly those.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseInstallationString, parseInstallInfo } from '../../actions/lib/runai/install-info.ts';
import { clusterValues } from '../../actions/lib/runai/values.ts';
import { installationString } from '../lab/runai-sim/server.ts';
import { OpenApi } from './openapi.ts';
import { readUpstream, readUpstreamJson, upstreamPath } from './upstream.ts';

/** What a person reads in each file. */
const EXPECTED: Record<string, { sets: Record<string, string>; version: string }> = {
  '2.21.4-runai-installer.txt': {
    sets: {
      'controlPlane.url': 'michal.jordan.com',
      'controlPlane.clientSecret': 'CANARYsecretXKCl0000000000000000',
      'cluster.uid': '5686ac7b-f8ed-4534-83c8-153ea3540505',
      'cluster.url': 'michal.jordan.com',
    },
    version: '2.21.4',
  },
  '2.20.22-runai-installer.txt': {
    sets: {
      'controlPlane.url': 'single-dgx.kirson.lab',
      'controlPlane.clientSecret': 'CANARYsecretaFgn0000000000000000',
      'cluster.uid': '83faa5e0-d8d2-4cdc-8e97-8d3851b74fbd',
      'cluster.url': 'single-dgx.kirson.lab',
    },
    version: '2.20.22',
  },
  // the docs author added blank lines and a trailing --set
  '2.19.83-run-ai-docs.txt': {
    sets: {
      'controlPlane.url': 'bcm-runai-1.nvidia.com',
      'controlPlane.clientSecret': 'CANARYsecretOWQ60000000000000000',
      'cluster.uid': 'ead9ef4d-675b-47af-9e1a-2908857552ec',
      'cluster.url': 'bcm-runai-1.nvidia.com',
      'global.customCA.enabled': 'true',
    },
    version: '2.19.83',
  },
};

describe('Run:ai install info: real control planes', () => {
  const files = readdirSync(upstreamPath('runai', 'install-strings')).sort();

  it('every install string upstream has an expectation here', () => {
    assert.deepEqual(files, Object.keys(EXPECTED).sort());
  });

  for (const file of files) {
    it(`${file}: every --set and the version, as the control plane wrote them; runai-cluster gets exactly those`, () => {
      const text = readUpstream('runai', 'install-strings', file);
      const want = EXPECTED[file]!;
      const parsed = parseInstallationString(text);
      assert.deepEqual(parsed.sets, want.sets);
      assert.equal(parsed.version, want.version);
      const uid = want.sets['cluster.uid']!;
      const info = parseInstallInfo({ installationStr: text, clientSecret: '' }, uid, 'dgx');
      assert.equal(info.clientSecret, want.sets['controlPlane.clientSecret']);
      assert.equal(info.chartVersion, want.version);
      const values = clusterValues({
        installValues: info.values,
        domain: 'not-used.example.com',
        clientSecret: 'not-used',
        clusterUid: uid,
        customCA: false,
      }) as Record<string, any>;
      assert.equal(values.controlPlane.url, want.sets['controlPlane.url'], 'the bare host name, no https://, no port');
      assert.equal(values.cluster.url, want.sets['cluster.url']);
      assert.equal(values.cluster.uid, uid);
      assert.equal(values.controlPlane.clientSecret, want.sets['controlPlane.clientSecret']);
      assert.equal(
        values.global.customCA.enabled,
        want.sets['global.customCA.enabled'] === 'true',
        'added only when the command leaves it out',
      );
    });
  }

  it('the cluster-install-info answers validate against ClusterInstallationInfoResponse and parse like their strings', () => {
    const api = new OpenApi(readUpstreamJson('runai', 'openapi-2.21.json'));
    for (const file of readdirSync(upstreamPath('runai', 'cluster-install-info')).sort()) {
      const body = readUpstreamJson<Record<string, string>>('runai', 'cluster-install-info', file);
      assert.deepEqual(api.check({ $ref: '#/components/schemas/ClusterInstallationInfoResponse' }, body), [], file);
      const { sets } = parseInstallationString(body.installationStr!);
      const info = parseInstallInfo(body, sets['cluster.uid']!, 'dgx');
      assert.equal(info.clientSecret, body.clientSecret, file);
      assert.equal(info.chartRepoURL, body.chartRepoURL);
      assert.equal(info.chartVersion, file.split('-')[0]);
    }
  });

  it("the simulator's install string has the real 2.21.4 command's shape, value for value", () => {
    const real = readUpstream('runai', 'install-strings', '2.21.4-runai-installer.txt');
    const sets = EXPECTED['2.21.4-runai-installer.txt']!.sets;
    const ours = installationString({
      controlPlaneHost: sets['controlPlane.url']!,
      clientSecret: sets['controlPlane.clientSecret']!,
      uuid: sets['cluster.uid']!,
      clusterHost: sets['cluster.url']!,
      chartVersion: '2.21.4',
    });
    assert.equal(ours, real);
  });
});
