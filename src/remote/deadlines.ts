/**
 * Every command relink runs on a node has a deadline, by the kind of work it does. The kinds and their limits
 * are listed here once; `ssh.commandTimeoutMs`, `ssh.unpackTimeoutMs` and `ssh.uploadMinBytesPerSecond` set
 * them. User commands (restart, smoke, backup, hooks) carry their own limits from their settings.
 */
export const COMMAND_KINDS = [
  'lock',
  'inspect',
  'journal',
  'link',
  'relink',
  'unpack',
  'cleanup',
  'probe',
  'logs',
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

export interface DeadlineSettings {
  readonly commandTimeoutMs: number;
  readonly unpackTimeoutMs: number;
  readonly uploadMinBytesPerSecond: number;
}

/** `deploy logs` without `-f`: reading a log tail is short. */
const LOGS_MS = 60_000;

/** The time limit of one command of a kind. */
export function deadlineMs(settings: DeadlineSettings, kind: CommandKind): number {
  if (kind === 'unpack' || kind === 'cleanup') return settings.unpackTimeoutMs;
  if (kind === 'logs') return Math.max(LOGS_MS, settings.commandTimeoutMs);
  return settings.commandTimeoutMs;
}

/** An upload's time limit: the command limit plus its bytes at the slowest rate waited for. */
export function uploadDeadlineMs(settings: DeadlineSettings, bytes: number): number {
  return settings.commandTimeoutMs + Math.ceil((bytes / settings.uploadMinBytesPerSecond) * 1000);
}
