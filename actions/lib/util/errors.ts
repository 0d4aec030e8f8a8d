// Two kinds of failure, mapped to exit codes by the CLI and to one clear message by the actions.

/** The caller asked wrongly (missing input, bad flag, bad spec): exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The stage ran and something in the world is not as required: exit 1. */
export class StageError extends Error {
  override name = 'StageError';
  readonly details: string[];
  constructor(message: string, details: string[] = []) {
    super(details.length ? `${message}\n${details.map((d) => `  - ${d}`).join('\n')}` : message);
    this.details = details;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
