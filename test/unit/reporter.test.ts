import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mermaidFlow, table } from '../../actions/lib/report/markdown.ts';
import { MAX_ANNOTATIONS_PER_TYPE, TerminalReporter } from '../../actions/lib/report/reporter.ts';

describe('reporter', () => {
  it('masks every registered secret, line by line for multi-line secrets', () => {
    const lines: string[] = [];
    const r = new TerminalReporter((l) => lines.push(l));
    r.secret('hunter2-password');
    r.secret('-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----');
    r.info('login with hunter2-password failed');
    r.error('key line AAAABBBBCCCC leaked?');
    assert.equal(lines.join('\n').includes('hunter2'), false);
    assert.equal(lines.join('\n').includes('AAAABBBBCCCC'), false);
    assert.match(lines[0]!, /login with \*\*\* failed/);
  });

  it('bounds annotations: past the limit they become plain log lines', () => {
    const r = new TerminalReporter(() => {});
    for (let i = 0; i < MAX_ANNOTATIONS_PER_TYPE + 5; i++) r.warning(`w${i}`);
    assert.deepEqual(r.droppedAnnotations(), { warning: 5, error: 0 });
    assert.equal(r.lines.length, MAX_ANNOTATIONS_PER_TYPE + 5);
  });
});

describe('markdown', () => {
  it('escapes pipes and newlines inside table cells', () => {
    const t = table(['a', 'b'], [['x|y', 'line1\nline2']]);
    assert.equal(t.split('\n')[2], '| x\\|y | line1 line2 |');
  });

  it('draws a Mermaid flow with edges from needs and colours by outcome', () => {
    const m = mermaidFlow([
      { id: 'local-path', label: 'local-path', needs: [], outcome: 'ok' },
      { id: 'ingress-nginx', label: 'ingress', needs: ['local-path'], outcome: 'failed' },
    ]);
    assert.match(m, /local_path --> ingress_nginx/);
    assert.match(m, /style ingress_nginx fill:#f7d4d4/);
    assert.match(m, /^```mermaid\nflowchart LR/);
  });
});
