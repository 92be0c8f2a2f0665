// The dashboard's branch picker and log search, through the real server with the fake source (the actions
// only record how they were called; the sandbox test, branches.test.ts, runs the operation for real).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processRedactor } from '../../src/log/redact.js';
import type { WebServer } from '../../src/transport/web-server.js';
import { startServer } from '../../src/web/server.js';
import { PASSWORD, RUN, SECRET, fakeSource, usersFile } from '../helpers/fake-web.js';

let server: WebServer;
const source = fakeSource();

beforeAll(async () => {
  processRedactor.add(SECRET);
  const users = await usersFile();
  server = await startServer({ host: '127.0.0.1', port: 0, usersFile: users.file }, source);
});
afterAll(() => server.close());

interface Session {
  cookie: string;
  csrf: string;
}

async function request(url: string, session: Session | undefined, body?: URLSearchParams) {
  const response = await fetch(`${server.url}${url}`, {
    method: body ? 'POST' : 'GET',
    headers: {
      ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...(session ? { cookie: session.cookie } : {}),
    },
    body: body?.toString(),
    redirect: 'manual',
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function login(user: string): Promise<Session> {
  const answer = await request('/login', undefined, new URLSearchParams({ user, password: PASSWORD }));
  const cookie = answer.headers.get('set-cookie')!.split(';')[0]!;
  const page = await request('/', { cookie, csrf: '' });
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)![1]! };
}

describe('deploy serve: the branch picker', () => {
  it('shows a deployer the remote branches with commit, author and age as checkboxes, escaped', async () => {
    const ana = await login('ana');
    const page = await request('/env/dev', ana);
    expect(page.text).toContain('action="/env/dev/branches"');
    expect(page.text).toMatch(/<input type="checkbox" name="branch" value="feat-a"/);
    expect(page.text).toContain('&lt;b&gt;ana&lt;/b&gt;');
    expect(page.text).toContain('aaaaaaaaaa');
    // prod takes tags only: no picker there.
    expect((await request('/env/prod', ana)).text).not.toContain('/branches"');
    // A viewer sees no picker and cannot post to it.
    const bob = await login('bob');
    expect((await request('/env/dev', bob)).text).not.toContain('/branches"');
    const posted = new URLSearchParams([
      ['branch', 'feat-a'],
      ['_csrf', bob.csrf],
    ]);
    expect((await request('/env/dev/branches', bob, posted)).status).toBe(403);
  });

  it('posts the ticked branches and the base to the same operation as the CLI, with the CSRF token', async () => {
    const ana = await login('ana');
    const form = (csrf: string) =>
      new URLSearchParams([
        ['branch', 'feat-a'],
        ['branch', 'feat-b'],
        ['base', 'main'],
        ['_csrf', csrf],
      ]);
    expect((await request('/env/dev/branches', ana, form('forged'))).status).toBe(403);
    const answer = await request('/env/dev/branches', ana, form(ana.csrf));
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe(`/runs/${RUN}`);
    expect(source.calls.pop()).toEqual({
      action: 'deployBranches',
      env: 'dev',
      who: 'web:ana',
      args: { branches: ['feat-a', 'feat-b'], base: 'main' },
    });
  });
});

describe('deploy serve: the log search', () => {
  it('is a GET form on the environment page; its answer is escaped, per node', async () => {
    const ana = await login('ana');
    expect((await request('/env/dev', ana)).text).toMatch(/<form method="get" action="\/env\/dev\/logs">/);
    const found = await request(`/env/dev/logs?grep=${encodeURIComponent('<trace>')}`, ana);
    expect(found.status).toBe(200);
    expect(found.text).toContain('&lt;script&gt;trace-1&lt;/script&gt;');
    expect(found.text).not.toContain('<script>trace-1');
    expect(found.text).toContain('value="&lt;trace&gt;"');
    expect(found.text).toContain('data-node="node1"');
    const bob = await login('bob');
    expect((await request('/env/dev/logs?grep=x', bob)).status).toBe(403);
  });
});
