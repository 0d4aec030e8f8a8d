// The approval gate fails closed: before a gated job (Run:ai phase 2, Kubespray remove-node/reset) does anything, it
// reads its environment through the REST API (GET /repos/{owner}/{repo}/environments/{name}) and stops unless a
// required-reviewers rule with at least one reviewer is set. GitHub runs a job without waiting when its environment
// has no such rule: one that did not exist (GitHub creates it, without rules), a private repository on a plan
// without required reviewers, an empty environment name. A lab accepts that explicitly (allow-unprotected).
/** What GitHub answered: the HTTP status and the parsed body (the Environment object on 200). */
export interface EnvironmentAnswer {
  status: number;
  body: unknown;
}

export interface GateDecision {
  /** The job may go on. */
  pass: boolean;
  /** The environment has required reviewers (pass without them only when allowed). */
  protected: boolean;
  /** One line for the log and the failure. */
  message: string;
  /** Markdown for the job summary. */
  summary: string;
}

interface ReviewerRule {
  type?: unknown;
  prevent_self_review?: unknown;
  reviewers?: { type?: unknown; reviewer?: { login?: unknown; slug?: unknown; name?: unknown } }[];
}

/** The reviewers of the environment's required_reviewers rule (a login or team slug each, where given). */
export function requiredReviewers(environment: unknown): { count: number; names: string[]; preventSelfReview: boolean } {
  const rules = (environment as { protection_rules?: unknown })?.protection_rules;
  const rule = Array.isArray(rules) ? (rules as ReviewerRule[]).find((r) => r?.type === 'required_reviewers') : undefined;
  const reviewers = Array.isArray(rule?.reviewers) ? rule.reviewers : [];
  const names = reviewers
    .map((r) => r?.reviewer?.login ?? r?.reviewer?.slug ?? r?.reviewer?.name)
    .filter((n): n is string => typeof n === 'string' && n !== '');
  return { count: reviewers.length, names, preventSelfReview: rule?.prevent_self_review === true };
}

/** Why the environment does not hold the job for a reviewer, or undefined when it does. */
function unprotectedBecause(environment: string, repository: string, answer: EnvironmentAnswer | undefined): string | undefined {
  if (!environment) return 'no environment name was given, so the job runs in no environment and nobody approves it';
  if (!answer) return undefined;
  if (answer.status === 404)
    return `environment '${environment}' does not exist in ${repository}: GitHub creates it for the job without any rule, so nobody approves it`;
  if (answer.status === 401 || answer.status === 403)
    return `environment '${environment}' of ${repository} could not be read (HTTP ${answer.status}): the job needs permissions: actions: read`;
  if (answer.status !== 200) return `environment '${environment}' of ${repository} could not be read (HTTP ${answer.status})`;
  if (requiredReviewers(answer.body).count) return undefined;
  return `environment '${environment}' of ${repository} has no required reviewers, so the job does not wait for anyone (on a private or internal repository, required reviewers need GitHub Enterprise)`;
}

export function gateDecision(input: {
  environment: string;
  repository: string;
  /** GitHub's answer; undefined only when no name was given (nothing to ask). */
  answer: EnvironmentAnswer | undefined;
  allowUnprotected: boolean;
  allowLabel: string;
}): GateDecision {
  const { environment, repository, answer, allowUnprotected, allowLabel } = input;
  const why = unprotectedBecause(environment, repository, answer);
  if (!why) {
    const { count, names, preventSelfReview } = requiredReviewers(answer!.body);
    const self = preventSelfReview
      ? 'self-review prevented'
      : 'the person who started the run may approve it (turn on Prevent self-review)';
    const bypass = (answer!.body as { can_admins_bypass?: unknown }).can_admins_bypass === true ? '; administrators may bypass it' : '';
    const message = `approval gate: environment '${environment}' requires a review by ${names.length ? names.join(', ') : `${count} reviewer(s)`}; ${self}${bypass}`;
    return { pass: true, protected: true, message, summary: `### Approval gate\n\n✅ ${message}.` };
  }
  if (allowUnprotected) {
    const message = `approval gate NOT enforced: ${why}; accepted by ${allowLabel} (a lab, never production)`;
    return {
      pass: true,
      protected: false,
      message,
      summary: `### Approval gate\n\n> ⚠️ ${message}. This job ran without anyone's approval.`,
    };
  }
  const fix = environment
    ? `Settings → Environments → ${environment} → Required reviewers (one or more people or teams), and Prevent self-review`
    : 'name an environment that has required reviewers';
  const message = `approval gate: ${why}. Fix: ${fix}; or, for a lab only, set ${allowLabel}: true`;
  return { pass: false, protected: false, message, summary: `### Approval gate\n\n❌ ${message}.` };
}
