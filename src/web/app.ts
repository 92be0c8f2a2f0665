// The dashboard's HTTP application: security headers and redaction on every answer, the login, and
// the gate every other route sits behind (a session cookie with a CSRF token, or an API token).
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { processRedactor } from '../log/redact.js';
import type { ConnInfo } from '../transport/web-server.js';
import { CSS, JS } from './assets.js';
import { SESSION_COOKIE, same } from './auth.js';
import { html, page } from './html.js';
import { type AppDeps, type AppEnv, clientAddress, csrfOf, field } from './http.js';
import { redactLines } from './redact-stream.js';
import { registerActions } from './routes-actions.js';
import { registerApi } from './routes-api.js';
import { registerPages } from './routes-pages.js';
import { DUMMY_HASH, findToken, type Principal, verifyPassword } from './users.js';

const HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** Every answer leaves through the process redactor: no secret in a page, an API answer or an error. */
async function redacted(response: Response): Promise<Response> {
  const headers = new Headers(response.headers);
  for (const [k, v] of Object.entries(HEADERS)) if (!headers.has(k)) headers.set(k, v);
  const type = headers.get('content-type') ?? '';
  if (type.startsWith('text/event-stream') && response.body) {
    return new Response(redactLines(response.body), { status: response.status, headers });
  }
  if (!response.body || !/^(text\/|application\/json)/.test(type)) {
    return new Response(response.body, { status: response.status, headers });
  }
  const text = processRedactor.apply(await response.text());
  headers.delete('content-length');
  return new Response(text, { status: response.status, headers });
}

function loginPage(project: string, next: string, message?: string): string {
  return page({
    title: 'Log in',
    project,
    flash: message ? { tone: 'bad', text: message } : undefined,
    body: html`<form method="post" action="/login" class="login">
      <input type="hidden" name="next" value="${next}">
      <label>user <input name="user" autocomplete="username" required autofocus></label>
      <label>password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit" class="primary">Log in</button></form>`,
  });
}

/** Only a path on this server: never a redirect to another site. */
function safeNext(next: string): string {
  return /^\/(?!\/)[\w\-./?=&%]*$/.test(next) ? next : '/';
}

export function createApp(deps: AppDeps): (request: Request, conn: ConnInfo) => Promise<Response> {
  const app = new Hono<AppEnv>();
  const { sessions, limiter } = deps;

  app.get('/assets/app.css', (c) => c.body(CSS, 200, { 'content-type': 'text/css; charset=utf-8' }));
  app.get('/assets/app.js', (c) => c.body(JS, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/healthz', (c) => c.text('ok'));

  // A form posted from another site is refused outright, whatever it carries.
  app.use('*', async (c, next) => {
    const origin = c.req.header('origin');
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && origin && origin !== 'null') {
      const host = c.req.header('x-forwarded-host') ?? c.req.header('host');
      if (new URL(origin).host !== host) return c.text('cross-site request refused', 403);
    }
    await next();
  });

  app.get('/login', (c) => c.html(loginPage(deps.source.project, safeNext(c.req.query('next') ?? '/'))));
  app.post('/login', async (c) => {
    const body = await c.req.parseBody();
    const name = field(body.user).trim();
    const next = safeNext(field(body.next) || '/');
    const keys = [`addr:${clientAddress(c, deps.trustProxy)}`, `user:${name.toLowerCase()}`];
    const wait = limiter.retryAfter(keys);
    if (wait > 0) {
      const message = `too many failed logins: try again in ${Math.ceil(wait / 60)} min`;
      return c.html(loginPage(deps.source.project, next, message), 429, { 'retry-after': String(wait) });
    }
    const user = deps.users().users.find((u) => u.name === name);
    const ok = await verifyPassword(field(body.password), user?.hash ?? DUMMY_HASH);
    if (!user || !ok) {
      limiter.fail(keys);
      return c.html(loginPage(deps.source.project, next, 'wrong user or password'), 401);
    }
    limiter.succeed(keys);
    const { cookie } = sessions.create(user.name, user.hash);
    setCookie(c, SESSION_COOKIE, cookie, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: deps.secureCookies,
      path: '/',
    });
    return c.redirect(next, 303);
  });

  // Everything below needs a principal: an API token, or a session whose user still exists with the
  // password the session logged in with.
  app.use('*', async (c, next) => {
    const file = deps.users();
    const bearer = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    let who: Principal | undefined;
    if (bearer) {
      const token = findToken(file, bearer);
      if (token) who = { name: token.name, kind: 'token', role: token.role, envs: token.envs };
    } else {
      const userNamed = (name: string) => file.users.find((u) => u.name === name);
      const session = sessions.read(getCookie(c, SESSION_COOKIE), (name) => userNamed(name)?.hash);
      const user = session && userNamed(session.user);
      if (session && user) {
        c.set('session', session);
        who = { name: user.name, kind: 'user', role: user.role, envs: user.envs };
      }
    }
    if (!who) {
      if (c.req.path.startsWith('/api/') || c.req.method !== 'GET') {
        return c.json({ error: 'log in first, or send an API token (Authorization: Bearer ...)' }, 401);
      }
      return c.html(loginPage(deps.source.project, safeNext(c.req.url.slice(new URL(c.req.url).origin.length))), 401);
    }
    c.set('who', who);
    // A session's changes need its CSRF token (forms: _csrf; scripts: x-csrf-token). Tokens are not ambient.
    if (who.kind === 'user' && c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const type = c.req.header('content-type') ?? '';
      const form = /form/.test(type) ? field((await c.req.parseBody())._csrf) : '';
      const sent = c.req.header('x-csrf-token') ?? form;
      if (!sent || !same(sent, csrfOf(c)))
        return c.json({ error: 'missing or wrong CSRF token: reload the page' }, 403);
    }
    await next();
  });

  app.post('/logout', (c) => {
    sessions.drop(getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });

  registerPages(app, deps);
  registerActions(app, deps);
  registerApi(app, deps);
  app.onError((error, c) => {
    process.stderr.write(`${processRedactor.apply(String(error.stack ?? error))}\n`);
    return c.json({ error: processRedactor.apply(error.message) }, 500);
  });

  return async (request, conn) => redacted(await app.fetch(request, { conn }));
}
