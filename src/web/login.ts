// The login page and its form. The limit decides and counts before scrypt runs (login-limit.ts), and
// the body it reads is at most 8 KB (limits.ts).
import { setCookie } from 'hono/cookie';
import { SESSION_COOKIE } from './auth.js';
import { html, page } from './html.js';
import { type App, type AppDeps, clientAddress, field, readForm } from './http.js';
import { DUMMY_HASH, verifyPassword } from './users.js';

export function loginPage(project: string, next: string, message?: string): string {
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
export function safeNext(next: string): string {
  return /^\/(?!\/)[\w\-./?=&%]*$/.test(next) ? next : '/';
}

export function registerLogin(app: App, deps: AppDeps): void {
  const { sessions, limiter } = deps;
  app.get('/login', (c) => c.html(loginPage(deps.source.project, safeNext(c.req.query('next') ?? '/'))));
  app.post('/login', async (c) => {
    const body = await readForm(c);
    const name = field(body.user).trim();
    const next = safeNext(field(body.next) || '/');
    const decision = limiter.begin(clientAddress(c, deps.trustProxy), name);
    if (!decision.ok) {
      const headers = { 'retry-after': String(decision.retryAfter) };
      return c.html(loginPage(deps.source.project, next, decision.why), decision.status, headers);
    }
    const user = deps.users().users.find((u) => u.name === name);
    let ok = false;
    try {
      ok = await verifyPassword(field(body.password), user?.hash ?? DUMMY_HASH);
    } finally {
      limiter.end(decision.ticket, ok && Boolean(user));
    }
    if (!user || !ok) return c.html(loginPage(deps.source.project, next, 'wrong user or password'), 401);
    deps.seen.used('user', user.name);
    const { cookie } = sessions.create(user.name, user.hash);
    setCookie(c, SESSION_COOKIE, cookie, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: deps.secureCookies,
      path: '/',
    });
    return c.redirect(next, 303);
  });
}
