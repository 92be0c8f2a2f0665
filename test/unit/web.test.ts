import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processRedactor } from '../../src/log/redact.js';
import type { WebServer } from '../../src/transport/web-server.js';
import { redactLines } from '../../src/web/redact-stream.js';
import { checkBind, startServer } from '../../src/web/server.js';
import { hashPassword, readUsers, verifyPassword, writeUsers } from '../../src/web/users.js';
import { HOSTILE, PASSWORD, RUN, SECRET, fakeSource, usersFile } from '../helpers/fake-web.js';

let server: WebServer;
let users: Awaited<ReturnType<typeof usersFile>>;
const source = fakeSource();

beforeAll(async () => {
  processRedactor.add(SECRET);
  users = await usersFile();
  server = await startServer({ host: '127.0.0.1', port: 0, usersFile: users.file }, source);
});
afterAll(() => server.close());

interface Session {
  cookie: string;
  csrf: string;
}

async function get(url: string, session?: Session, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${url}`, {
    headers: { ...(session ? { cookie: session.cookie } : {}), ...headers },
    redirect: 'manual',
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function post(
  url: string,
  form: Record<string, string>,
  session?: Session,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${server.url}${url}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(session ? { cookie: session.cookie } : {}),
      ...headers,
    },
    body: new URLSearchParams(form).toString(),
    redirect: 'manual',
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function login(user: string, password = PASSWORD): Promise<Session> {
  const answer = await post('/login', { user, password });
  expect(answer.status).toBe(303);
  const cookie = answer.headers.get('set-cookie')!.split(';')[0]!;
  const page = await get('/', { cookie, csrf: '' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
  return { cookie, csrf };
}

describe('deploy serve: the HTTP gate', () => {
  it('answers 401 without a session, for pages, the API and actions alike', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/')).text).toContain('action="/login"');
    expect((await get('/env/prod')).status).toBe(401);
    const api = await get('/api/status/prod');
    expect(api.status).toBe(401);
    expect(JSON.parse(api.text).error).toMatch(/log in first/);
    expect((await post('/env/prod/rollback', { target: 'last' })).status).toBe(401);
    expect((await get('/api/status/prod', undefined, { authorization: 'Bearer rlk_wrong' })).status).toBe(401);
    expect(source.calls).toEqual([]);
  });

  it('logs in with a signed, HttpOnly, SameSite=Strict session cookie; a wrong password is refused', async () => {
    expect((await post('/login', { user: 'ana', password: 'wrong password' })).status).toBe(401);
    expect((await post('/login', { user: 'nobody', password: PASSWORD })).status).toBe(401);
    const answer = await post('/login', { user: 'ana', password: PASSWORD, next: '/env/prod' });
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/env/prod');
    const cookie = answer.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^relink_session=[\w-]+\.[\w-]+;/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const forged = `${cookie.split(';')[0]!.split('.')[0]}.AAAA`;
    expect((await get('/', { cookie: forged, csrf: '' })).status).toBe(401);
    const page = await get('/', { cookie: cookie.split(';')[0]!, csrf: '' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    for (const node of ['node1', 'node2', 'node4', 'dev1']) expect(page.text).toContain(`data-node="${node}"`);
    expect(page.text).toContain('v1.1.0');
  });

  it('never redirects a login to another site', async () => {
    const answer = await post('/login', { user: 'ana', password: PASSWORD, next: '//evil.example/x' });
    expect(answer.headers.get('location')).toBe('/');
  });

  it('refuses a viewer every action with 403, and shows a viewer no action buttons', async () => {
    const bob = await login('bob');
    const page = await get('/env/prod', bob);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('id="actions"');
    expect(page.text).not.toMatch(/Roll back|Emergency rollback|Freeze|Show the plan/);
    for (const [url, form] of [
      ['/env/prod/rollback', { target: 'last' }],
      ['/env/prod/deploy', { version: 'v1.2.0' }],
      ['/env/prod/freeze', { message: 'x' }],
      ['/gate/poison', { commit: 'abc', message: 'x' }],
    ] as const) {
      expect((await post(url, { ...form, _csrf: bob.csrf }, bob)).status, url).toBe(403);
    }
    expect((await get('/env/prod/rollback?target=last', bob)).status).toBe(403);
    const api = await fetch(`${server.url}/api/rollback/prod`, {
      method: 'POST',
      headers: { authorization: `Bearer ${users.viewToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(api.status).toBe(403);
    expect(source.calls).toEqual([]);
  });

  it('limits a deployer of dev to dev: prod answers 403', async () => {
    const dee = await login('dee');
    expect((await post('/env/prod/rollback', { target: 'last', _csrf: dee.csrf }, dee)).status).toBe(403);
    expect((await post('/env/dev/rollback', { target: 'last', _csrf: dee.csrf }, dee)).status).toBe(303);
    expect(source.calls.pop()).toMatchObject({ action: 'rollback', env: 'dev', who: 'web:dee' });
  });

  it('refuses an action without the CSRF token, with a wrong one, or from another origin', async () => {
    const ana = await login('ana');
    expect((await post('/env/prod/rollback', { target: 'last' }, ana)).status).toBe(403);
    expect((await post('/env/prod/rollback', { target: 'last', _csrf: 'forged' }, ana)).status).toBe(403);
    const cross = await post('/env/prod/rollback', { target: 'last', _csrf: ana.csrf }, ana, {
      origin: 'https://evil.example',
    });
    expect(cross.status).toBe(403);
    expect(source.calls).toEqual([]);
    const ok = await post('/env/prod/rollback', { target: 'last', reason: 'broken', _csrf: ana.csrf }, ana);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe(`/runs/${RUN}`);
    expect(source.calls.pop()).toMatchObject({
      action: 'rollback',
      env: 'prod',
      who: 'web:ana',
      args: { target: { kind: 'last' }, reason: 'broken' },
    });
  });

  it('takes actions from an API token without a cookie, named api:<token> in the journal', async () => {
    const answer = await fetch(`${server.url}/api/deploy/prod`, {
      method: 'POST',
      headers: { authorization: `Bearer ${users.deployToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 'v1.2.0' }),
    });
    expect(answer.status).toBe(202);
    expect(await answer.json()).toMatchObject({ run: RUN, url: `/runs/${RUN}` });
    expect(source.calls.pop()).toMatchObject({ action: 'deploy', who: 'api:ci', args: { version: 'v1.2.0' } });
    const status = await get('/api/status/prod', undefined, { authorization: `Bearer ${users.viewToken}` });
    expect(JSON.parse(status.text)).toMatchObject({ env: 'prod', drift: false });
  });

  it('puts no secret in any page, API answer, report, event stream or error; markup from data is escaped', async () => {
    const ana = await login('ana');
    const urls = [
      '/',
      '/env/prod',
      '/env/dev',
      `/runs/${RUN}`,
      '/stats',
      '/gate',
      '/gate?check=v1.1.0',
      '/env/prod/deploy?version=v1.2.0',
      '/env/prod/rollback?target=last',
      '/env/prod/rollback?target=last&emergency=1',
      '/env/prod/rollback?to=v1.0.0',
      '/env/prod/freeze?message=db%20migration',
      '/gate/poison?commit=abc&message=bug',
      '/api/overview',
      '/api/status/prod',
      '/api/releases/prod',
      '/api/locks/prod',
      '/api/history/prod',
      '/api/rollback/prod',
      '/api/stats',
      '/api/poison',
      '/api/impact/p-1234abcd',
      '/api/check/v1.1.0',
      '/api/runs',
      `/api/runs/${RUN}`,
      `/api/report/${RUN}`,
      `/api/runs/${RUN}/events`,
      '/api/plan/prod/v1.2.0',
      '/no/such/page',
    ];
    let redacted = 0;
    for (const url of urls) {
      const answer = await get(url, ana);
      expect(answer.status, url).toBeLessThan(url === '/no/such/page' ? 500 : 300);
      expect(answer.text, url).not.toContain(SECRET);
      expect(answer.text, url).not.toContain(HOSTILE);
      if (answer.text.includes('[REDACTED]')) redacted++;
    }
    expect(redacted).toBeGreaterThan(10);
    const overview = await get('/', ana);
    expect(overview.text).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    const events = await get(`/api/runs/${RUN}/events`, ana);
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(events.text).toMatch(/event: line\ndata: \{.*rollout:relink/);
    expect(events.text).toMatch(/event: end\ndata: \{"end":true,"result":"success"\}/);
  });

  it('shows a deployer the actions, each behind a preview that names what it will do', async () => {
    const ana = await login('ana');
    const page = await get('/env/prod', ana);
    for (const label of ['Show the plan', 'Roll back (--last)', 'Emergency rollback', 'Freeze']) {
      expect(page.text).toContain(label);
    }
    for (const tag of ['v1.2.0', 'v1.1.0']) expect(page.text).toContain(`<option value="${tag}">`);
    const plan = await get('/env/prod/deploy?version=v1.2.0', ana);
    expect(plan.text).toContain('Deploy v1.2.0 to prod');
    expect(plan.text).toContain('nothing has been changed yet');
    expect(source.calls.pop()).toMatchObject({ action: 'plan', who: 'web:ana' });
    // The analysis the rollout holds for, and the box that skips it (with the reason).
    expect(plan.text).toContain('http://prometheus.test:9090, 10 × 30s, 1 failure(s) tolerated');
    expect(plan.text).toContain('<code>errors{node=~&quot;node1&quot;}</code>');
    expect(plan.text).toContain('name="skipAnalysis" value="1"');
    const skip = { version: 'v1.2.0', skipAnalysis: '1', reason: 'prometheus is down', _csrf: ana.csrf };
    expect((await post('/env/prod/deploy', skip, ana)).status).toBe(303);
    expect(source.calls.pop()).toMatchObject({
      action: 'deploy',
      who: 'web:ana',
      args: { version: 'v1.2.0', skipAnalysis: true, reason: 'prometheus is down' },
    });
    const emergency = await get('/env/prod/rollback?target=last&emergency=1', ana);
    expect(emergency.text).toContain('no drain, no smoke');
    expect(emergency.text).toContain('name="emergency" value="1"');
  });
});

describe('deploy serve: login rate limit', () => {
  it('answers 429 from the 6th failed try at a name (right password or not) and the 11th from an address', async () => {
    const other = await startServer({ host: '127.0.0.1', port: 0, usersFile: users.file }, fakeSource());
    try {
      const tryLogin = (user: string, password: string) =>
        fetch(`${other.url}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ user, password }).toString(),
          redirect: 'manual',
        });
      for (let i = 0; i < 5; i++) expect((await tryLogin('ana', `guess ${i}`)).status).toBe(401);
      const blocked = await tryLogin('ana', PASSWORD);
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      // Other names from this address keep their own tries, up to ten failures from the address in all.
      for (let i = 0; i < 5; i++) expect((await tryLogin(`eve${i}`, 'a wrong guess')).status).toBe(401);
      expect((await tryLogin('bob', PASSWORD)).status).toBe(429);
    } finally {
      await other.close();
    }
  });
});

