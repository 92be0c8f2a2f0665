import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { errorMessage } from '../errors.js';
import { coalesceWrites, socketOf } from './coalesce.js';
import { pump } from './pump.js';
import type { NodeSpec } from '../inventory/types.js';
import { render, type Command } from '../remote/tokens.js';
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
import {
  bounded,
  type Channel,
  close,
  KILL_GRACE_S,
  normalize,
  OpenAbandoned,
  type Opened,
  PID_LINE,
  watch,
  type Watched,
} from './remote-command.js';

export { bounded } from './remote-command.js';

/** One node's SSH connection: every command and upload of a run goes over it, each bounded and stoppable. */
/** How long closing a session waits for the kills of stopped commands (each waits up to 3 s on the node). */
const KILL_WAIT_MS = 5000;
/**
 * How much of a file an upload reads at a time, unless told (UploadOptions.readBytes): one read becomes 32 SSH
 * packets sent together (coalesce.ts). Against 256 KiB reads, about a quarter less CPU for 20 MiB to 10 nodes at
 * once (bench/datapath.mjs).
 */
const UPLOAD_READ_BYTES = 1024 * 1024;

export class SshSession implements NodeSession {
  /** Kills of stopped commands still on their way to the node. */
  private readonly kills = new Set<Promise<void>>();

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
    return new Promise((resolve, reject) => {
      // Opening the channel is bounded too: a hung sshd (or its MaxSessions) must not outlast the deadline.
      let gaveUp: string | undefined;
      const giveUp = (why: string) => {
        gaveUp ??= why;
        reject(new OpenAbandoned(why));
      };
      const onAbort = () => giveUp('interrupted');
      const timer = setTimeout(() => giveUp('timed out'), deadline.timeoutMs + (KILL_GRACE_S + 5) * 1000);
      deadline.signal?.addEventListener('abort', onAbort, { once: true });
      client.exec(bounded(command, deadline.timeoutMs, pty), pty ? { pty: true } : {}, (error, channel) => {
        clearTimeout(timer);
        deadline.signal?.removeEventListener('abort', onAbort);
        if (error) return reject(error);
        if (gaveUp) return void channel.close();
        const stderr = new PassThrough();
        let pid: number | undefined;
        let head = pty ? undefined : Buffer.alloc(0);
        const ended = watch(channel, deadline, () => (pid ? this.killGroup(pid) : false));
        channel.stderr.on('data', (chunk: Buffer) => {
          if (!head) return void stderr.write(chunk);
          head = Buffer.concat([head, chunk]);
          const m = PID_LINE.exec(head.toString('latin1'));
          if (!m && head.length < 64 && !head.includes(10)) return;
          pid = m ? Number(m[1]) : undefined;
          const rest = m ? head.subarray(m[0].length) : head;
          head = undefined;
          if (rest.length) stderr.write(rest);
          // Stopped before the pid was known: end the command now.
          if (pid && ended.stopped && this.killGroup(pid)) close(channel);
        });
        channel.stderr.on('end', () => stderr.end(head));
        resolve({ channel, stderr, ended });
      });
    });
  }

  /**
   * Ends a bounded command's process group on the node (SIGTERM to its `timeout`, which passes it on). The
   * kill is in flight until its channel closes: `close` waits for it (a little), so a run that ends right after
   * an interrupt does not drop it with the connection.
   */
  private killGroup(pid: number): true {
    const client = this.ssh.connection;
    // TERM, then up to 3 s for the group to go, then KILL: the run does not end while the command still runs.
    // No `--` before the group: dash's kill (Debian's sh) takes it for a pid and signals nothing; `$1` is a
    // number relink parsed, and `-<number>` after the signal is a process group for every POSIX kill.
    const line = render([
      'sh',
      '-c',
      'kill -TERM "-$1" 2>/dev/null; i=0; while kill -0 "-$1" 2>/dev/null && [ "$i" -lt 30 ]; do ' +
        'sleep 0.1; i=$((i + 1)); done; kill -KILL "-$1" 2>/dev/null; true',
      'relink-kill',
      String(pid),
    ]);
    const sent = new Promise<void>((done) => {
      try {
        client?.exec(line, (error, channel) => {
          if (error) return done();
          channel.on('close', () => done());
          channel.resume().stderr.resume();
        });
        if (!client) done();
      } catch {
        // The connection is gone: the node's own `timeout` ends the command at its deadline.
        done();
      }
    });
    this.kills.add(sent);
    void sent.then(() => this.kills.delete(sent));
    return true;
  }

  async exec(command: Command, options: ExecOptions): Promise<ExecResult> {
    if (options.signal?.aborted) return { code: INTERRUPTED_EXIT, stdout: '', stderr: 'interrupted before it began' };
    let channel: Channel;
    let ended: Watched;
    let stderr: PassThrough;
    try {
      ({ channel, ended, stderr } = await this.open(command, options, options.pty));
    } catch (error) {
      if (error instanceof OpenAbandoned) {
        const code = error.message === 'interrupted' ? INTERRUPTED_EXIT : TIMEOUT_EXIT;
        return { code, stdout: '', stderr: `${error.message} before the command started on the node` };
      }
      return { code: 255, stdout: '', stderr: `connection lost: ${errorMessage(error)}` };
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const outStream = decoded(options.onStdout, out);
    const errStream = decoded(options.onStderr, err);
    channel.on('data', outStream.data);
    stderr.on('data', errStream.data);
    // No input: end of input at once, so a command that reads stdin does not wait for its deadline.
    if (options.stdin !== undefined) channel.end(options.stdin);
    else channel.end();
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
    const { code, signal, why } = await ended;
    outStream.end();
    errStream.end();
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
    // A protocol's bulk data (rsync's) goes out a write at a time, its packets gathered.
    coalesceWrites(channel, socketOf(this.ssh.connection ?? undefined));
    const done = ended.then(({ code, signal, why }) => (why ? null : (code ?? (signal ? 128 : null))));
    return { stdin: channel, stdout: channel, stderr, done, stop: () => ended.stop() };
  }

  /**
   * Streams the file into `cat` on the node: bounded and stoppable like any command (sftp is neither). The file
   * is read a piece at a time (never whole), and each piece leaves in one socket write.
   */
  async upload(localFile: string, remoteFile: string, options: UploadOptions): Promise<void> {
    const total = fs.statSync(localFile).size;
    const opened = await this.open(['sh', '-c', 'cat > "$1"', 'relink-upload', remoteFile], options);
    const { channel, ended } = opened;
    const socket = socketOf(this.ssh.connection ?? undefined);
    coalesceWrites(channel, socket);
    const err: Buffer[] = [];
    opened.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    channel.resume();
    const file = fs.createReadStream(localFile, { highWaterMark: options.readBytes ?? UPLOAD_READ_BYTES });
    let sent = 0;
    const progress = (bytes: number) => {
      sent += bytes;
      options.onProgress?.(sent, total);
    };
    let settled = false;
    let failed: string | undefined;
    pump(file, channel, socket, ended, progress).catch((error: unknown) => {
      // The file could not be read (or the channel written): the command is stopped, and that is the failure.
      // A read cut short by the command's end is none.
      if (settled) return;
      failed = errorMessage(error);
      ended.stop();
    });
    const { code, signal, why } = await ended;
    settled = true;
    file.destroy();
    if (failed) throw new Error(`upload stopped: ${failed}`);
    const stderr = Buffer.concat(err).toString('utf8').trim();
    if (why === 'abort') throw new Error(`upload stopped: interrupted${ended.note}`);
    if (why === 'timeout' || code === TIMEOUT_EXIT || code === 137)
      throw new Error(`upload of ${total} bytes timed out after ${options.timeoutMs} ms`);
    if (code !== 0) throw new Error(`upload failed (${code ?? signal ?? 'connection lost'}): ${stderr}`);
  }

  async close(): Promise<void> {
    if (this.kills.size) {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((done) => {
        timer = setTimeout(done, KILL_WAIT_MS);
      });
      await Promise.race([Promise.all(this.kills), bound]);
      clearTimeout(timer);
    }
    this.ssh.dispose();
    this.closed?.();
  }
}

/** Collects a stream's chunks and passes them on as text, a character whose bytes arrive in two chunks whole. */
function decoded(onChunk: ((chunk: string) => void) | undefined, into: Buffer[]) {
  const decoder = new StringDecoder('utf8');
  return {
    data: (chunk: Buffer) => {
      into.push(chunk);
      const text = onChunk ? decoder.write(chunk) : '';
      if (text) onChunk?.(text);
    },
    end: () => {
      const rest = onChunk ? decoder.end() : '';
      if (rest) onChunk?.(rest);
    },
  };
}
