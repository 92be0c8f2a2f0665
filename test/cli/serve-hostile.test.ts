// `deploy serve` (the built one) on a hostile network: a table of requests meant to exhaust it, confuse
// it or make it leak, each with the status it must answer, and the process's peak memory through all of
// them. No SSH sandbox: the one node of prod does not answer, which the dashboard shows and goes on.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, tokenHash, type UserEntry, writeUsers } from '../../src/web/users.js';
import { distDir } from '../helpers/project.js';

const bin = path.join(distDir, 'bin', 'deploy.js');
const SECRET = 'Sup3r&Secret<1>';
const PASSWORD = 'a long dashboard password';
const RUN = '20261201-120000-abcdef';
const MB = 1024 * 1024;
const env = { ...process.env, CI: 'true', APP_SECRET: SECRET };

let dir: string;
let server: ChildProcess;
let port: number;
let ana: { cookie: string; csrf: string };
const token = (name: string) => `rlk_hostile-${name}-0123456789abcdef`;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

interface Send {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Streams `total` bytes of `chunk`s, chunked unless a content-length header is given; stops at the answer. */
  stream?: { chunk: Buffer; total: number };
  from?: string;
}

/**
 * One request on its own connection (from `from`, a loopback address), with no client-side tidying. The
 * connection asks to be kept alive, as a browser's does: the server then reads and drops the rest of a
 * body it refused instead of closing at once (with `Connection: close` it closes, and the client may see
 * the reset before the answer).
 */
function send(o: Send): Promise<Answer> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: o.method ?? 'GET',
      path: o.path,
      headers: o.headers,
      localAddress: o.from ?? '127.0.0.1',
      agent,
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (o.stream) {
      let sent = 0;
      const pump = () => {
        while (!answered && sent < o.stream!.total) {
          sent += o.stream!.chunk.length;
          if (!req.write(o.stream!.chunk)) return void req.once('drain', pump);
        }
        if (!answered) req.end();
      };
      pump();
    } else req.end(o.body);
  }).finally(() => agent.destroy());
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const formHeaders = (extra: Record<string, string> = {}) => ({
  'content-type': 'application/x-www-form-urlencoded',
  ...extra,
});
const bearer = (name: string) => ({ authorization: `Bearer ${token(name)}` });

async function login(user: string, password: string, from = '127.0.0.1'): Promise<Answer> {
  return send({ method: 'POST', path: '/login', headers: formHeaders(), body: form({ user, password }), from });
}

async function session(from: string): Promise<{ cookie: string; csrf: string }> {
  const answer = await login('ana', PASSWORD, from);
  expect(answer.status).toBe(303);
  const cookie = String(answer.headers['set-cookie']![0]!.split(';')[0]);
  const page = await send({ path: '/', headers: { cookie } });
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)![1]! };
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [bin, ...args], { cwd: dir, env }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-hostile-'));
  fs.mkdirSync(path.join(dir, 'hosts'));
  fs.writeFileSync(
    path.join(dir, 'hosts', 'prod.yaml'),
    'hosts:\n  - name: web1\n    address: 127.0.0.1\n    port: 2999\n',
  );
  fs.writeFileSync(
    path.join(dir, 'deploy.config.ts'),
    "export default { project: 'hello', repo: './app', deployTo: '/srv/hostile', secrets: ['APP_SECRET'] };\n",
  );
  const created = new Date().toISOString();
  const day = 86_400_000;
  const users: UserEntry[] = [{ name: 'ana', role: 'deployer', hash: await hashPassword(PASSWORD), created }];
  const viewer = (name: string, expires?: string): UserEntry => ({
    name,
    role: 'viewer',
    hash: tokenHash(token(name)),
    created,
    ...(expires ? { expires } : {}),
  });
  const tokens = [
    ...Array.from({ length: 11 }, (_, i) => viewer(`t${i}`, new Date(Date.now() + day).toISOString())),
    viewer('old', new Date(Date.now() - day).toISOString()),
    viewer('legacy'),
  ];
  writeUsers(path.join(dir, '.relink', 'users.json'), { users, tokens });
  // A run going on: its log is the newest of prod, and the lock's pid (this test's) is alive.
  fs.mkdirSync(path.join(dir, '.relink', 'logs'));
  const line = (o: object) => `${JSON.stringify({ time: new Date().toISOString(), ...o })}\n`;
  fs.writeFileSync(
    path.join(dir, '.relink', 'logs', `${RUN}.jsonl`),
    line({ kind: 'run', command: 'deploy prod v1.0.0', env: 'prod' }) + line({ kind: 'phase', phase: 'gates' }),
  );
  fs.writeFileSync(path.join(dir, '.relink', 'deploy-prod.pid'), String(process.pid));

  server = spawn('node', [bin, 'serve', '--port', '0'], { cwd: dir, env });
  port = await new Promise<number>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const found = /relink dashboard for hello: http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (found) resolve(Number(found[1]));
    });
    server.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    server.on('exit', (code) => reject(new Error(`deploy serve exited ${code}: ${out}`)));
  });
  ana = await session('127.0.0.3');
}, 30_000);

