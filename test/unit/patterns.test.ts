import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  expandPattern,
  isGlob,
  isRangePattern,
  matchSelector,
  MAX_EXPANSION,
  selectorToString,
} from '../../actions/lib/config/patterns.ts';

describe('range patterns', () => {
  it('expands a zero-padded range keeping its width', () => {
    assert.deepEqual(expandPattern('dgx-[01-03]'), ['dgx-01', 'dgx-02', 'dgx-03']);
    assert.deepEqual(expandPattern('dgx-[098-101]'), ['dgx-098', 'dgx-099', 'dgx-100', 'dgx-101']);
    assert.deepEqual(expandPattern('dgx-[08-10]'), ['dgx-08', 'dgx-09', 'dgx-10']);
  });

  it('writes unpadded ranges plainly', () => {
    assert.deepEqual(expandPattern('n[1-3]'), ['n1', 'n2', 'n3']);
    assert.deepEqual(expandPattern('n[8-10]'), ['n8', 'n9', 'n10']);
    assert.deepEqual(expandPattern('n[0-2]'), ['n0', 'n1', 'n2']);
  });

  it('expands several ranges in order, with text between and after', () => {
    assert.deepEqual(expandPattern('rack[1-2]-dgx[01-02]'), ['rack1-dgx01', 'rack1-dgx02', 'rack2-dgx01', 'rack2-dgx02']);
    assert.deepEqual(expandPattern('dgx-[1-2].lab'), ['dgx-1.lab', 'dgx-2.lab']);
  });

  it('leaves a literal hostname alone, and a one-element range is one name', () => {
    assert.deepEqual(expandPattern('cpu-03'), ['cpu-03']);
    assert.deepEqual(expandPattern('dgx-[05-05]'), ['dgx-05']);
  });

  it('refuses backwards ranges, bad syntax and huge expansions with a reason', () => {
    assert.throws(() => expandPattern('dgx-[08-01]'), /runs backwards; write \[01-08\]/);
    for (const bad of ['dgx-[01-08', 'dgx-01-08]', 'dgx-[]', 'dgx-[a-c]', 'dgx-[1,3]', 'dgx-[[1-2]]'])
      assert.throws(() => expandPattern(bad), /a range is written \[first-last\]/, bad);
    assert.throws(() => expandPattern(`n[1-${MAX_EXPANSION + 1}]`), /expands to 10001 names; at most 10000/);
    assert.throws(() => expandPattern('a[1-101]-b[1-100]'), /expands to 10100 names/);
    assert.equal(expandPattern(`n[1-${MAX_EXPANSION}]`).length, MAX_EXPANSION);
  });

  it('tells ranges and globs apart', () => {
    assert.ok(isRangePattern('dgx-[01-08]'));
    assert.ok(!isRangePattern('dgx-01'));
    assert.ok(isGlob('dgx-*'));
    assert.ok(isGlob('dgx-0?'));
    assert.ok(!isGlob('dgx-[01-08]'));
  });
});

describe('matching selectors against BCM hostnames', () => {
  it('matches globs against the whole hostname', () => {
    assert.ok(matchSelector('dgx-*', 'dgx-05'));
    assert.ok(matchSelector('dgx-*', 'dgx-'));
    assert.ok(!matchSelector('dgx-*', 'cpu-dgx-05'), 'anchored at the start');
    assert.ok(matchSelector('dgx-0?', 'dgx-05'));
    assert.ok(!matchSelector('dgx-0?', 'dgx-105'));
    assert.ok(!matchSelector('dgx-0?', 'dgx-0'), '? is exactly one character');
    assert.ok(!matchSelector('dgx.*', 'dgxX05'), "'.' is literal");
    assert.ok(matchSelector('*.lab', 'dgx-01.lab'));
  });

  it('matches ranges and literals exactly', () => {
    assert.ok(matchSelector('dgx-[05-06]', 'dgx-06'));
    assert.ok(!matchSelector('dgx-[05-06]', 'dgx-6'), 'the padding is part of the name');
    assert.ok(!matchSelector('dgx-[05-06]', 'dgx-07'));
    assert.ok(matchSelector('cpu-03', 'cpu-03'));
    assert.ok(!matchSelector('cpu-03', 'cpu-033'));
  });

  it('matches a category by BCM category name only', () => {
    assert.ok(matchSelector({ category: 'dgx-h100' }, 'anything', 'dgx-h100'));
    assert.ok(!matchSelector({ category: 'dgx-h100' }, 'dgx-h100', 'default'));
    assert.ok(!matchSelector({ category: 'dgx-h100' }, 'dgx-01', undefined));
  });

  it('describes selectors for messages', () => {
    assert.equal(selectorToString('dgx-[01-08]'), "'dgx-[01-08]'");
    assert.equal(selectorToString({ category: 'dgx-h100' }), "category 'dgx-h100'");
  });
});