describe('deploy serve: the login limit behind a proxy', () => {
  it('keys on the last X-Forwarded-For entry (the proxy wrote it), not on the ones the client sent', async () => {
    const proxied = await startServer(
      { host: '127.0.0.1', port: 0, usersFile: users.file, behindProxy: true },
      fakeSource(),
    );
    try {
      // Each try names another user and claims another address in front: only the proxy's entry is the same.
      const tryLogin = (i: number, forwarded: string) =>
        fetch(`${proxied.url}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwarded },
          body: new URLSearchParams({ user: `eve${i}`, password: 'a wrong guess' }).toString(),
          redirect: 'manual',
        });
      for (let i = 0; i < 10; i++) expect((await tryLogin(i, `10.0.0.${i}, 203.0.113.7`)).status).toBe(401);
      const blocked = await tryLogin(10, '10.0.0.99, 203.0.113.7');
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another client behind the same proxy is not held back by the first one's failures.
      expect((await tryLogin(11, '10.0.0.99, 203.0.113.8')).status).toBe(401);
    } finally {
      await proxied.close();
    }
  });
});

describe('deploy serve: sessions and the password they logged in with', () => {
  it('ends a session at once when its user gets a new password, or is removed and added again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-pw-'));
    const file = path.join(dir, 'users.json');
    fs.copyFileSync(users.file, file);
    fs.chmodSync(file, 0o600);
    const other = await startServer({ host: '127.0.0.1', port: 0, usersFile: file }, fakeSource());
    const loginAt = async (password: string) => {
      const answer = await fetch(`${other.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ user: 'ana', password }).toString(),
        redirect: 'manual',
      });
      return answer.status === 303 ? answer.headers.get('set-cookie')!.split(';')[0]! : undefined;
    };
    const status = async (cookie: string) =>
      (await fetch(`${other.url}/api/runs`, { headers: { cookie }, redirect: 'manual' })).status;
    const setAna = async (password: string | undefined) => {
      const data = readUsers(file);
      const rest = data.users.filter((u) => u.name !== 'ana');
      const ana = { name: 'ana', role: 'deployer' as const, created: new Date().toISOString() };
      const added = password === undefined ? [] : [{ ...ana, hash: await hashPassword(password) }];
      writeUsers(file, { ...data, users: [...rest, ...added] });
    };
    try {
      const old = (await loginAt(PASSWORD))!;
      expect(await status(old)).toBe(200);
      await setAna('a new long password');
      expect(await status(old)).toBe(401);
      expect(await loginAt(PASSWORD)).toBeUndefined();
      const fresh = (await loginAt('a new long password'))!;
      expect(await status(fresh)).toBe(200);
      await setAna(undefined);
      await setAna('a new long password');
      expect(await status(fresh)).toBe(401);
    } finally {
      await other.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy serve: the event stream redactor', () => {
  it('redacts a secret that arrives in two chunks, keeps a split UTF-8 character, and ends the last line', async () => {
    const bytes = new TextEncoder().encode(
      `data: {"message":"printed ${SECRET} in grün"}\n\ndata: {"message":"and ${SECRET}"}`,
    );
    const at = (text: string) => Buffer.from(bytes).indexOf(Buffer.from(text));
    // Cuts inside the first secret, inside the two bytes of "ü", and inside the second secret.
    const cuts = [at(SECRET) + 7, at('ü') + 1, Buffer.from(bytes).lastIndexOf(Buffer.from(SECRET)) + 4];
    const chunks = [0, ...cuts].map((from, i) => bytes.slice(from, [...cuts, bytes.length][i]));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const text = await new Response(redactLines(body)).text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SECRET.slice(0, 7));
    expect(text).toBe('data: {"message":"printed [REDACTED] in grün"}\n\ndata: {"message":"and [REDACTED]"}');
  });
});

