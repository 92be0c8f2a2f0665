import type { Said } from './next.js';

/** Exit codes: a refusal by a gate or a lock is not a failure of the release. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  gate: 3,
  lock: 4,
  partial: 5,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * What each exit code means, in Markdown (`--help` shows it without the backticks; the reference,
 * docs/reference/exit-codes.md, as it is). A code added to EXIT without its meaning does not compile.
 */
export const EXIT_MEANING: Readonly<Record<keyof typeof EXIT, string>> = {
  ok: 'done',
  failed:
    'failed: the release or command did not succeed (a deploy rolls back the nodes it switched, unless ' +
    '`--on-failure halt`)',
  usage:
    'bad input (an unknown environment, a missing tag, an invalid config or inventory, a bad option, a ' +
    '`rollback --to` release no node has, a host key not in known_hosts); nothing was changed',
  gate:
    'refused by a gate (a poison without its cure, outside the release windows, a shared link of the running ' +
    'release that became a file or dir: `--adopt-shared`, no valid approval where `approvals` asks for one, an ' +
    'approval refused: your own request, not in `approvals.from`); nothing was changed',
  lock: 'the deploy lock is held by another run or a freeze; nothing was changed',
  partial:
    'released with nodes set aside: every other node runs the release; the nodes that failed within ' +
    '`rollout.maxFailures` were put back on their release and are named, with `deploy <env> <version> ' +
    '--retry-failed` to bring them up to it',
  interrupted:
    'interrupted (SIGINT, SIGTERM) after undoing what the run changed and releasing its locks; journaled as ' +
    '`interrupted`, and the message says the command that resumes',
};

/** An error a person can act on: what happened, and the next step (its commands as data: src/next.ts). */
export class RelinkError extends Error {
  readonly hint: Said | undefined;
  readonly exitCode: ExitCode;

  constructor(message: string, options: { hint?: Said; exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'RelinkError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT.failed;
  }
}

/** Bad input: unknown environment, invalid config, missing tag. */
export class UsageError extends RelinkError {
  constructor(message: string, options: { hint?: Said; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: EXIT.usage });
    this.name = 'UsageError';
  }
}

/** A gate refused the release (window, poison). Nothing was changed. */
export class GateError extends RelinkError {
  constructor(message: string, options: { hint?: Said } = {}) {
    super(message, { ...options, exitCode: EXIT.gate });
    this.name = 'GateError';
  }
}

/** Another run holds the deploy lock. Nothing was changed. */
export class LockError extends RelinkError {
  constructor(message: string, options: { hint?: Said } = {}) {
    super(message, { ...options, exitCode: EXIT.lock });
    this.name = 'LockError';
  }
}

/** How much of a failed command its message quotes: the whole line is in `command` (--verbose, the report). */
const COMMAND_BRIEF = 60;

/** A remote command exited non-zero: node, code, the start of the command (redacted), stderr tail. */
export class RemoteError extends RelinkError {
  readonly node: string;
  /** The whole command line (redacted): printed with --verbose and in the run's report, not in the message. */
  readonly command: string;
  readonly code: number;
  readonly stderr: string;

  constructor(node: string, command: string, code: number, stderr: string, hint?: Said) {
    const tail = stderr.trim().split('\n').slice(-5).join('\n  ');
    const brief = command.length > COMMAND_BRIEF ? `${command.slice(0, COMMAND_BRIEF)}…` : command;
    super(`${node}: command failed with exit code ${code}: ${brief}${tail ? `\n  ${tail}` : ''}`, { hint });
    this.name = 'RemoteError';
    this.node = node;
    this.command = command;
    this.code = code;
    this.stderr = stderr;
  }
}

/** The run was interrupted by SIGINT or SIGTERM after undoing what it could. */
export class InterruptedError extends RelinkError {
  constructor(signal: string) {
    super(`interrupted by ${signal}`, { exitCode: EXIT.interrupted });
    this.name = 'InterruptedError';
  }
}

/** The whole command line of the remote command an error came from (itself or a cause), for --verbose and reports. */
export function failedCommand(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++)
    if (e instanceof RemoteError) return e.command;
  return undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
