import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { talkToSocket } from '../../src/transport/socket.js';

const servers: net.Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A server that answers like HAProxy's runtime API: reads the request to its end, answers, closes. */
function listen(at: string | number, answer: (request: string) => string | undefined): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    let request = '';
    socket.on('data', (d) => (request += d.toString()));
    socket.on('end', () => {
      const text = answer(request);
      if (text !== undefined) socket.end(text);
    });
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(at as never, () => resolve(server)));
}

describe('talkToSocket', () => {
  it('sends the request, half-closes, and returns the whole answer (unix socket)', async () => {
    const sock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'relink-sock-')), 'admin.sock');
    await listen(sock, (request) => `got ${JSON.stringify(request)}\n`.repeat(2000));
    const result = await talkToSocket(sock, 'show stat\n', 5000);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toHaveLength(2001);
    expect(result.stdout.startsWith('got "show stat\\n"\n')).toBe(true);
  });

  it('talks to host:port over TCP', async () => {
    const server = await listen(0, () => 'ok\n');
    const { port } = server.address() as net.AddressInfo;
    expect(await talkToSocket(`127.0.0.1:${port}`, 'x\n', 5000)).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('a socket that is not there: code 1 and the reason', async () => {
    const result = await talkToSocket('/nonexistent/admin.sock', 'show stat\n', 5000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ENOENT.*\/nonexistent\/admin\.sock/);
  });

  it('a server that never answers: code 124 at the deadline', async () => {
    const server = await listen(0, () => undefined);
    const { port } = server.address() as net.AddressInfo;
    const result = await talkToSocket(`127.0.0.1:${port}`, 'x\n', 200);
    expect(result.code).toBe(124);
    expect(result.stderr).toBe(`no answer from 127.0.0.1:${port} within 200 ms`);
  });
});