describe('deploy serve: where it may listen', () => {
  it('refuses to start without a user, on any address', async () => {
    const options = { host: '127.0.0.1', port: 0, usersFile: '/nonexistent/users.json' };
    expect(() => checkBind(options, { users: [], tokens: [] })).toThrow(/no users .*nobody could log in/);
  });

  it('refuses a non-loopback address without TLS, unless a proxy is said to terminate it', async () => {
    const data = readUsers(users.file);
    for (const host of ['0.0.0.0', '::', '10.1.2.3']) {
      expect(() => checkBind({ host, port: 0, usersFile: users.file }, data)).toThrow(
        /refusing to serve on .* without TLS/,
      );
    }
    expect(() => checkBind({ host: '127.0.0.1', port: 0, usersFile: users.file }, data)).not.toThrow();
    await expect(startServer({ host: '0.0.0.0', port: 0, usersFile: users.file }, fakeSource())).rejects.toThrow(
      /without TLS/,
    );
    const proxied = await startServer(
      { host: '0.0.0.0', port: 0, usersFile: users.file, behindProxy: true },
      fakeSource(),
    );
    try {
      const answer = await fetch(`http://127.0.0.1:${proxied.port}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ user: 'ana', password: PASSWORD }).toString(),
        redirect: 'manual',
      });
      expect(answer.headers.get('set-cookie')).toMatch(/Secure/);
    } finally {
      await proxied.close();
    }
  });
});

describe('deploy serve over TLS', () => {
  it('serves HTTPS from a PEM certificate and key, on a non-loopback address, with Secure cookies', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-tls-'));
    const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore' },
    );
    const tls = await startServer(
      { host: '0.0.0.0', port: 0, usersFile: users.file, tls: { cert, key } },
      fakeSource(),
    );
    try {
      expect(tls.url).toMatch(/^https:/);
      const body = new URLSearchParams({ user: 'ana', password: PASSWORD }).toString();
      const cookie = await new Promise<string>((resolve, reject) => {
        const req = https.request(
          `https://127.0.0.1:${tls.port}/login`,
          {
            method: 'POST',
            rejectUnauthorized: false,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          },
          (res) => resolve(String(res.headers['set-cookie'] ?? '')),
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(cookie).toMatch(/relink_session=.*Secure/);
    } finally {
      await tls.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the users file', () => {
  it('keeps scrypt hashes in a 0600 file and refuses one others can read', async () => {
    const data = readUsers(users.file);
    expect(fs.statSync(users.file).mode & 0o777).toBe(0o600);
    const ana = data.users.find((u) => u.name === 'ana')!;
    expect(ana.hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(JSON.stringify(data)).not.toContain(PASSWORD);
    expect(await verifyPassword(PASSWORD, ana.hash)).toBe(true);
    expect(await verifyPassword('not it at all', ana.hash)).toBe(false);
    expect(await hashPassword(PASSWORD)).not.toBe(ana.hash);
    fs.chmodSync(users.file, 0o644);
    try {
      expect(() => readUsers(users.file)).toThrow(/readable by others.*/);
    } finally {
      fs.chmodSync(users.file, 0o600);
    }
    writeUsers(users.file, data);
    expect(fs.statSync(users.file).mode & 0o777).toBe(0o600);
  });
});