afterAll(() => {
  server?.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Row {
  readonly what: string;
  readonly send: () => Promise<Answer>;
  /** The status it must answer (one of these). */
  readonly status: number | readonly number[];
  readonly check?: (answer: Answer) => void;
}

const huge = (mb: number) => ({ chunk: Buffer.alloc(64 * 1024, 'a'), total: mb * MB });
const noSecret = (answer: Answer) => {
  expect(answer.text).not.toContain(SECRET);
  expect(answer.text).not.toContain('Sup3r&amp;Secret&lt;1&gt;');
  expect(answer.text).toContain('[REDACTED]');
};

const rows: Row[] = [
  {
    what: 'a 50 MB login body, chunked',
    send: () => send({ method: 'POST', path: '/login', headers: formHeaders(), stream: huge(50) }),
    status: 413,
  },
  {
    what: 'a 50 MB login body with its content-length',
    send: () =>
      send({
        method: 'POST',
        path: '/login',
        headers: formHeaders({ 'content-length': String(50 * MB) }),
        stream: huge(50),
      }),
    status: 413,
  },
  {
    what: 'a content-length that says less than is sent (the rest is no second request)',
    send: () =>
      send({
        method: 'POST',
        path: '/login',
        headers: formHeaders({ 'content-length': '20' }),
        body: `${form({ user: 'ana', password: 'x' })}${'a'.repeat(1000)}`,
      }),
    // node reads 20 bytes for this request; the rest is no request at all (400), which may answer first.
    status: [400, 401],
  },
  {
    what: 'both content-length and transfer-encoding (request smuggling)',
    send: () =>
      send({
        method: 'POST',
        path: '/login',
        headers: formHeaders({ 'content-length': '5', 'transfer-encoding': 'chunked' }),
        body: '0\r\n\r\n',
      }),
    status: 400,
  },
  {
    what: 'a multipart login with a broken boundary',
    send: () =>
      send({
        method: 'POST',
        path: '/login',
        headers: { 'content-type': 'multipart/form-data; boundary=x' },
        body: '--y\r\nnonsense',
      }),
    status: 400,
  },
  {
    what: 'a 1 MB form, chunked',
    send: () =>
      send({ method: 'POST', path: '/env/prod/freeze', headers: formHeaders({ cookie: ana.cookie }), stream: huge(1) }),
    status: 413,
  },
  {
    what: 'a 100 KB form with its content-length',
    send: () => {
      const body = form({ _csrf: ana.csrf, message: 'm'.repeat(100 * 1024) });
      return send({ method: 'POST', path: '/env/prod/freeze', headers: formHeaders({ cookie: ana.cookie }), body });
    },
    status: 413,
  },
  {
    what: '2 MB of JSON on the API',
    send: () =>
      send({
        method: 'POST',
        path: '/api/lock/prod',
        headers: { ...bearer('t0'), 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'm'.repeat(2 * MB) }),
      }),
    status: 413,
  },
  {
    what: 'a body that is not JSON on the API',
    send: () =>
      send({
        method: 'POST',
        path: '/api/poison',
        headers: { cookie: ana.cookie, 'x-csrf-token': ana.csrf },
        body: '{"commit":',
      }),
    status: 400,
  },
  {
    what: 'an Origin that is no URL',
    send: () => send({ method: 'POST', path: '/login', headers: formHeaders({ origin: 'http://[::1' }), body: '' }),
    status: 403,
  },
  {
    what: 'X-Forwarded-Host without --behind-proxy does not make another site this one',
    send: () =>
      send({
        method: 'POST',
        path: '/logout',
        headers: formHeaders({
          cookie: ana.cookie,
          origin: 'https://evil.example',
          'x-forwarded-host': 'evil.example',
        }),
        body: form({ _csrf: ana.csrf }),
      }),
    status: 403,
  },
  {
    what: 'a since too far back',
    send: () => send({ path: '/api/stats?since=99999999999999d', headers: bearer('t0') }),
    status: 400,
  },
  {
    what: 'a since that is no duration',
    send: () => send({ path: '/api/stats?since=-1d', headers: bearer('t0') }),
    status: 400,
  },
  {
    what: '/..%2f..%2fetc/passwd',
    send: () => send({ path: '/..%2f..%2fetc/passwd', headers: { cookie: ana.cookie } }),
    status: 404,
  },
  {
    what: '/../../etc/passwd as sent',
    send: () => send({ path: '/../../etc/passwd', headers: { cookie: ana.cookie } }),
    status: 404,
  },
  { what: 'the same, logged out', send: () => send({ path: '/..%2f..%2fetc/passwd' }), status: 401 },
  {
    what: 'an encoded NUL in an environment',
    send: () => send({ path: '/env/%00', headers: { cookie: ana.cookie } }),
    status: 404,
  },
  {
    what: 'an encoded NUL in a run',
    send: () => send({ path: '/api/runs/%00..%2f/events', headers: bearer('t0') }),
    status: 404,
  },
  {
    what: 'broken percent-encoding',
    send: () => send({ path: '/env/%E0%A4%A', headers: { cookie: ana.cookie } }),
    status: 404,
  },
  {
    what: 'an 8 KB path',
    send: () => send({ path: `/${'a'.repeat(8000)}`, headers: { cookie: ana.cookie } }),
    status: 404,
  },
  { what: 'a 100 KB path', send: () => send({ path: `/${'a'.repeat(100_000)}` }), status: 431 },
  {
    what: 'a cookie that is no cookie',
    send: () => send({ path: '/', headers: { cookie: '%%%;=;relink_session=%ZZ.%' } }),
    status: 401,
  },
  {
    what: 'a secret with & < > is not shown HTML-escaped (nor as written)',
    send: () => send({ path: `/gate/poison?commit=${encodeURIComponent(SECRET)}`, headers: { cookie: ana.cookie } }),
    status: 400,
    check: noSecret,
  },
  {
    what: 'an expired API token',
    send: () => send({ path: '/api/runs', headers: bearer('old') }),
    status: 401,
    check: (a) => expect(a.text).toMatch(/expired on/),
  },
  {
    what: 'a token made before tokens expired still works',
    send: () => send({ path: '/api/runs', headers: bearer('legacy') }),
    status: 200,
  },
];

describe('deploy serve against hostile requests', () => {
  for (const row of rows) {
    it(`${row.what}: ${row.status}`, async () => {
      const answer = await row.send();
      const allowed = typeof row.status === 'number' ? [row.status] : row.status;
      expect(allowed, `${answer.status} ${answer.text.slice(0, 200)}`).toContain(answer.status);
      row.check?.(answer);
    });
  }
});

/** An event stream held open: its status, and everything it has sent so far. */
interface Held {
  status: number;
  text: () => string;
  close: () => void;
}

function hold(path: string, headers: Record<string, string>): Promise<Held> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('error', () => undefined);
      resolve({ status: res.statusCode!, text: () => text, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 100 && !ok(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

const streamsNow = async () => JSON.parse((await send({ path: '/api/streams', headers: bearer('legacy') })).text);

describe('deploy serve against floods', () => {
  it('60 wrong passwords at once for ana: a few checked (401), the rest 429/503 unchecked', async () => {
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => login('ana', `wrong guess ${i}`)));
    const count = (s: number) => answers.filter((a) => a.status === s).length;
    // Each 401 is one password check; every other answer was given before any.
    expect(count(401)).toBeLessThanOrEqual(5);
    expect(count(401) + count(429) + count(503)).toBe(60);
    expect(count(429)).toBeGreaterThan(0);
    for (const a of answers.filter((x) => x.status !== 401))
      expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('then ana is locked out of the flooding address only, whatever X-Forwarded-For says', async () => {
    // The flood got a few checks at most; a few more wrong tries one by one use up the rest.
    let status = 0;
    for (let i = 0; i < 5 && status !== 429; i++) status = (await login('ana', `one more guess ${i}`)).status;
    expect(status).toBe(429);
    expect((await login('ana', PASSWORD)).status).toBe(429);
    expect((await login('ana', PASSWORD, '127.0.0.2')).status).toBe(303);
    const forwarded = await send({
      method: 'POST',
      path: '/login',
      headers: formHeaders({ 'x-forwarded-for': '127.0.0.9' }),
      body: form({ user: 'ana', password: PASSWORD }),
    });
    expect(forwarded.status).toBe(429);
  });

  it('event streams: 10 per token (the 11th 429), 100 in all (the 101st 429), all of one run on one tail', async () => {
    const held: Held[] = [];
    try {
      const events = `/api/runs/${RUN}/events`;
      for (let i = 0; i < 10; i++) held.push(await hold(events, bearer('t0')));
      expect(held.map((h) => h.status)).toEqual(Array(10).fill(200));
      const eleventh = await hold(events, bearer('t0'));
      eleventh.close();
      expect(eleventh.status).toBe(429);
      for (let t = 1; t < 10; t++) for (let i = 0; i < 10; i++) held.push(await hold(events, bearer(`t${t}`)));
      expect(held.every((h) => h.status === 200)).toBe(true);
      const over = await hold(events, bearer('t10'));
      over.close();
      expect(over.status).toBe(429);
      expect(await streamsNow()).toMatchObject({ streams: 100, tails: 1 });
      // A line the run writes now reaches every stream through that one tail.
      const log = path.join(dir, '.relink', 'logs', `${RUN}.jsonl`);
      fs.appendFileSync(log, `${JSON.stringify({ time: new Date().toISOString(), message: 'a new line' })}\n`);
      const reached = () => held.filter((h) => h.text().includes('a new line')).length;
      expect(
        await until(
          async () => reached(),
          (n) => n === 100,
        ),
      ).toBe(100);
    } finally {
      for (const h of held) h.close();
    }
    expect(await until(streamsNow, (s) => s.streams === 0 && s.tails === 0)).toMatchObject({ streams: 0, tails: 0 });
    const again = await hold(`/api/runs/${RUN}/events`, bearer('t0'));
    again.close();
    expect(again.status).toBe(200);
  });

  it('lists when each token was last used, which ones expired, and warns of one without expiry', async () => {
    const listed = await cli(['serve', '--list-users']);
    expect(listed.stdout).toMatch(/^legacy +token viewer +\(since [\d-]+, no expiry, last used [\d-]+ [\d:]+\)$/m);
    expect(listed.stdout).toMatch(/^old +token viewer +\(since [\d-]+, expired [\d-]+, never used\)$/m);
    expect(listed.stdout).toMatch(/^ana +user +deployer +\(since [\d-]+, last login [\d-]+ [\d:]+\)$/m);
    expect(listed.stderr).toMatch(
      /warning: token legacy has no expiry .*deploy serve --add-token legacy --role viewer/,
    );
    const made = await cli(['serve', '--add-token', 'short', '--role', 'viewer', '--expires-days', '7']);
    expect(made.code).toBe(0);
    expect(made.stderr).toMatch(/until \d{4}-\d\d-\d\d/);
    expect((await cli(['serve', '--add-token', 'never', '--role', 'viewer', '--expires-days', '0'])).code).toBe(2);
  });

  it('held under 250 MB of memory at its peak through all of the above', () => {
    const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
    const peakKb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]);
    expect(peakKb / 1024).toBeLessThan(250);
  });
});
