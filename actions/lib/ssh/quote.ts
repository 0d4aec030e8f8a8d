// The one way a remote command is built: every argument single-quoted for POSIX sh, after validation.
// Raw input is never concatenated into a command line.
import { UsageError } from '../util/errors.ts';

/** Quotes one argument for POSIX sh: 'it'\''s' style. Refuses NUL, which no shell argument can carry. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte');
  if (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A command line from argv: `shellCommand(['id', '-u', user])`. */
export function shellCommand(argv: string[]): string {
  if (!argv.length) throw new Error('empty command');
  return argv.map(shellQuote).join(' ');
}

const USERNAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ABS_PATH = /^\/[A-Za-z0-9._\/-]*$/;

/** Validators for values that reach a remote shell; each throws naming the field and what is allowed. */
export function validUsername(value: string, field: string): string {
  if (!USERNAME.test(value))
    throw new UsageError(
      `${field}: '${value.slice(0, 40)}' is not a valid user name (lower-case letters, digits, _ and -, starting with a letter or _, at most 32)`,
    );
  return value;
}

export const isValidHostname = (value: string) => HOSTNAME.test(value);

export function validHostname(value: string, field: string): string {
  if (!isValidHostname(value))
    throw new UsageError(
      `${field}: '${value.slice(0, 80)}' is not a valid hostname (RFC 1123: letters, digits and -, dot-separated labels)`,
    );
  return value;
}

export function validAbsolutePath(value: string, field: string): string {
  if (!ABS_PATH.test(value) || value.split('/').includes('..'))
    throw new UsageError(`${field}: '${value.slice(0, 80)}' must be an absolute path of letters, digits, '.', '_', '-' and '/'`);
  return value;
}
