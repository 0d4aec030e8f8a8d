// The one plan comment on a pull request: found by its hidden marker and updated in place, created only when absent.
import type { getOctokit } from '@actions/github';

export interface IssueComment {
  id: number;
  body?: string | null;
  html_url: string;
}

/** The three calls the comment needs, so the logic can be tested without GitHub. */
export interface CommentsApi {
  /** One page (1-based) of the pull request's comments, oldest first, up to 100. */
  list(page: number): Promise<IssueComment[]>;
  create(body: string): Promise<IssueComment>;
  update(id: number, body: string): Promise<IssueComment>;
}

export interface UpsertResult {
  action: 'created' | 'updated' | 'unchanged';
  id: number;
  url: string;
}

const PAGE = 100;
const MAX_PAGES = 50;

/** Finds the first comment whose body starts with `marker` and updates it; creates one only when there is none. */
export async function upsertComment(api: CommentsApi, marker: string, body: string): Promise<UpsertResult> {
  if (!body.startsWith(marker)) throw new Error('the comment body must start with its marker, or it could never be found again');
  for (let page = 1; page <= MAX_PAGES; page++) {
    const comments = await api.list(page);
    const mine = comments.find((c) => (c.body ?? '').startsWith(marker));
    if (mine) {
      if (mine.body === body) return { action: 'unchanged', id: mine.id, url: mine.html_url };
      const updated = await api.update(mine.id, body);
      return { action: 'updated', id: updated.id, url: updated.html_url };
    }
    if (comments.length < PAGE) break;
  }
  const created = await api.create(body);
  return { action: 'created', id: created.id, url: created.html_url };
}

/** The CommentsApi of one pull request through @actions/github's Octokit. */
export function octokitComments(
  octokit: ReturnType<typeof getOctokit>,
  target: { owner: string; repo: string; issue: number },
): CommentsApi {
  const { owner, repo, issue } = target;
  return {
    list: async (page) => (await octokit.rest.issues.listComments({ owner, repo, issue_number: issue, per_page: PAGE, page })).data,
    create: async (body) => (await octokit.rest.issues.createComment({ owner, repo, issue_number: issue, body })).data,
    update: async (id, body) => (await octokit.rest.issues.updateComment({ owner, repo, comment_id: id, body })).data,
  };
}
