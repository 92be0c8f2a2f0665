import { spawn } from 'node:child_process';
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
 * on the wire nor disk. The quick check (size and mtime) is enough because the
 * build stamps every file's mtime from its content (stampTree) and `-t`
 * carries the stamps over. `-s` (secluded args) sends every path over rsync's
 * own protocol: the remote command line is `rsync --server` and one word of
 * flags, nothing else.
 */
export function rsyncArgs(source: string, dest: string, linkDest: string | undefined): string[] {
  return [
    '-rlptD',
    '--delete',
    '-s',
    '-e',
    render(['sh', '-c', RSH_SCRIPT, 'relink-rsh']),
    ...(linkDest ? [`--link-dest=${linkDest}`] : []),
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

/**
 * Copies a local directory into a new release dir on a node with rsync, over
 * the node's open session. Stopped (exit 130) when `signal` fires.
 */
export function rsyncRelease(
  session: NodeSession,
  source: string,
  dest: string,
  linkDest: string | undefined,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<LocalResult> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  return new Promise((resolve) => {
    const child = spawn('rsync', rsyncArgs(source, dest, linkDest), { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const relay = child.stdio[3] as Duplex;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const remoteErr: Buffer[] = [];
    let remote: Promise<number | null> | undefined;
    let channel: { close?: () => void } | undefined;
    let aborted = false;
    const abort = (message: string) => {
      aborted = true;
      err.push(Buffer.from(`${message}\n`));
      // The node's rsync would wait for more input forever: close its channel too.
      channel?.close?.();
      child.kill('SIGTERM');
      relay.destroy();
    };
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
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
      remote = session.stream(command).then(
        (stream) => {
          channel = stream.stdin as { close?: () => void };
          if (aborted) channel.close?.();
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
