import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonArraySplitter } from '../../actions/lib/bcm/json-stream.ts';

function split(text: string, chunkSize: number): unknown[] {
  const out: unknown[] = [];
  const s = new JsonArraySplitter((v) => out.push(v));
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += chunkSize) s.push(buf.subarray(i, i + chunkSize));
  s.end();
  return out;
}

describe('streamed JSON array splitting', () => {
  const value = [{ a: '[x],"}' }, [1, [2, { b: 'q\\"]' }]], null, 7, 'str,]', true, { nested: { deep: ['ü', '€'] } }];
  it("yields exactly JSON.parse's elements at every chunk size, brackets and escapes inside strings included", () => {
    const text = ` ${JSON.stringify(value, null, 1)} \n`;
    for (const size of [1, 2, 3, 5, 7, 64, 4096]) assert.deepEqual(split(text, size), value, `chunk size ${size}`);
    assert.deepEqual(split('[]', 1), []);
  });
  it('refuses what is not one complete array', () => {
    assert.throws(() => split('[{"a":1},{"b"', 3), /cut short/);
    assert.throws(() => split('{"errormessage":"x"}', 4), /not a JSON array/);
    assert.throws(() => split('[1] [2]', 2), /after the end/);
    assert.throws(() => split('[1,,2]', 2), /empty element|Unexpected/);
  });
});
