// The read-only probe: one shell script per node, one SSH round trip, sections parsed into NodeFacts.
// The script changes nothing on the node; values that reach it are validated and quoted.
import type { NodeFacts } from '../inventory/types.ts';
import { shellQuote, validAbsolutePath, validUsername } from '../ssh/quote.ts';
import { GPU_QUERY_ARGS, parseGpuQuery } from './gpu.ts';

export interface ProbeOptions {
  serviceUser: string;
  servicePublicKey?: string;
  dataPartitions: string[];
}

const MARK = '@@bcmkube:';

/** The probe script, run by the admin user through `sh -c`. Parts that need root go through `sudo -n`. */
export function probeScript(opts: ProbeOptions): string {
  const user = shellQuote(validUsername(opts.serviceUser, 'access.service_user.name'));
  const mounts = ['/var', ...opts.dataPartitions.map((p) => validAbsolutePath(p, 'access.data_partitions'))].map(shellQuote).join(' ');
  const key = opts.servicePublicKey ? shellQuote(opts.servicePublicKey.trim().split(/\s+/).slice(0, 2).join(' ')) : "''";
  return [
    `s() { printf '\\n${MARK}%s\\n' "$1"; }`,
    'if [ "$(id -u)" = 0 ]; then asroot() { "$@"; }; else asroot() { sudo -n "$@"; }; fi',
    's os; cat /etc/os-release 2>/dev/null',
    's kernel; uname -r',
    's bootid; cat /proc/sys/kernel/random/boot_id 2>/dev/null',
    's sudo; if [ "$(id -u)" = 0 ]; then echo root; elif sudo -n true 2>/dev/null; then echo ok; else echo no; fi',
    `s gpu; if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi ${GPU_QUERY_ARGS.join(' ')} 2>&1; echo "exit=$?"; else echo absent; fi`,
    `s df; for m in ${mounts}; do [ -d "$m" ] && df -P -k "$m" 2>/dev/null | awk -v m="$m" 'NR==2 {print m, $4, $6}'; done`,
    's containerd; command -v containerd >/dev/null 2>&1 && echo present=yes || echo present=no; pidof containerd >/dev/null 2>&1 && echo running=yes || echo running=no;' +
      ` [ -r /etc/containerd/config.toml ] && sed -n 's/^[[:space:]]*root[[:space:]]*=[[:space:]]*"\\(.*\\)"/root=\\1/p' /etc/containerd/config.toml | head -1`,
    's homefs; stat -f -c %T "$HOME" 2>/dev/null',
    `s user; u=${user}; k=${key}; if pw=$(getent passwd "$u"); then echo "passwd=$pw"; h=$(echo "$pw" | cut -d: -f6);` +
      ' if [ -n "$k" ] && asroot grep -qF -- "$k" "$h/.ssh/authorized_keys" 2>/dev/null; then echo key=yes; else echo key=no; fi;' +
      ' if asroot test -f "/etc/sudoers.d/$u"; then echo sudoers=yes; else echo sudoers=no; fi; else echo passwd=; fi; g=$(getent group "$u") && echo "group=$g"',
    // the clock is read last, so the output reaches the runner right after it (transit: milliseconds)
    's clock; date +%s.%N',
    's end',
  ].join('\n');
}

export function splitSections(output: string): Map<string, string> {
  const sections = new Map<string, string>();
  let name: string | undefined;
  let lines: string[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith(MARK)) {
      if (name) sections.set(name, lines.join('\n').trim());
      name = line.slice(MARK.length).trim();
      lines = [];
    } else if (name) lines.push(line);
  }
  if (name) sections.set(name, lines.join('\n').trim());
  return sections;
}

function osRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

export interface ProbeResult {
  facts: NodeFacts;
  sudo: 'root' | 'ok' | 'no';
  /** What could not be read; a preflight decides whether it matters. */
  problems: string[];
}

/** Parses the probe's output. `runnerClock` is the runner's clock (seconds) when the output arrived. */
export function parseProbe(output: string, runnerClock: number): ProbeResult {
  const s = splitSections(output);
  const problems: string[] = [];
  if (!s.has('end')) problems.push('the probe did not finish (output cut short)');
  const os = osRelease(s.get('os') ?? '');
  const gpuText = s.get('gpu') ?? 'absent';
  let gpus: NodeFacts['gpus'] = [];
  let driverVersion: string | undefined;
  if (gpuText !== 'absent') {
    const exit = /\nexit=(\d+)$|^exit=(\d+)$/.exec(gpuText);
    const code = Number(exit?.[1] ?? exit?.[2] ?? 0);
    const body = gpuText.replace(/\n?exit=\d+$/, '');
    if (code !== 0) problems.push(`nvidia-smi failed (exit ${code}): ${body.split('\n')[0]?.slice(0, 160) ?? ''}`);
    else {
      const parsed = parseGpuQuery(body);
      gpus = parsed.gpus;
      driverVersion = parsed.driverVersion;
      problems.push(...parsed.problems);
    }
  }
  const freeGb: Record<string, number> = {};
  for (const line of (s.get('df') ?? '').split('\n')) {
    const [mount, availKb, mountedOn] = line.trim().split(/\s+/);
    if (mount && availKb && /^\d+$/.test(availKb)) freeGb[mount] = Math.round((Number(availKb) / 1024 / 1024) * 10) / 10;
    if (mount && mountedOn && mount !== '/var' && mountedOn === '/') delete freeGb[mount]; // a data partition that is not mounted is just a directory on /
  }
  const kv = (text: string) =>
    Object.fromEntries(
      text
        .split('\n')
        .map((l) => l.split(/=(.*)/s, 2) as [string, string])
        .filter(([k]) => k),
    );
  const ctr = kv(s.get('containerd') ?? '');
  const user = kv(s.get('user') ?? '');
  const passwd = (user.passwd ?? '').split(':');
  const nodeClock = Number(s.get('clock'));
  const sudo = (s.get('sudo') as ProbeResult['sudo']) ?? 'no';
  return {
    sudo: ['root', 'ok', 'no'].includes(sudo) ? sudo : 'no',
    problems,
    facts: {
      os: { id: os.ID ?? '', versionId: os.VERSION_ID ?? '', prettyName: os.PRETTY_NAME ?? '' },
      kernel: s.get('kernel') ?? '',
      gpus,
      ...(driverVersion ? { driverVersion } : {}),
      freeGb,
      containerd: { present: ctr.present === 'yes', running: ctr.running === 'yes', ...(ctr.root ? { root: ctr.root } : {}) },
      homeOnNfs: /^nfs/i.test(s.get('homefs') ?? ''),
      clockOffsetSeconds: Number.isFinite(nodeClock) ? Math.round((nodeClock - runnerClock) * 1000) / 1000 : Number.NaN,
      serviceUser: user.passwd
        ? {
            exists: true,
            uid: Number(passwd[2]),
            gid: Number(passwd[3]),
            keyInstalled: user.key === 'yes',
            sudoers: user.sudoers === 'yes',
          }
        : { exists: false, ...(user.group ? { gid: Number(user.group.split(':')[2]) } : {}) },
      ...(s.get('bootid') ? { bootId: s.get('bootid') } : {}),
    },
  };
}
