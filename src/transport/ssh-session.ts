import fs from 'node:fs';
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

/**
 * The command as the node runs it: under `timeout`, so the node itself ends it and every process it started
 * (timeout signals its own process group) at the deadline, even when this machine or the connection is gone.
 * `exec` makes `timeout` the process sshd started, so a signal request on the channel reaches it.
 */
export function bounded(command: Command, timeoutMs: number): string {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const line = render(command);
  return render([op('exec'), 'timeout', '-k', String(KILL_GRACE_S), String(seconds), 'sh', '-c', line]);
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

  private open(command: Command, deadline: Deadline, pty = false): Promise<Channel> {
    const client = this.ssh.connection;
    if (!client) return Promise.reject(new Error('the connection to the node was lost'));
    return new Promise((resolve, reject) =>
      client.exec(bounded(command, deadline.timeoutMs), pty ? { pty: true } : {}, (error, channel) =>
        error ? reject(error) : resolve(channel),
      ),
    );
  }

  async exec(command: Command, options: ExecOptions): Promise<ExecResult> {
    if (options.signal?.aborted) return { code: INTERRUPTED_EXIT, stdout: '', stderr: 'interrupted before it began' };
    let channel: Channel;
    try {
      channel = await this.open(command, options, options.pty);
    } catch (error) {
      return { code: 255, stdout: '', stderr: `connection lost: ${errorMessage(error)}` };
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    channel.on('data', (chunk: Buffer) => {
      out.push(chunk);
      options.onStdout?.(chunk.toString('utf8'));
    });
    channel.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    if (options.stdin !== undefined) channel.end(options.stdin);
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
    const ended = watch(channel, options);
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
    const channel = await this.open(command, deadline);
    const ended = watch(channel, deadline);
    const done = ended.then(({ code, signal, why }) => (why ? null : (code ?? (signal ? 128 : null))));
    return { stdin: channel, stdout: channel, stderr: channel.stderr, done, stop: () => ended.stop() };
  }

  /** Streams the file into `cat` on the node: bounded and stoppable like any command (sftp is neither). */
  async upload(localFile: string, remoteFile: string, options: UploadOptions): Promise<void> {
    const total = fs.statSync(localFile).size;
    const channel = await this.open(['sh', '-c', 'cat > "$1"', 'relink-upload', remoteFile], options);
    const err: Buffer[] = [];
    channel.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    channel.resume();
    const ended = watch(channel, options);
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
function watch(channel: Channel, deadline: Deadline): Promise<Ending> & { stop(): void; note: string } {
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
  return Object.assign(promise, {
    stop: () => end('abort'),
    get note() {
      return state.note;
    },
  });
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
