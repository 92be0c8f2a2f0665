// The dashboard's HTTP application: security headers and redaction on every answer, the login, and
// the gate every other route sits behind (a session cookie with a CSRF token, or an API token).
import { Hono } from 'hono';
import { deleteCookie, getCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { processRedactor } from '../log/redact.js';
import type { ConnInfo } from '../app/serve.js';
import { CSS, JS } from './assets.js';
import { SESSION_COOKIE, same } from './auth.js';
import { registerEvents } from './events.js';
import { type AppDeps, type AppEnv, type Ctx, csrfOf, errorJson, field, readForm, statusOf } from './http.js';
import { limitBodies } from './limits.js';
import { loginPage, registerLogin, safeNext } from './login.js';
import { redactLines } from './redact-stream.js';
import { registerActions } from './routes-actions.js';
import { registerApi } from './routes-api.js';
import { registerApprovals } from './routes-approvals.js';
import { registerMetrics } from './metrics.js';
import { registerPages } from './routes-pages.js';
import { expired, findToken, type Principal } from './users.js';

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

/** Whether a request from a page at `origin` comes from this site. */
function sameSite(c: Ctx, origin: string, trustProxy: boolean): boolean {
  const host = (trustProxy ? c.req.header('x-forwarded-host') : undefined) ?? c.req.header('host');
  return URL.canParse(origin) && new URL(origin).host === host;
}

export function createApp(deps: AppDeps): (request: Request, conn: ConnInfo) => Promise<Response> {
  const app = new Hono<AppEnv>();
  const { sessions } = deps;

  app.use('*', limitBodies());
  app.get('/assets/app.css', (c) => c.body(CSS, 200, { 'content-type': 'text/css; charset=utf-8' }));
  app.get('/assets/app.js', (c) => c.body(JS, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/healthz', (c) => c.text('ok'));

  // A form posted from another site is refused outright, whatever it carries; so is one whose origin is no URL.
  app.use('*', async (c, next) => {
    const origin = c.req.header('origin');
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && origin && origin !== 'null') {
      if (!sameSite(c, origin, deps.trustProxy)) return c.text('cross-site request refused', 403);
    }
    await next();
  });

  registerLogin(app, deps);

  // Everything below needs a principal: an API token, or a session whose user still exists with the
  // password the session logged in with.
  app.use('*', async (c, next) => {
    const file = deps.users();
    const bearer = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    let who: Principal | undefined;
    if (bearer) {
      const token = findToken(file, bearer);
      if (token && expired(token)) {
        const error = `the API token "${token.name}" expired on ${token.expires!.slice(0, 10)}`;
        const hint = `make a new one: deploy serve --add-token ${token.name} --role ${token.role}`;
        return c.json({ error, hint }, 401);
      }
      if (token) {
        deps.seen.used('token', token.name);
        who = { name: token.name, kind: 'token', role: token.role, envs: token.envs };
      }
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
      if (c.req.path.startsWith('/api/') || c.req.path === '/metrics' || c.req.method !== 'GET') {
        return c.json({ error: 'log in first, or send an API token (Authorization: Bearer ...)' }, 401);
      }
      return c.html(loginPage(deps.source.project, safeNext(c.req.url.slice(new URL(c.req.url).origin.length))), 401);
    }
    c.set('who', who);
    // A session's changes need its CSRF token (forms: _csrf; scripts: x-csrf-token). Tokens are not ambient.
    if (who.kind === 'user' && c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const type = c.req.header('content-type') ?? '';
      const form = /form/.test(type) ? field((await readForm(c))._csrf) : '';
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
  registerEvents(app, deps);
  registerActions(app, deps);
  registerApi(app, deps);
  registerApprovals(app, deps);
  registerMetrics(app, deps);
  // Bad input is answered where it is found (4xx); what reaches here unexpected is logged, and the answer
  // says only that it happened.
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    const status = statusOf(error);
    if (status !== 500) return c.json(errorJson(error), status);
    process.stderr.write(`${processRedactor.apply(String(error.stack ?? error))}\n`);
    return c.json({ error: 'internal error: the server log says more' }, 500);
  });

  return async (request, conn) => redacted(await app.fetch(request, { conn }));
}
