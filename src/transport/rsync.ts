import { execFile, spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { render, type Command } from '../remote/tokens.js';
import type { LocalResult } from './local.js';
import type { NodeSession } from './types.js';

/**
 * What rsync runs as its "remote shell": it writes rsync's remote command
 * line to fd 3 (a socket to this process), then relays bytes both ways over
 * it. This process runs that command on a channel of the node's existing SSH
 * connection, so an rsync upload costs no second connection, no second
 * handshake and no second host-key check. Like ssh, the stand-in exits when
 * the remote command has ended (this process then closes fd 3): rsync waits
 * for that. stdin is saved on fd 4 first because a background job's stdin
 * is /dev/null.
 */
const RSH_SCRIPT = 'exec 4<&0; printf "%s " "$@" >&3; echo >&3; cat <&4 >&3 & cat <&3; kill $! 2>/dev/null; exit 0';

/**
 * The rsync command line (an argv, no shell). `--link-dest` against the
 * current release hard-links every unchanged file, so it costs neither bytes
 * on the wire nor disk. Unchanged means same content: `-c` compares checksums
 * (both sides read their files), never size and time alone, because release
 * files carry their commit's time and two commits of one second may hold a
 * same-sized file with other bytes. No `-t`: a file of the same content
 * but an older time is still linked; the files rsync writes get the commit
 * time afterwards (stampWritten in remote/release.ts). `-s` (secluded args)
 * sends every path over rsync's own protocol: the remote command line is
 * `rsync --server` and one word of flags, nothing else.
 */
export function rsyncArgs(source: string, dest: string, linkDest: string | undefined, progress = false): string[] {
  return [
    '-rlpDc',
    '--delete',
    '-s',
    '-e',
    render(['sh', '-c', RSH_SCRIPT, 'relink-rsh']),
    ...(linkDest ? [`--link-dest=${linkDest}`] : []),
    ...(progress ? ['--info=progress2'] : []),
    source.replace(/\/?$/, '/'),
    `node:${dest.replace(/\/?$/, '/')}`,
  ];
}

/** The remote half of rsync, taken from the line the stand-in sent: `rsync --server -s<flags>` and nothing else. */
export function serverCommand(line: string): Command {
  const words = line.trim().split(/\s+/);
  const at = words.indexOf('rsync');
  const server = at === -1 ? [] : words.slice(at);
  if (server.length !== 3 || server[1] !== '--server' || !/^-s[A-Za-z.]+$/.test(server[2]!)) {
    throw new Error(`refusing an unexpected rsync remote command: ${line.trim().slice(0, 200)}`);
  }
  return ['rsync', '--server', server[2]!];
}

let progress2: Promise<boolean> | undefined;

/** Whether this machine's rsync reports a whole transfer's progress (`--info=progress2`: 3.1 on, not openrsync). */
function reportsProgress(): Promise<boolean> {
  progress2 ??= new Promise((resolve) =>
    execFile('rsync', ['--version'], (error, stdout) => {
      const [major = 0, minor = 0] = (/version\s+(\d+)\.(\d+)/.exec(String(stdout)) ?? []).slice(1).map(Number);
      resolve(!error && (major > 3 || (major === 3 && minor >= 1)));
    }),
  );
  return progress2;
}

/**
 * Reads `--info=progress2` updates (`\r  1,234,567  45%  1.2MB/s  0:00:01`, one write each) into bytes and
 * percent. The newest update is read at once; only a number cut by a chunk boundary waits for the rest.
 */
function progressReader(report: (bytes: number, percent: number) => void): (chunk: Buffer) => void {
  let tail = '';
  return (chunk) => {
    const parts = (tail + chunk.toString('latin1')).split(/[\r\n]/);
    tail = parts.at(-1) ?? '';
    const seen = parts.reverse().find((p) => /^\s*[\d,.']+\s+\d+%/.test(p));
    const [bytes = '', percent = ''] = seen?.trim().split(/\s+/) ?? [];
    if (seen) report(Number(bytes.replace(/\D/g, '')), Number.parseInt(percent, 10));
  };
}

/**
 * Copies a local directory into a new release dir on a node with rsync, over
 * the node's open session. Stopped (exit 130) when `signal` fires;
 * `onProgress` hears the bytes sent and the percent done, where this
 * machine's rsync reports them.
 */
export async function rsyncRelease(
  session: NodeSession,
  source: string,
  dest: string,
  linkDest: string | undefined,
  options: { timeoutMs?: number; signal?: AbortSignal; onProgress?: (bytes: number, percent: number) => void } = {},
): Promise<LocalResult> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const progress = options.onProgress && (await reportsProgress()) ? options.onProgress : undefined;
  return new Promise((resolve) => {
    const args = rsyncArgs(source, dest, linkDest, Boolean(progress));
    const child = spawn('rsync', args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const relay = child.stdio[3] as Duplex;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const remoteErr: Buffer[] = [];
    let remote: Promise<number | null> | undefined;
    let stopRemote: (() => void) | undefined;
    let aborted = false;
    const abort = (message: string) => {
      aborted = true;
      err.push(Buffer.from(`${message}\n`));
      // The node's rsync would wait for more input forever: end it there, and close its channel.
      stopRemote?.();
      child.kill('SIGTERM');
      relay.destroy();
    };
    const readProgress = progress ? progressReader(progress) : undefined;
    child.stdout!.on('data', (chunk: Buffer) => {
      // The progress lines are all rsync prints to stdout here: the result keeps none of them.
      if (readProgress) readProgress(chunk);
      else out.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    relay.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const newline = head.indexOf(10);
      if (newline === -1) {
        if (head.length > 4096) abort('rsync sent no remote command');
        return;
      }
      relay.off('data', onHead);
      relay.pause();
      let command: Command;
      try {
        command = serverCommand(head.subarray(0, newline).toString('utf8'));
      } catch (error) {
        abort((error as Error).message);
        return;
      }
      const rest = head.subarray(newline + 1);
      // The node's half ends by itself a little after this side's limit, whatever happens to this process.
      remote = session.stream(command, { timeoutMs: timeoutMs + 5000 }).then(
        (stream) => {
          stopRemote = () => stream.stop();
          if (aborted) stream.stop();
          if (rest.length) stream.stdin.write(rest);
          relay.pipe(stream.stdin as NodeJS.WritableStream);
          (stream.stdout as NodeJS.ReadableStream).pipe(relay);
          stream.stderr.on('data', (c: Buffer) => remoteErr.push(c));
          return stream.done;
        },
        (error: unknown) => {
          abort(`cannot open a channel to the node: ${(error as Error).message}`);
          return null;
        },
      );
    };
    relay.on('data', onHead);
    let interrupted = false;
    const onAbort = () => {
      interrupted = true;
      abort('interrupted');
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort(`timed out after ${timeoutMs} ms`);
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ code: 127, stdout: '', stderr: `cannot run rsync on this machine: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      relay.destroy();
      void (remote ?? Promise.resolve(0)).then((remoteCode) => {
        const lost = remoteCode === null && !aborted;
        const stderr =
          Buffer.concat([...err, ...remoteErr]).toString('utf8') +
          (lost ? 'the connection to the node was lost before rsync finished' : '');
        const local = timedOut ? 124 : interrupted ? 130 : (code ?? (signal ? 128 : 1));
        resolve({
          code: local !== 0 ? local : lost ? 255 : (remoteCode ?? 0),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr,
        });
      });
    });
  });
}
