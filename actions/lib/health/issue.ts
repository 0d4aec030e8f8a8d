// The health check's GitHub issue: one per cluster, found by a hidden marker in its body, opened (or updated)
// while the cluster is unhealthy and closed when it is healthy again. The REST calls sit behind IssuesApi so the
// decisions are tested on answers shaped like GitHub's.
import type { CheckResult } from './evaluate.ts';

/** The fields of an issue this uses (GET /repos/{owner}/{repo}/issues). */
export interface IssueAnswer {
  number: number;
  state: 'open' | 'closed';
  body?: string | null;
  html_url?: string;
  /** Set on pull requests, which the issues list also returns. */
  pull_request?: unknown;
}

export interface IssuesApi {
  /** One page (1-based) of the repository's open issues with the label. */
  openIssues(label: string, page: number): Promise<IssueAnswer[]>;
  create(title: string, body: string, labels: string[]): Promise<IssueAnswer>;
  update(number: number, patch: { body?: string; state?: 'closed'; state_reason?: 'completed' }): Promise<IssueAnswer>;
  comment(number: number, body: string): Promise<void>;
}

export const HEALTH_LABEL = 'bcmkube-health';

export function healthMarker(cluster: string): string {
  return `<!-- bcmkube-health cluster=${encodeURIComponent(cluster)} -->`;
}

/** The job summary's table, also the issue's body. */
export function healthTable(results: CheckResult[]): string {
  const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [
    '| check | status | detail |',
    '| --- | --- | --- |',
    ...results.map((r) => `| ${r.check} | ${r.status === 'ok' ? 'ok' : `**${r.status}**`} | ${cell(r.detail)} |`),
  ].join('\n');
}

export interface IssueOutcome {
  action: 'opened' | 'updated' | 'unchanged' | 'closed' | 'none';
  number?: number;
  url?: string;
}

/**
 * Opens, updates or closes the cluster's health issue. Unhealthy means a check failed or could not be read;
 * warnings alone keep an open issue's body current but open none.
 */
export async function syncHealthIssue(
  api: IssuesApi,
  cluster: string,
  results: CheckResult[],
  runUrl: string | undefined,
): Promise<IssueOutcome> {
  const marker = healthMarker(cluster);
  let existing: IssueAnswer | undefined;
  for (let page = 1; !existing; page++) {
    const issues = await api.openIssues(HEALTH_LABEL, page);
    existing = issues.find((i) => !i.pull_request && (i.body ?? '').includes(marker));
    if (issues.length < 100) break;
  }
  const bad = results.filter((r) => r.status === 'fail' || r.status === 'unknown');
  const body = [
    marker,
    `Health check of cluster **${cluster}**${runUrl ? ` ([run](${runUrl}))` : ''}: ${bad.length ? `${bad.length} check(s) not healthy` : 'healthy'}.`,
    '',
    healthTable(results),
  ].join('\n');
  if (!bad.length) {
    if (!existing) return { action: 'none' };
    await api.comment(existing.number, `Healthy again${runUrl ? ` ([run](${runUrl}))` : ''}: closing.\n\n${healthTable(results)}`);
    const closed = await api.update(existing.number, { body, state: 'closed', state_reason: 'completed' });
    return { action: 'closed', number: existing.number, ...(closed.html_url ? { url: closed.html_url } : {}) };
  }
  if (existing) {
    // the body without the run link: a new run with the same failures changes nothing
    const same = (b: string) => b.replace(/ \(\[run\]\([^)]*\)\)/, '');
    if (same(existing.body ?? '') === same(body))
      return { action: 'unchanged', number: existing.number, ...(existing.html_url ? { url: existing.html_url } : {}) };
    const updated = await api.update(existing.number, { body });
    return { action: 'updated', number: existing.number, ...(updated.html_url ? { url: updated.html_url } : {}) };
  }
  const created = await api.create(`bcmkube health: cluster ${cluster} is unhealthy (${bad.map((r) => r.check).join(', ')})`, body, [
    HEALTH_LABEL,
  ]);
  return { action: 'opened', number: created.number, ...(created.html_url ? { url: created.html_url } : {}) };
}

/** IssuesApi over GitHub's REST API (the job's GITHUB_TOKEN with issues: write). */
export function restIssuesApi(opts: { apiUrl: string; repository: string; token: string }): IssuesApi {
  const base = `${opts.apiUrl.replace(/\/$/, '')}/repos/${opts.repository}/issues`;
  const call = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
    const res = await fetch(url, {
      method,
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${opts.token}`,
        'x-github-api-version': '2022-11-28',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok)
      throw new Error(`GitHub ${method} ${url.replace(opts.apiUrl, '')}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    return (await res.json()) as T;
  };
  return {
    openIssues: (label, page) => call('GET', `${base}?state=open&labels=${encodeURIComponent(label)}&per_page=100&page=${page}`),
    create: (title, body, labels) => call('POST', base, { title, body, labels }),
    update: (number, patch) => call('PATCH', `${base}/${number}`, patch),
    comment: async (number, body) => {
      await call('POST', `${base}/${number}/comments`, { body });
    },
  };
}
