// The probe's nvidia-smi parser against real output captured on an H100 and an H200 (test/fixtures/gpu/).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { GPU_QUERY_ARGS, parseGpuQuery } from '../../actions/lib/nodes/gpu.ts';
import { shellCommand, shellQuote, validUsername } from '../../actions/lib/ssh/quote.ts';

const fixture = (dir: string, file: string) => readFileSync(`test/fixtures/gpu/${dir}/${file}`, 'utf8');

describe('nvidia-smi probe parser (real captures)', () => {
  it('the probe query is the one captured on the H200', () => {
    assert.equal(
      GPU_QUERY_ARGS.join(' '),
      '--query-gpu=index,name,uuid,pci.bus_id,memory.total,driver_version,mig.mode.current,compute_cap --format=csv,noheader,nounits',
    );
  });

  it('reads the H200 capture', () => {
    const r = parseGpuQuery(fixture('h200-141gb-driver-580', 'probe-query.csv'));
    assert.deepEqual(r.problems, []);
    assert.equal(r.driverVersion, '580.159.04');
    assert.deepEqual(r.gpus, [
      {
        index: 0,
        name: 'NVIDIA H200',
        uuid: 'GPU-ae5ce889-9adf-b521-b03b-2028857a64c1',
        busId: '00000000:00:06.0',
        memoryMiB: 143771,
        migMode: 'Disabled',
        computeCap: '9.0',
      },
    ]);
  });

  it('reads an 8-GPU DGX built from the H100 capture lines', () => {
    const line = fixture('h100-80gb-driver-580', 'query-gpu-noheader.csv').trim().split(', ');
    // the H100 capture lacks bus id and compute capability columns; rebuild the probe's column order from its values
    const rows = Array.from({ length: 8 }, (_, i) =>
      [i, line[1], line[2]!.replace(/.$/, String(i)), `00000000:${(0x18 + i).toString(16)}:00.0`, line[3], line[4], line[5], '9.0'].join(
        ', ',
      ),
    );
    const r = parseGpuQuery(`${rows.join('\n')}\n`);
    assert.equal(r.gpus.length, 8);
    assert.ok(r.gpus.every((g) => g.name === 'NVIDIA H100 80GB HBM3' && g.memoryMiB === 81559));
    assert.equal(r.driverVersion, '580.159.04');
  });

  it('reports malformed lines and mixed drivers instead of guessing', () => {
    const r = parseGpuQuery(
      '0, NVIDIA H200, GPU-a, 0:0:6.0, 143771, 580.159.04, Disabled, 9.0\n1, NVIDIA H200, GPU-b, 0:0:7.0, 143771, 550.54.15, Disabled, 9.0\nField "bogus" is not a valid field to query.\n',
    );
    assert.equal(r.gpus.length, 2);
    assert.match(r.problems.join('\n'), /line 3: expected 8 fields/);
    assert.match(r.problems.join('\n'), /different driver versions: 580\.159\.04, 550\.54\.15/);
  });
});

describe('remote command quoting', () => {
  it('quotes shell metacharacters so they stay data', () => {
    assert.equal(shellQuote('plain-1.2'), 'plain-1.2');
    assert.equal(shellQuote("a'b; rm -rf /"), `'a'\\''b; rm -rf /'`);
    assert.equal(shellCommand(['id', '-u', '$(reboot)']), `id -u '$(reboot)'`);
    assert.throws(() => shellQuote('a\0b'), /NUL/);
  });
  it('validates user names before they reach a shell', () => {
    assert.equal(validUsername('ansiblebcm', 'access.service_user.name'), 'ansiblebcm');
    assert.throws(
      () => validUsername('bob;reboot', 'access.service_user.name'),
      /access\.service_user\.name: 'bob;reboot' is not a valid user name/,
    );
  });
});
