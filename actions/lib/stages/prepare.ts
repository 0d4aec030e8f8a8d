// Stage 2, prepare-nodes: probe every node over SSH, refuse to change anything when any preflight fails,
// then converge the service user and prove it by logging in as that user. Plan mode probes only.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeInventory, writeInventory } from '../inventory/document.ts';
import { changedSteps, convergeScript, validPublicKey } from '../nodes/converge.ts';
import { preflight, type NodeDecision, type ProbeOutcome } from '../nodes/preflight.ts';
import { parseProbe, probeScript } from '../nodes/probe.ts';
import { choiceInput, integerInput, secretInput } from '../report/inputs.ts';
import type { InputSource } from '../report/inputs.ts';
import { heading, table, timingsTable, type TimedPhase } from '../report/markdown.ts';
import type { Reporter } from '../report/reporter.ts';
import type { SshCredentials } from '../ssh/pool.ts';
import { validUsername } from '../ssh/quote.ts';
import { StageError, UsageError } from '../util/errors.ts';
import { knownHosts, pool, readMaybeFile, sshTargets } from './access.ts';
import { openStage, readStageInventory, type StageContext } from './context.ts';
import { timed } from './timing.ts';

export interface PrepareResult {
  decisions: NodeDecision[];
  changed: string[];
  inventoryPath: string;
  phases: TimedPhase[];
}

function adminCredentials(ctx: StageContext): SshCredentials {
  const { spec, inputs, reporter } = ctx;
  const username = validUsername(spec.access.admin.user, 'access.admin.user');
  if (spec.access.admin.auth === 'password') {
    const password = secretInput(inputs, 'admin-password', reporter, spec.access.admin.password_file);
    if (!password)
      throw new UsageError(
        `access.admin.auth is password: pass ${inputs.label('admin-password')} from a secret (or access.admin.password_file)`,
      );
    return { username, password };
  }
  const key = secretInput(inputs, 'admin-ssh-key', reporter, spec.access.admin.key_file);
  if (!key)
    throw new UsageError(`pass the admin's private key as ${inputs.label('admin-ssh-key')} from a secret (or access.admin.key_file)`);
  return { username, privateKey: readMaybeFile(key) };
}

function servicePublicKey(ctx: StageContext): string {
  const { spec, inputs } = ctx;
  const u = spec.access.service_user;
  const key = inputs.get('service-public-key').trim() || u.public_key || (u.public_key_file ? readMaybeFile(u.public_key_file) : '');
  if (!key)
    throw new UsageError(
      `the service user's public key is missing: set access.service_user.public_key (or public_key_file, or ${inputs.label('service-public-key')}); create a pair once with 'bcmkube keygen'`,
    );
  return validPublicKey(key, 'access.service_user.public_key');
}

function decisionTable(decisions: NodeDecision[], plan: boolean): string {
  return table(
    ['node', 'OS', 'GPUs', 'driver', '/var free GB', 'containerd on', 'clock offset s', plan ? 'would change' : 'changes', 'problems'],
    decisions.map((d) => [
      d.hostname,
      d.facts ? `${d.facts.os.prettyName || d.facts.os.id} (${d.facts.kernel})` : '—',
      d.facts ? String(d.facts.gpus.length) : '—',
      d.facts?.driverVersion ?? '',
      d.facts?.freeGb['/var'] ?? '',
      d.containerdStorageDir ?? (d.facts ? '/var/lib/containerd' : ''),
      d.facts ? d.facts.clockOffsetSeconds.toFixed(2) : '',
      d.steps.length ? d.steps.join(', ') : 'nothing',
      [...d.failures, ...d.warnings].join('; '),
    ]),
  );
}

