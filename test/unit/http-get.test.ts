import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet } from '../../src/transport/http.js';

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/moved') return res.writeHead(302, { location: '/elsewhere' }).end('moved');
    if (req.url === '/big') return res.end('x'.repeat(200 * 1024));
    if (req.url === '/never') return undefined;
    res.writeHead(req.url === '/health' ? 200 : 500).end(`hello ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('httpGet (the smoke check)', () => {
  it('returns the status and the body', async () => {
    expect(await httpGet(`${base}/health`, 5000)).toEqual({ status: 200, body: 'hello /health' });
    expect(await httpGet(`${base}/other`, 5000)).toEqual({ status: 500, body: 'hello /other' });
  });

  it('answers a redirect as it is, without following it', async () => {
    expect(await httpGet(`${base}/moved`, 5000)).toEqual({ status: 302, body: 'moved' });
  });

  it('keeps at most 64 KiB of the body', async () => {
    const { status, body } = await httpGet(`${base}/big`, 5000);
    expect(status).toBe(200);
    expect(body).toHaveLength(64 * 1024);
  });

  it('a server that never answers: rejected at the deadline, saying so', async () => {
    await expect(httpGet(`${base}/never`, 200)).rejects.toThrow('no answer within 200 ms');
  });

  it('nobody listening: the connection error', async () => {
    await expect(httpGet('http://127.0.0.1:9/', 5000)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses a scheme it cannot check', async () => {
    await expect(httpGet('ftp://127.0.0.1/', 5000)).rejects.toThrow(
      'only http and https URLs can be checked, not ftp:',
    );
  });
});
