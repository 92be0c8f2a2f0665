// What the routes share: the request's principal and session, the page frame, role checks, and how an
// engine error becomes an HTTP answer.
import type { Context, Hono } from 'hono';
import { EXIT, RelinkError, UsageError, errorMessage } from '../errors.js';
import { processRedactor } from '../log/redact.js';
import { phrase, type NextStep, stepsIn } from '../app/phrase.js';
import type { ConnInfo } from '../app/serve.js';
import type { Session, Sessions } from './auth.js';
import { html, type PageOptions, page } from './html.js';
import type { StreamLimits } from './stream-limits.js';
import type { LoginLimiter } from './login-limit.js';
import type { LastUsed } from './seen.js';
import type { StateSource } from './types.js';
import { type Principal, roleIn } from './users.js';

export interface AppDeps {
  readonly source: StateSource;
  /** The users and tokens, re-read when the file changes. */
  readonly users: () => import('./users.js').UsersFile;
  readonly sessions: Sessions;
  readonly limiter: LoginLimiter;
  /** Open event streams, per principal and in all. */
  readonly streams: StreamLimits;
  /** When users last logged in and tokens were last used. */
  readonly seen: LastUsed;
  /** Cookies get `Secure` (relink serves TLS, or a proxy in front does). */
  readonly secureCookies: boolean;
  /**
   * Behind a proxy: the client's address is the last X-Forwarded-For entry (the one the proxy wrote), and
   * X-Forwarded-Host names this site. Without it no X-Forwarded-* header means anything.
   */
  readonly trustProxy: boolean;
}

export type AppEnv = {
  Bindings: { conn: ConnInfo };
  Variables: { who: Principal; session?: Session };
};
export type App = Hono<AppEnv>;
export type Ctx = Context<AppEnv>;

/** The name the journal, the lock owner and the report record for what this principal does. */
export function journalName(who: Principal): string {
  return `${who.kind === 'token' ? 'api' : 'web'}:${who.name}`;
}

/**
 * The client's address for the login limit. Behind a proxy it is the last X-Forwarded-For entry: the
 * proxy appends the address it saw, and every entry before it is whatever the client chose to send.
 */
export function clientAddress(c: Ctx, trustProxy: boolean): string {
  const forwarded = trustProxy ? c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim() : undefined;
  return forwarded || c.env.conn.remote || 'unknown';
}

export function csrfOf(c: Ctx): string {
  return c.get('session')?.csrf ?? '';
}

/** A whole page in the frame, for the logged-in principal. */
export function render(
  c: Ctx,
  deps: AppDeps,
  o: Omit<PageOptions, 'project' | 'who' | 'csrf' | 'envs'>,
  status = 200,
): Response {
  const text = page({
    ...o,
    project: deps.source.project,
    who: c.get('who'),
    csrf: csrfOf(c),
    envs: deps.source.environments(),
  });
  return c.html(text, status as 200);
}

export function canDeploy(c: Ctx, env: string): boolean {
  return roleIn(c.get('who'), env) === 'deployer';
}

/** 403 unless the principal is a deployer in this environment. */
export function forbidden(c: Ctx, deps: AppDeps, what: string): Response {
  const who = c.get('who');
  const text = `${who.name} is a viewer here: ${what} needs the deployer role`;
  if (c.req.path.startsWith('/api/')) return c.json({ error: text }, 403);
  return render(c, deps, { title: 'Not allowed', flash: { tone: 'bad', text }, body: emptyBody }, 403);
}

const emptyBody = html``;

/** The HTTP status for an engine error: bad input 400, a gate 409, a lock 423, anything else 500. */
export function statusOf(error: unknown): 400 | 409 | 423 | 500 {
  const code = error instanceof RelinkError ? error.exitCode : EXIT.failed;
  return code === EXIT.usage ? 400 : code === EXIT.gate ? 409 : code === EXIT.lock ? 423 : 500;
}

/** The message, the hint as the CLI prints it, and the commands the hint names as data (`next`). */
export function errorJson(error: unknown): { error: string; hint?: string; next?: NextStep[]; exitCode: number } {
  const hint = error instanceof RelinkError ? error.hint : undefined;
  const next = stepsIn(hint);
  return {
    error: processRedactor.apply(errorMessage(error)),
    ...(hint ? { hint: processRedactor.apply(phrase(hint)) } : {}),
    ...(next.length ? { next: processRedactor.applyDeep(next) } : {}),
    exitCode: error instanceof RelinkError ? error.exitCode : EXIT.failed,
  };
}

/** An error on a page: the message and the hint, in the frame. */
export function errorPage(c: Ctx, deps: AppDeps, title: string, error: unknown): Response {
  const e = errorJson(error);
  const text = `${e.error}${e.hint ? `\nhint: ${e.hint}` : ''}`;
  return render(c, deps, { title, flash: { tone: 'bad', text }, body: emptyBody }, statusOf(error));
}

/** A form or query field as one string (the first, when repeated). */
export function field(value: unknown): string {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' ? v : '';
}

/** A form or query field as a list. */
export function fields(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && v !== '');
}

/** The posted form (bounded by limits.ts); one that cannot be parsed is bad input (400), not a server error. */
export async function readForm(c: Ctx): Promise<Record<string, unknown>> {
  try {
    return (await c.req.parseBody({ all: true })) as Record<string, unknown>;
  } catch {
    throw new UsageError('the form could not be read: send it as application/x-www-form-urlencoded');
  }
}

/** The posted JSON object (bounded by limits.ts): none is `{}`, anything but an object is bad input (400). */
export async function readJson(c: Ctx): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('the body is not JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError('the body must be a JSON object');
  return value as Record<string, unknown>;
}