export async function prepareStage(inputs: InputSource, reporter: Reporter): Promise<PrepareResult> {
  const ctx = openStage(inputs, reporter);
  const { spec } = ctx;
  const { inv: inventory } = readStageInventory(ctx);
  const targets = sshTargets(inventory.nodes);
  const admin = adminCredentials(ctx);
  const publicKey = servicePublicKey(ctx);
  const hosts = knownHosts(ctx);
  const policy = choiceInput(inputs, 'host-key-policy', ['strict', 'accept-new', 'off'] as const, spec.access.host_key_policy);
  const concurrency = integerInput(inputs, 'concurrency', spec.access.concurrency, 1, 512);
  if (policy === 'strict' && !hosts.text.trim()) {
    throw new UsageError(
      `host keys are verified (policy strict) but no known_hosts was given: pass ${inputs.label('known-hosts')} or access.known_hosts_file, or use host-key-policy accept-new for a first contact`,
    );
  }
  const phases: TimedPhase[] = [];
  const adminPool = pool(spec, admin, hosts.text, policy, concurrency);
  const byName = new Map(inventory.nodes.map((n) => [n.hostname, n]));
  const at = new Date().toISOString();
  try {
    const script = probeScript({
      serviceUser: spec.access.service_user.name,
      servicePublicKey: publicKey,
      dataPartitions: spec.access.data_partitions,
    });
    const probes = await timed(phases, 'probe', () =>
      adminPool.forEach(targets, async (t) => {
        const r = await adminPool.exec(t, 'sh -s', script);
        const arrived = Date.now() / 1000;
        if (r.code !== 0 && !r.stdout.includes('@@bcmkube:end'))
          throw new Error(`probe exited ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
        return parseProbe(r.stdout, arrived);
      }),
    );
    const outcomes = new Map<string, ProbeOutcome>(
      [...probes].map(([h, o]) => [h, o.ok ? { ok: true, result: o.value } : { ok: false, error: o.error }]),
    );
    const verdict = preflight(inventory.nodes, outcomes, spec, admin.username);
    for (const d of verdict.decisions) {
      const before = byName.get(d.hostname)?.facts?.serviceUser;
      if (before?.exists && d.facts && !d.facts.serviceUser?.exists)
        d.warnings.push(
          `user '${spec.access.service_user.name}' was here on the last run and is gone: the node was probably re-imaged by BCM (bake the user into the image: playbooks/bake-service-user.yml)`,
        );
    }
    const summaryHead = heading(`prepare-nodes: cluster ${spec.name}${ctx.plan ? ' (plan)' : ''}`);
    if (verdict.blocked) {
      reporter.summary(
        [
          summaryHead,
          `**Preflight failed: nothing was changed on any node.**`,
          decisionTable(verdict.decisions, true),
          timingsTable(phases),
        ].join('\n\n'),
      );
      for (const f of verdict.failures.slice(0, 10)) reporter.error(f, 'preflight');
      throw new StageError(
        `preflight failed on ${new Set(verdict.failures.map((f) => f.split(':')[0])).size} node(s); nothing was changed on any node`,
        verdict.failures,
      );
    }
    const active = verdict.decisions.filter((d) => !verdict.skipped.includes(d.hostname));
    const changed: string[] = [];
    if (!ctx.plan) {
      // the key is checked before any node changes: a run must not stop half-way for want of it
      const serviceKey = secretInput(inputs, 'service-ssh-key', reporter, spec.access.service_user.private_key_file);
      if (!serviceKey)
        throw new UsageError(
          `pass the service user's private key as ${inputs.label('service-ssh-key')} (or access.service_user.private_key_file) to prove the login`,
        );
      const servicePool = pool(
        spec,
        { username: spec.access.service_user.name, privateKey: readMaybeFile(serviceKey) },
        [hosts.text, ...adminPool.learned].join('\n'),
        policy === 'accept-new' ? 'strict' : policy,
        concurrency,
      );
      const sudo = admin.username === 'root' ? 'sh -s' : 'sudo -n sh -s';
      const decisionOf = new Map(active.map((d) => [d.hostname, d]));
      try {
        // each node goes on to its login proof as soon as it converged: no node waits for the slowest
        const results = await timed(phases, 'converge service user, prove its login + sudo', () =>
          adminPool.forEach(
            targets.filter((t) => decisionOf.has(t.hostname)),
            async (t) => {
              const d = decisionOf.get(t.hostname)!;
              let steps: string[] = [];
              if (d.steps.length) {
                const r = await adminPool.exec(t, sudo, convergeScript(spec.access.service_user, publicKey, d.steps));
                if (r.code !== 0) throw new Error(`converge exited ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
                steps = changedSteps(r.stdout);
              }
              try {
                const r = await servicePool.exec(t, 'sudo -n true');
                if (r.code !== 0)
                  throw new Error(`'sudo -n true' as ${spec.access.service_user.name} exited ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
                return { steps };
              } catch (err) {
                return { steps, unproven: (err as Error).message };
              }
            },
          ),
        );
        for (const [h, o] of results) if (o.ok && o.value.steps.length) changed.push(h);
        changed.sort(); // results arrive in completion order; messages list them stably
        const failed = [...results].filter(([, o]) => !o.ok).map(([h, o]) => `${h}: ${(o as { error: string }).error}`);
        if (failed.length)
          throw new StageError(
            `converging the service user failed on ${failed.length} node(s) (changed so far: ${changed.join(', ') || 'none'})`,
            failed,
          );
        const unproven = [...results].flatMap(([h, o]) => (o.ok && o.value.unproven ? [`${h}: ${o.value.unproven}`] : []));
        if (unproven.length)
          throw new StageError(
            `the service user cannot log in and sudo on ${unproven.length} node(s) (changed this run: ${changed.join(', ') || 'none'})`,
            unproven,
          );
      } finally {
        await servicePool.close();
      }
    }
    if (adminPool.learned.length && hosts.file) appendFileSync(hosts.file, `${adminPool.learned.join('\n')}\n`);
    const updated = mergeInventory(
      inventory,
      verdict.decisions.map((d) => ({
        hostname: d.hostname,
        ...(d.facts ? { facts: { ...d.facts, ...(d.containerdStorageDir ? { containerdStorageDir: d.containerdStorageDir } : {}) } } : {}),
        history: [
          {
            stage: 'prepare-nodes',
            at,
            result: verdict.skipped.includes(d.hostname)
              ? 'skipped'
              : ctx.plan
                ? 'probed'
                : changed.includes(d.hostname)
                  ? 'converged'
                  : 'unchanged',
          },
        ],
      })),
      { stage: 'prepare-nodes', at, result: ctx.plan ? 'planned' : `${changed.length} changed` },
    );
    const outPath = join(ctx.outDir, 'inventory.json');
    writeInventory(outPath, updated);
    reporter.output('inventory-path', outPath);
    reporter.output('changed-nodes', JSON.stringify(changed.sort()));
    reporter.summary(
      [
        summaryHead,
        ctx.plan
          ? 'Plan: nodes were probed only; nothing was changed.'
          : `${changed.length} node(s) changed, ${active.length - changed.length} already as specified${verdict.skipped.length ? `, skipped: ${verdict.skipped.join(', ')}` : ''}.`,
        adminPool.learned.length
          ? `> Recorded ${adminPool.learned.length} new host key(s) (policy accept-new)${hosts.file ? ` in ${hosts.file}` : ''}.`
          : '',
        decisionTable(verdict.decisions, ctx.plan),
        timingsTable(phases),
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    return { decisions: verdict.decisions, changed, inventoryPath: outPath, phases };
  } finally {
    await adminPool.close();
  }
}
