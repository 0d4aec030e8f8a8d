// The action.yml files, the bundles in dist/, and the stage catalog agree; every bundle starts under Node 24.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { renderActionYml } from '../../actions/lib/stages/action-yml.ts';
import { STAGES } from '../../actions/lib/stages/catalog.ts';
import { tempDir } from '../temp-dirs.ts';

function runBundle(name: string, env: Record<string, string>, args: string[] = []) {
  const dir = tempDir(`bundle-${name}-`);
  const output = join(dir, 'output');
  const summary = join(dir, 'summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INPUT_')));
  const r = spawnSync(process.execPath, [`dist/${name}/index.js`, ...args], {
    env: { ...clean, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { ...r, outputFile: readFileSync(output, 'utf8'), summaryFile: readFileSync(summary, 'utf8') };
}

describe('actions', () => {
  for (const stage of STAGES) {
    describe(stage.action, () => {
      it('action.yml is the one generated from the catalog (run `npm run gen` after editing it)', () => {
        assert.equal(readFileSync(`actions/${stage.action}/action.yml`, 'utf8'), renderActionYml(stage));
      });

      it('declares node24 and points at its bundle, which exists with an ESM package.json', () => {
        const doc = yaml.load(readFileSync(`actions/${stage.action}/action.yml`, 'utf8')) as {
          runs: { using: string; main: string };
          inputs: Record<string, { description: string }>;
        };
        assert.equal(doc.runs.using, 'node24');
        assert.equal(doc.runs.main, `../../dist/${stage.action}/index.js`);
        assert.ok(statSync(`dist/${stage.action}/index.js`).size > 1000);
        assert.deepEqual(JSON.parse(readFileSync(`dist/${stage.action}/package.json`, 'utf8')), { type: 'module' });
        for (const [name, input] of Object.entries(doc.inputs)) assert.ok(input.description.length > 10, `input ${name} is described`);
      });

      it('bundle starts under Node 24 and fails cleanly when the required spec input is missing', () => {
        const r = runBundle(stage.action, {});
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stdout, /::error::input 'spec' is required: the path of the cluster spec/);
        assert.doesNotMatch(r.stdout + r.stderr, /at .*\.js:\d+/, 'no stack trace');
      });
    });
  }

  it('the runai bundle reads its inputs and names a bad phase', () => {
    const r = runBundle('runai', { INPUT_SPEC: 'clusters/example.yaml', INPUT_PLAN: 'true', INPUT_PHASE: 'both' });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /::error::input 'phase' must be one of backend, cluster, got 'both'/);
  });

  it('masks every secret input the catalog declares, wherever its value would appear', () => {
    const canary = 'canary-Secret-4f9a1c';
    const r = runBundle('runai', { 'INPUT_JFROG-TOKEN': canary, INPUT_SPEC: canary });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /::error::cannot read the cluster spec '\*\*\*'/);
    assert.equal(r.stdout.replace(/::add-mask::.*\n/g, '').includes(canary), false);
  });

  it('a bad boolean input is named', () => {
    const r = runBundle('discover-nodes', { INPUT_SPEC: 'clusters/lab.yaml', INPUT_PLAN: 'maybe' });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /input 'plan' must be true or false, got 'maybe'/);
  });

  it('the CLI bundle starts and prints usage', () => {
    const r = spawnSync(process.execPath, ['dist/cli/index.js', '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /usage: bcmkube <command>/);
    assert.equal(process.versions.node.split('.')[0], '24');
  });
});
