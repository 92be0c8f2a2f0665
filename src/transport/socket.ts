import net from 'node:net';
import type { ExecResult } from './types.js';

/**
 * Sends `input` to a stream socket on this machine (a unix socket path, or `host:port`), half-closes it and
 * collects the answer until the peer closes: HAProxy's runtime API answers one request per connection this
 * way. The same result shape as a command (code 0, or 1 with the reason in stderr), so a driver can use it
 * where it would run `socat`, without a process per request.
 */
export function talkToSocket(address: string, input: string, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    const tcp = /^([\w.-]+):(\d+)$/.exec(address);
    const socket = tcp ? net.connect(Number(tcp[2]), tcp[1]) : net.connect(address);
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (result: ExecResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => settle({ code: 124, stdout: '', stderr: `no answer from ${address} within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.on('connect', () => socket.end(input));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => settle({ code: 0, stdout: Buffer.concat(chunks).toString('utf8'), stderr: '' }));
    socket.on('error', (error: NodeJS.ErrnoException) => settle({ code: 1, stdout: '', stderr: error.message }));
  });
}
