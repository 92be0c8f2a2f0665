import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { errorMessage } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { op, render, type Command } from '../remote/tokens.js';
import {
  INTERRUPTED_EXIT,
  TIMEOUT_EXIT,
  type Deadline,
  type ExecOptions,
  type ExecResult,
  type NodeSession,
  type RemoteStream,
  type UploadOptions,
} from './types.js';

/** Seconds between the SIGTERM `timeout` sends at a deadline and its SIGKILL. */
const KILL_GRACE_S = 5;
/** How long a stopped or timed-out command may take to report its end before the call settles anyway. */
const SETTLE_MS = 3000;

/** The first line of a bounded command's stderr: the pid of its `timeout` (its process group), then stripped. */
const PID_LINE = /^relink-pid (\d+)\n/;

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

type Channel = import('ssh2').ClientChannel;

/** One node's SSH connection: every command and upload of a run goes over it, each bounded and stoppable. */
export class SshSession implements NodeSession {
  constructor(
    readonly node: NodeSpec,
    private readonly ssh: import('node-ssh').NodeSSH,
    /** Lets go of the jump hosts the connection rides on, if any. */
    private readonly closed?: () => void,
  ) {}

  /**
   * Opens a channel for the command and starts watching it at once, in the same tick: a short command's exit
   * status can arrive in the same packet batch as the channel's opening, before any later listener.
   */
  private open(command: Command, deadline: Deadline, pty = false): Promise<Opened> {
    const client = this.ssh.connection;
    if (!client) return Promise.reject(new Error('the connection to the node was lost'));
    return new Promise((resolve, reject) =>
      client.exec(bounded(command, deadline.timeoutMs, pty), pty ? { pty: true } : {}, (error, channel) => {
        if (error) return reject(error);
        const stderr = new PassThrough();
        let pid: number | undefined;
        let head = pty ? undefined : Buffer.alloc(0);
        const ended = watch(channel, deadline, () => (pid ? this.killGroup(pid) : undefined));
        channel.stderr.on('data', (chunk: Buffer) => {
          if (!head) return void stderr.write(chunk);
          head = Buffer.concat([head, chunk]);
          const m = PID_LINE.exec(head.toString('latin1'));
          if (!m && head.length < 64 && !head.includes(10)) return;
          pid = m ? Number(m[1]) : undefined;
          const rest = m ? head.subarray(m[0].length) : head;
          head = undefined;
          if (rest.length) stderr.write(rest);
        });
        channel.stderr.on('end', () => stderr.end(head));
        resolve({ channel, stderr, ended });
      }),
    );
  }

  /** Ends a bounded command's process group on the node (SIGTERM to its `timeout`, which passes it on). */
  private killGroup(pid: number): void {
    const client = this.ssh.connection;
    const line = render(['kill', '-TERM', '--', `-${pid}`, op('2>/dev/null;'), 'true']);
    try {
      client?.exec(line, (error, channel) => {
        if (!error) channel.resume().stderr.resume();
      });
    } catch {
      // The connection is gone: the node's own `timeout` ends the command at its deadline.
    }
  }

  async exec(command: Command, options: ExecOptions): Promise<ExecResult> {
    if (options.signal?.aborted) return { code: INTERRUPTED_EXIT, stdout: '', stderr: 'interrupted before it began' };
    let channel: Channel;
    let ended: Watched;
    let stderr: PassThrough;
    try {
      ({ channel, ended, stderr } = await this.open(command, options, options.pty));
    } catch (error) {
      return { code: 255, stdout: '', stderr: `connection lost: ${errorMessage(error)}` };
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    channel.on('data', (chunk: Buffer) => {
      out.push(chunk);
      options.onStdout?.(chunk.toString('utf8'));
    });
    stderr.on('data', (chunk: Buffer) => err.push(chunk));
    if (options.stdin !== undefined) channel.end(options.stdin);
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
    const { code, signal, why } = await ended;
    if (why)
      return {
        code: why === 'timeout' ? TIMEOUT_EXIT : INTERRUPTED_EXIT,
        stdout: text(out),
        stderr: text(err) + ended.note,
      };
    return normalize({ code, signal, stdout: text(out), stderr: text(err) });
  }

  async stream(command: Command, deadline: Deadline): Promise<RemoteStream> {
    const { channel, ended, stderr } = await this.open(command, deadline);
    const done = ended.then(({ code, signal, why }) => (why ? null : (code ?? (signal ? 128 : null))));
    return { stdin: channel, stdout: channel, stderr, done, stop: () => ended.stop() };
  }

  /** Streams the file into `cat` on the node: bounded and stoppable like any command (sftp is neither). */
  async upload(localFile: string, remoteFile: string, options: UploadOptions): Promise<void> {
    const total = fs.statSync(localFile).size;
    const opened = await this.open(['sh', '-c', 'cat > "$1"', 'relink-upload', remoteFile], options);
    const { channel, ended } = opened;
    const err: Buffer[] = [];
    opened.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    channel.resume();
    const file = fs.createReadStream(localFile, { highWaterMark: 256 * 1024 });
    let sent = 0;
    file.on('data', (chunk) => {
      sent += chunk.length;
      options.onProgress?.(sent, total);
    });
    file.on('error', (error) => {
      err.push(Buffer.from(errorMessage(error)));
      ended.stop();
    });
    file.pipe(channel);
    const { code, signal, why } = await ended;
    file.destroy();
    const stderr = Buffer.concat(err).toString('utf8').trim();
    if (why === 'abort') throw new InterruptedUpload(`upload stopped: interrupted${ended.note}`);
    if (why === 'timeout') throw new Error(`upload of ${total} bytes timed out after ${options.timeoutMs} ms`);
    if (code !== 0) throw new Error(`upload failed (${code ?? signal ?? 'connection lost'}): ${stderr}`);
  }

  async close(): Promise<void> {
    this.ssh.dispose();
    this.closed?.();
  }
}

/** An upload the run's abort signal stopped. */
export class InterruptedUpload extends Error {
  readonly interrupted = true;
}

interface Ending {
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
type Watched = Promise<Ending> & { stop(): void; readonly note: string };

interface Opened {
  readonly channel: Channel;
  /** The command's stderr, without the wrapper's pid line. */
  readonly stderr: PassThrough;
  readonly ended: Watched;
}

function watch(channel: Channel, deadline: Deadline, kill: () => void): Watched {
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
    if (why) return;
    why = reason;
    state.note = reason === 'timeout' ? `\ntimed out after ${deadline.timeoutMs} ms` : '\ninterrupted';
    // The signal request goes out before the close, so the node ends the command before it drops the channel.
    // Whatever is still unread is dropped: the channel reports its close only once its streams have ended.
    channel.unpipe();
    channel.resume();
    channel.stderr.resume();
    kill();
    try {
      channel.signal('TERM');
      channel.close();
    } catch {
      // The channel is already closing.
    }
    timers.push(setTimeout(finish, SETTLE_MS));
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
  }) as Watched;
}

function normalize(r: { code: number | null; signal: string | null; stdout: string; stderr: string }): ExecResult {
  // No exit status and no signal: the channel closed under the command (the node or its sshd went away).
  if (r.code === null && !r.signal)
    return {
      code: 255,
      stdout: r.stdout,
      stderr: `${r.stderr}${r.stderr ? '\n' : ''}the connection to the node was lost before the command finished`,
    };
  return { code: r.code ?? 128, stdout: r.stdout, stderr: r.stderr };
}
