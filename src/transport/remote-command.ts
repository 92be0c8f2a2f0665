import type { Command } from '../remote/tokens.js';
import { op, render } from '../remote/tokens.js';
import type { PassThrough } from 'node:stream';
import type { Deadline, ExecResult } from './types.js';

export type Channel = import('ssh2').ClientChannel;

/** Seconds between the SIGTERM `timeout` sends at a deadline and its SIGKILL. */
export const KILL_GRACE_S = 5;
/** How long a stopped or timed-out command may take to report its end before the call settles anyway. */
export const SETTLE_MS = 3000;

/** The first line of a bounded command's stderr: the pid of its `timeout` (its process group), then stripped. */
export const PID_LINE = /^relink-pid (\d+)\n/;

/**
 * The command as the node runs it: under `timeout`, so the node itself ends it and every process it started
 * (timeout signals its own process group) at the deadline, even when this machine or the connection is gone.
 * `exec` makes `timeout` the process sshd started, so a signal request on the channel reaches it; sshd refuses
 * those for root, so the wrapper first names its pid on stderr and a stop also kills that process group.
 * With a pty (stderr merged into stdout) the pid is not printed: closing the channel hangs the command up.
 */
export function bounded(command: Command, timeoutMs: number, pty = false): string {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const line = render(command);
  const run: Command = [op('exec'), 'timeout', '-k', String(KILL_GRACE_S), String(seconds), 'sh', '-c', line];
  return render(pty ? run : [op(`printf 'relink-pid %s\\n' "$$" >&2;`), ...run]);
}

export interface Ending {
  readonly code: number | null;
  readonly signal: string | null;
  /** Why the call ended early: the deadline, or the abort signal. */
  readonly why?: 'timeout' | 'abort';
}

/**
 * Settles when the channel closes, or within SETTLE_MS of the deadline (plus the node's own kill grace) or of
 * the abort: the command is then ended on the node (SIGTERM to `timeout`, which passes it to its group) and the
 * channel closed, so no waiting promise outlives its deadline.
 */
export type Watched = Promise<Ending> & { stop(): void; readonly note: string; readonly stopped: boolean };

/** A channel that was never opened: the deadline passed, or the run was interrupted, first. */
export class OpenAbandoned extends Error {}

export interface Opened {
  readonly channel: Channel;
  /** The command's stderr, without the wrapper's pid line. */
  readonly stderr: PassThrough;
  readonly ended: Watched;
}

/** How long a stopped command's channel stays open for its pid line, so its process group can be killed. */
const PID_WAIT_MS = 1000;

/** Closes a channel that may be closing already. */
export function close(channel: Channel): void {
  try {
    channel.close();
  } catch {
    // Already closed.
  }
}

/** `kill` ends the command's process group on the node and says whether it could (its pid is known). */
export function watch(channel: Channel, deadline: Deadline, kill: () => boolean): Watched {
  let code: number | null = null;
  let signal: string | null = null;
  let why: Ending['why'];
  let settle!: (ending: Ending) => void;
  const timers: NodeJS.Timeout[] = [];
  const state = { note: '' };
  const finish = () => {
    for (const t of timers) clearTimeout(t);
    deadline.signal?.removeEventListener('abort', onAbort);
    settle({ code, signal, why });
  };
  const end = (reason: 'timeout' | 'abort') => {
    // Already ended on the node (its exit status is in): the close that follows settles it as it is.
    if (why || code !== null || signal) return;
    why = reason;
    state.note = reason === 'timeout' ? `\ntimed out after ${deadline.timeoutMs} ms` : '\ninterrupted';
    // The signal request goes out before the close, so the node ends the command before it drops the channel.
    // Whatever is still unread is dropped: the channel reports its close only once its streams have ended.
    channel.unpipe();
    channel.resume();
    channel.stderr.resume();
    try {
      channel.signal('TERM');
    } catch {
      // The channel is already closing.
    }
    // Closed once the kill is on its way; a command whose pid line has not come yet is closed when it comes (the
    // open() that reads it kills it then), or after PID_WAIT_MS at the latest.
    if (kill()) close(channel);
    else timers.push(setTimeout(() => close(channel), PID_WAIT_MS));
    timers.push(setTimeout(finish, SETTLE_MS + PID_WAIT_MS));
  };
  const onAbort = () => end('abort');
  const promise = new Promise<Ending>((resolve) => {
    settle = resolve;
  });
  channel.on('exit', (exitCode: number | null, exitSignal?: string) => {
    code = exitCode;
    signal = exitSignal ?? null;
  });
  channel.on('close', finish);
  timers.push(setTimeout(() => end('timeout'), deadline.timeoutMs + (KILL_GRACE_S + 5) * 1000));
  if (deadline.signal?.aborted) onAbort();
  else deadline.signal?.addEventListener('abort', onAbort, { once: true });
  // A getter, not a copied value: the note is known only once the command ended early.
  return Object.defineProperties(promise, {
    stop: { value: () => end('abort') },
    note: { get: () => state.note },
    stopped: { get: () => why !== undefined },
  }) as Watched;
}

export function normalize(r: {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}): ExecResult {
  // No exit status and no signal: the channel closed under the command (the node or its sshd went away).
  if (r.code === null && !r.signal)
    return {
      code: 255,
      stdout: r.stdout,
      stderr: `${r.stderr}${r.stderr ? '\n' : ''}the connection to the node was lost before the command finished`,
    };
  return { code: r.code ?? 128, stdout: r.stdout, stderr: r.stderr };
}
