// Bad-input fuzzing of the cluster spec: over a thousand malformed specs from a seeded generator, through
// parseSpec and through the real CLI under Node 24; and proof that the values the schema accepts despite shell
// metacharacters are quoted wherever a remote command is built (run in a real bash and sh, with canary files).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { parseSpec, printable, SpecError, type LoadedSpec } from '../../actions/lib/config/load.ts';
import type { ClusterSpec } from '../../actions/lib/config/types.ts';
import type { Inventory } from '../../actions/lib/inventory/types.ts';
import { kubesprayVars, renderKubespray } from '../../actions/lib/kubespray/render.ts';
import { convergeScript } from '../../actions/lib/nodes/converge.ts';
import { probeScript } from '../../actions/lib/nodes/probe.ts';
import { shellQuote } from '../../actions/lib/ssh/quote.ts';
import { UsageError } from '../../actions/lib/util/errors.ts';
import { CANARY_PREFIX, countByCategory, generateCases, metacharPayloads, type FuzzCase } from './spec-generator.ts';
import type { BatchResult } from './validate-batch.ts';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const SEED = Number(process.env.BCMKUBE_FUZZ_SEED ?? 20_260_510);
console.log(`spec fuzz seed: ${SEED} (BCMKUBE_FUZZ_SEED=${SEED} replays these cases)`);
const { cases } = generateCases(SEED);
const dir = mkdtempSync(join(tmpdir(), 'spec-fuzz-'));

/** A refusal names the expected path itself or something inside it. */
const names = (problemPath: string, expected: string) =>
  problemPath === expected || problemPath.startsWith(`${expected}.`) || problemPath.startsWith(`${expected}[`);
/** File-level problems (YAML syntax, size, shape) say where: a line:column, or what the whole file lacks. */
const FILE_LEVEL = /\(\d+:\d+\)|must be a YAML mapping|larger than \d+ bytes|single document|input is empty/;
/** What a terminal or a log must never receive raw from a spec value. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;
const STACK = /^\s+at .+:\d+:\d+\)?$|\b(TypeError|RangeError|ReferenceError|SyntaxError):/m;

type Outcome = { accepted: LoadedSpec } | { refused: SpecError };
const outcomes = new Map<string, Outcome>();
function outcome(c: FuzzCase): Outcome {
  let o = outcomes.get(c.id);
  if (!o) {
    try {
      o = { accepted: parseSpec(c.bytes.toString('utf8'), `${c.id}.yaml`) };
    } catch (err) {
      if (!(err instanceof SpecError)) throw new Error(`${c.id}: parseSpec threw ${(err as Error).stack}`);
      o = { refused: err };
    }
    outcomes.set(c.id, o);
  }
  return o;
}

/** What is wrong with a CLI answer to a case, or undefined when it is right. */
function judgeCli(c: FuzzCase, code: number | null, out: string): string | undefined {
  if (STACK.test(out)) return `stack trace or raw JS error in the output`;
  if (c.secret && c.planted && out.includes(c.planted)) return 'the secret is shown';
  if (RAW_CONTROL.test(out)) return `a raw control/bidi character in the output: ${JSON.stringify(RAW_CONTROL.exec(out)![0])}`;
  const long = out.split('\n').find((l) => l.length > 1400);
  if (long) return `an output line of ${long.length} characters`;
  if (code === 0)
    return c.expect === 'invalid'
      ? 'exit 0 for an invalid spec'
      : /valid spec for cluster/.test(out)
        ? undefined
        : 'exit 0 without saying valid';
  if (code !== 2) return `exit ${code}`;
  if (c.path === '') return /✗ \(spec\): /.test(out) && FILE_LEVEL.test(out) ? undefined : 'no file-level problem with a line';
  const shown = printable(c.path, 200).slice(0, 80);
  return out.includes(`✗ ${shown}`) ? undefined : `the output does not name ${shown}`;
}

