/**
 * Remote commands are data. A command is a list of tokens; `render` turns it
 * into shell text in exactly one place, and every value goes through `quote`.
 */

/** A shell operator or fixed word that must stay unquoted (`&&`, `>>`, `2>/dev/null`). */
export interface Raw {
  readonly raw: string;
}

/** A value that must never be printed: rendered quoted for the shell, `[REDACTED]` for logs. */
export interface Secret {
  readonly secret: string;
}

export type Token = string | Raw | Secret;
export type Command = readonly Token[];

export const op = (raw: string): Raw => ({ raw });
export const secret = (value: string): Secret => ({ secret: value });

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Single-quotes a value for a POSIX shell. Words made only of safe characters
 * stay bare, so rendered commands stay readable; everything else, including
 * the empty string, is wrapped in single quotes with embedded quotes escaped.
 */
export function quote(value: string): string {
  if (value.includes('\0')) throw new Error('a shell value cannot contain a NUL byte');
  if (value === '') return "''";
  if (SAFE.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function isRaw(token: Token): token is Raw {
  return typeof token === 'object' && 'raw' in token;
}

/** Shell text for a command. With `redact`, secret tokens print as [REDACTED]. */
export function render(command: Command, options: { redact?: boolean } = {}): string {
  return command
    .map((token) => {
      if (typeof token === 'string') return quote(token);
      if (isRaw(token)) return token.raw;
      return options.redact ? '[REDACTED]' : quote(token.secret);
    })
    .join(' ');
}

/** Joins commands so that each runs only if the one before succeeded. */
export function and(...commands: Command[]): Command {
  return join(commands, '&&');
}

/** Joins commands so that the second runs only if the first failed. */
export function or(...commands: Command[]): Command {
  return join(commands, '||');
}

function join(commands: Command[], operator: string): Command {
  const out: Token[] = [];
  for (const command of commands) {
    if (command.length === 0) continue;
    if (out.length > 0) out.push(op(operator));
    out.push(...command);
  }
  return out;
}

/** A command run as one unit inside `{ ...; }` so that `||` and `&&` bind around it. */
export function group(command: Command): Command {
  return [op('{'), ...command, op(';'), op('}')];
}

/** Runs commands one after another whatever each returns. */
export function seq(...commands: Command[]): Command {
  return join(commands, ';');
}