/** Up to `per` cases of each category (every case of small ones), seeded by the case list itself. */
function stratified(per: number): FuzzCase[] {
  const byCategory = new Map<string, FuzzCase[]>();
  for (const c of cases) byCategory.set(c.category, [...(byCategory.get(c.category) ?? []), c]);
  return [...byCategory.values()].flatMap((list) => {
    const step = Math.max(1, list.length / per);
    return Array.from({ length: Math.min(per, list.length) }, (_, i) => list[Math.floor(i * step)]!);
  });
}

function writeCase(c: FuzzCase): string {
  const file = join(dir, 'specs', `${c.id}.yaml`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, c.bytes);
  return file;
}

const canaries = () => readdirSync(dirname(CANARY_PREFIX)).filter((f) => f.startsWith(basename(CANARY_PREFIX)));

describe(`cluster spec fuzzing (seed ${SEED})`, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the generator is deterministic: the same seed gives the same cases, another seed others', () => {
    const again = generateCases(SEED).cases;
    assert.equal(again.length, cases.length);
    assert.ok(
      again.every((c, i) => c.id === cases[i]!.id && c.bytes.equals(cases[i]!.bytes)),
      'same seed, same bytes',
    );
    const other = generateCases(SEED + 1).cases;
    assert.ok(other.some((c, i) => !c.bytes.equals(cases[i]?.bytes ?? Buffer.alloc(0))));
  });

  it('makes over a thousand certainly-invalid specs, of every kind the issue names', () => {
    const counts = countByCategory(cases);
    console.log(
      `spec fuzz cases: ${cases.length} (${Object.entries(counts)
        .map(([k, v]) => `${k} ${v.total}/${v.invalid} invalid`)
        .join(', ')})`,
    );
    assert.ok(cases.filter((c) => c.expect === 'invalid').length >= 1000);
    for (const category of [
      'wrong-type',
      'missing',
      'unknown-key',
      'bad-cidr',
      'overlap',
      'roles',
      'huge',
      'empty',
      'unicode',
      'metachar',
      'yaml',
      'secret',
    ])
      assert.ok((counts[category]?.invalid ?? 0) >= 10, `${category}: at least 10 invalid cases`);
  });

  it('parseSpec refuses every invalid spec naming the field (or the line), quickly, never crashing or showing a secret', () => {
    const wrong: string[] = [];
    for (const c of cases) {
      const started = performance.now();
      const o = outcome(c);
      const ms = performance.now() - started;
      if (ms > 2000) wrong.push(`${c.id}: took ${Math.round(ms)} ms`);
      if ('accepted' in o) {
        if (c.expect === 'invalid') wrong.push(`${c.id}: accepted (${c.path})`);
        continue;
      }
      const errors = o.refused.problems.filter((p) => p.severity === 'error');
      if (!errors.length) wrong.push(`${c.id}: refused without an error`);
      if (c.path === '' ? !errors.some((p) => p.path === '' && FILE_LEVEL.test(p.message)) : !errors.some((p) => names(p.path, c.path)))
        wrong.push(`${c.id}: does not name ${c.path || 'a line'}: ${errors.map((p) => p.path).join(', ')}`);
      if (c.secret && o.refused.message.includes(c.planted!)) wrong.push(`${c.id}: shows the secret`);
      if (RAW_CONTROL.test(o.refused.message)) wrong.push(`${c.id}: raw control character in the message`);
      if (o.refused.message.split('\n').some((l) => l.length > 1400)) wrong.push(`${c.id}: a message line over 1400 characters`);
    }
    assert.deepEqual(wrong, []);
  });

  it('the real CLI under Node 24 (batched through its entry) exits 2 naming the field for several hundred sampled specs', async () => {
    const sample = stratified(40);
    assert.ok(sample.length >= 300, `${sample.length} sampled`);
    const list = join(dir, 'batch.txt');
    writeFileSync(list, sample.map(writeCase).join('\n'));
    const result = join(dir, 'batch.json');
    await exec('bash', [join(ROOT, 'scripts/node24.sh'), join(ROOT, 'test/fuzz/validate-batch.ts'), list, result], {
      cwd: ROOT,
      maxBuffer: 64 << 20,
      timeout: 120_000,
    });
    const results = JSON.parse(readFileSync(result, 'utf8')) as BatchResult[];
    assert.equal(results.length, sample.length);
    const wrong = results
      .map((r, i) => {
        const c = sample[i]!;
        if (r.crash) return `${c.id}: main threw: ${r.crash.split('\n')[0]}`;
        const accepted = 'accepted' in outcome(c);
        if (accepted !== (r.code === 0)) return `${c.id}: CLI exit ${r.code}, parseSpec ${accepted ? 'accepted' : 'refused'}`;
        const why = judgeCli(c, r.code, r.out);
        return why && `${c.id}: ${why}`;
      })
      .filter(Boolean);
    assert.deepEqual(wrong, []);
  });

  it('`bcmkube validate` as separate processes: exit 2, no signal, no stack trace, for one case of each kind and the nastiest', async () => {
    const picks = [
      ...stratified(1),
      ...['yaml', 'huge', 'secret', 'unicode'].map((k) => cases.filter((c) => c.category === k && c.expect === 'invalid').at(-1)!),
    ];
    const run = async (c: FuzzCase) => {
      const file = writeCase(c);
      try {
        const r = await exec('bash', [join(ROOT, 'scripts/node24.sh'), join(ROOT, 'actions/lib/cli/main.ts'), 'validate', '--spec', file], {
          cwd: ROOT,
          timeout: 60_000,
          maxBuffer: 64 << 20,
        });
        return { c, code: 0, signal: null, out: r.stdout + r.stderr };
      } catch (err) {
        const e = err as { code?: number; signal?: string | null; stdout?: string; stderr?: string };
        return { c, code: e.code ?? null, signal: e.signal ?? null, out: (e.stdout ?? '') + (e.stderr ?? '') };
      }
    };
    const results = [];
    for (let i = 0; i < picks.length; i += 2) results.push(...(await Promise.all(picks.slice(i, i + 2).map(run))));
    const wrong = results
      .map((r) => {
        if (r.signal) return `${r.c.id}: killed by ${r.signal}`;
        if ('accepted' in outcome(r.c)) return r.code === 0 ? undefined : `${r.c.id}: accepted by parseSpec, exit ${r.code}`;
        const why = judgeCli(r.c, r.code, r.out);
        return why && `${r.c.id}: ${why}`;
      })
      .filter(Boolean);
    assert.deepEqual(wrong, []);
  });

  describe('values accepted despite shell metacharacters are harmless', () => {
    const sandbox = join(dir, 'sandbox');
    const stubs = join(sandbox, 'bin');
    /** Stand-ins for the commands that would change a node; each records its argv (count, name, args; NUL-separated). */
    function makeStubs(): void {
      mkdirSync(stubs, { recursive: true });
      mkdirSync(join(sandbox, 'home'), { recursive: true });
      const record = `#!/bin/sh\nprintf '%s\\0' "$#" "$(basename "$0")" "$@" >>"$SANDBOX/calls"\n`;
      for (const name of ['groupadd', 'chown', 'chmod', 'visudo', 'sudo', 'nvidia-smi', 'pidof'])
        writeFileSync(join(stubs, name), record, { mode: 0o755 });
      // install -d makes the directory in the sandbox (the authorized_keys file goes there); the rest is recorded
      writeFileSync(join(stubs, 'install'), `${record}for last; do :; done\n[ "$1" = -d ] && mkdir -p "$last"\nexit 0\n`, { mode: 0o755 });
      // getent: no group, and the user appears after useradd, with its home in the sandbox
      writeFileSync(
        join(stubs, 'getent'),
        `${record}[ "$1" = passwd ] && [ -f "$SANDBOX/useradd-ran" ] && { echo "$2:x:60000:60000::$SANDBOX/home:/bin/bash"; exit 0; }\nexit 2\n`,
        { mode: 0o755 },
      );
      writeFileSync(join(stubs, 'useradd'), `${record}: >"$SANDBOX/useradd-ran"\n`, { mode: 0o755 });
    }
    function calls(): string[][] {
      const file = join(sandbox, 'calls');
      if (!existsSync(file)) return [];
      const parts = readFileSync(file, 'utf8').split('\0');
      const out: string[][] = [];
      for (let i = 0; i + 1 < parts.length;) {
        const n = Number(parts[i]);
        out.push(parts.slice(i + 1, i + 2 + n));
        i += 2 + n;
      }
      return out;
    }
    async function runScript(script: string, how: 'bash -c' | 'sh -s'): Promise<{ code: number; out: string }> {
      rmSync(join(sandbox, 'calls'), { force: true });
      rmSync(join(sandbox, 'useradd-ran'), { force: true });
      rmSync(join(sandbox, 'home'), { recursive: true, force: true });
      mkdirSync(join(sandbox, 'home'));
      const env = { PATH: `${stubs}:/usr/bin:/bin`, SANDBOX: sandbox, HOME: join(sandbox, 'home') };
      const [bin, args] = how === 'bash -c' ? ['bash', ['-c', script]] : ['sh', ['-s']];
      return new Promise((done) => {
        const child = execFile(bin as string, args as string[], { env, cwd: sandbox, timeout: 20_000 }, (err, stdout, stderr) =>
          done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        );
        if (how === 'sh -s') child.stdin!.end(script);
      });
    }

    it('shellQuote round-trips every payload, unicode and random text through a real bash and sh', async () => {
      const payloads = [
        ...metacharPayloads(`${CANARY_PREFIX}-quote`),
        ...cases.filter((c) => c.planted && !c.planted.includes('\0')).map((c) => c.planted!),
        ...Array.from({ length: 200 }, (_, i) =>
          String.fromCodePoint(...Array.from({ length: 1 + (i % 40) }, (_, j) => 1 + ((i * 7919 + j * 104729) % 0x2fff))),
        ),
        '',
        "'",
        "''",
        '\\',
        '-n',
      ].filter((p, i, all) => all.indexOf(p) === i && !/[\ud800-\udfff]/.test(p));
      const script = payloads.map((p) => `printf '%s\\0' ${shellQuote(p)}`).join('\n');
      for (const shell of ['bash', 'sh']) {
        const { stdout } = await exec(shell, ['-c', script], { env: { PATH: '/usr/bin:/bin' }, maxBuffer: 64 << 20 });
        assert.deepEqual(stdout.split('\0').slice(0, -1), payloads, `${shell}: every argument arrives as itself`);
      }
      assert.throws(() => shellQuote('a\0b'), /NUL/);
      assert.deepEqual(canaries(), []);
    });

    it('the probe and converge scripts built from accepted specs and from raw payloads run in bash and sh without firing a canary', async () => {
      makeStubs();
      for (const f of canaries()) rmSync(join(dirname(CANARY_PREFIX), f));
      // accepted specs whose metacharacter value reaches the remote-command builders
      const reaching = /^access\.(service_user\.(name|shell|public_key)$|data_partitions)/;
      const accepted = cases
        .filter((c) => (c.category === 'metachar' || c.category === 'unicode') && reaching.test(c.path))
        .map((c) => ({ c, o: outcome(c) }))
        .filter((x): x is { c: FuzzCase; o: { accepted: LoadedSpec } } => 'accepted' in x.o);
      assert.ok(accepted.length >= 5, `${accepted.length} accepted specs carry metacharacters into the builders`);
      const sample = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHcMPq2T5ox9BvD0tLZk7wlrPo3cYV9xgUeO4Yn1Zf7a';
      const inputs: Array<{ label: string; user: ClusterSpec['access']['service_user']; key: string; partitions: string[] }> = accepted.map(
        ({ c, o }) => ({
          label: c.id,
          user: o.accepted.spec.access.service_user,
          key: o.accepted.spec.access.service_user.public_key ?? `${sample} ops`,
          partitions: o.accepted.spec.access.data_partitions,
        }),
      );
      // and every payload straight into each builder input, past the spec validator
      const base = { name: 'ansiblebcm', uid: 60000, gid: 60000, shell: '/bin/bash' };
      for (const p of metacharPayloads(`${CANARY_PREFIX}-builder`)) {
        inputs.push({ label: `name ${p}`, user: { ...base, name: `svc${p}` }, key: `${sample} ops`, partitions: ['/raid'] });
        inputs.push({ label: `shell ${p}`, user: { ...base, shell: `/bin/bash${p}` }, key: `${sample} ops`, partitions: ['/raid'] });
        inputs.push({ label: `key ${p}`, user: base, key: `${sample} ops${p}`, partitions: ['/raid'] });
        inputs.push({ label: `partition ${p}`, user: base, key: `${sample} ops`, partitions: [`/raid${p}`] });
      }
      let ran = 0;
      const wrong: string[] = [];
      const seen = new Set<string>();
      for (const input of inputs) {
        const scripts: string[] = [];
        for (const build of [
          () => probeScript({ serviceUser: input.user.name, servicePublicKey: input.key, dataPartitions: input.partitions }),
          () => convergeScript(input.user, input.key, ['group', 'user', 'key', 'sudoers']),
        ]) {
          try {
            scripts.push(build());
          } catch (err) {
            // refusing is fine when it says which field
            if (!(err instanceof UsageError) || !/^access\.(service_user\.(name|shell|public_key)|data_partitions)/.test(err.message))
              wrong.push(`${input.label}: ${(err as Error).message}`);
          }
        }
        for (const script of scripts) {
          if (seen.has(script)) continue; // many inputs build the same probe
          seen.add(script);
          for (const how of ['bash -c', 'sh -s'] as const) {
            const r = await runScript(script, how);
            ran++;
            if (canaries().length) wrong.push(`${input.label} (${how}): a canary fired: ${canaries().join(', ')}`);
            const useradd = calls().find((c) => c[0] === 'useradd');
            if (useradd && useradd.at(-1) !== input.user.name) wrong.push(`${input.label}: useradd got ${JSON.stringify(useradd)}`);
            const ak = join(sandbox, 'home/.ssh/authorized_keys');
            if (script.includes('changed=key') && existsSync(ak) && readFileSync(ak, 'utf8') !== `${input.key.trim()}\n`)
              wrong.push(`${input.label}: authorized_keys holds ${JSON.stringify(readFileSync(ak, 'utf8'))}`);
            if (script.includes('set -eu') && r.code !== 0)
              wrong.push(`${input.label} (${how}): converge exited ${r.code}: ${r.out.slice(0, 200)}`);
          }
        }
      }
      console.log(`${inputs.length} builder inputs (${accepted.length} from accepted specs), ${ran} script runs`);
      assert.deepEqual(wrong, []);
      assert.ok(ran >= 20, `${ran} scripts ran`);
      assert.deepEqual(canaries(), []);
    });

    it("accepted metacharacter values reach Kubespray's inventory and group_vars unchanged (no YAML injection)", () => {
      const inv: Inventory = {
        schemaVersion: 1,
        cluster: 'x',
        specHash: '0',
        bcm: { endpoint: 'https://bcm' },
        nodes: ['cpu-03', 'dgx-05'].map((hostname, i) => ({
          hostname,
          uuid: `u${i}`,
          mac: '',
          status: 'UP',
          roles: i ? ['worker', 'gpu_worker'] : ['control_plane', 'etcd'],
          address: `127.0.0.${i + 3}`,
          network: 'dgxnet',
          addresses: [],
          history: [],
        })),
        history: [],
      };
      let checked = 0;
      for (const c of cases) {
        if (!c.planted || c.secret) continue;
        const o = outcome(c);
        if (!('accepted' in o)) continue;
        const spec = o.accepted.spec;
        const rendered = renderKubespray({ ...inv, cluster: spec.name }, spec);
        assert.deepEqual(
          yaml.load(rendered.allVarsYaml),
          JSON.parse(JSON.stringify(kubesprayVars({ ...inv, cluster: spec.name }, spec))),
          c.id,
        );
        const hosts = yaml.load(rendered.hostsYaml) as { all: { vars: Record<string, unknown> } };
        assert.equal(hosts.all.vars.ansible_user, spec.access.service_user.name, c.id);
        checked++;
      }
      assert.ok(checked >= 100, `${checked} accepted specs rendered`);
    });
  });
});
