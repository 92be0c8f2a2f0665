// Request bodies one client may send: 8 KB for a login, 1 MB of JSON on the API, 64 KB for any other form.
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv, Ctx } from './http.js';

const KB = 1024;
export const BODY_LIMITS = { login: 8 * KB, json: 1024 * KB, form: 64 * KB } as const;

function tooLarge(c: Ctx, max: number): Response {
  const error = `request body too large: at most ${max / KB} KB here`;
  // The rest of the body is not kept: @hono/node-server reads and drops it for at most 500 ms (so the
  // client can read this answer), then closes the connection.
  return c.req.path.startsWith('/api/') ? c.json({ error }, 413) : c.text(error, 413);
}

/**
 * hono's bodyLimit counts the bytes as they arrive: a chunked body is cut at the limit, never read
 * whole; a declared Content-Length over the limit is refused before a byte is read, and node's parser
 * never hands on more bytes than that header declares (a request with both headers it refuses itself).
 */
export function limitBodies(): MiddlewareHandler<AppEnv> {
  const make = (max: number) => bodyLimit({ maxSize: max, onError: (c) => tooLarge(c as Ctx, max) });
  const login = make(BODY_LIMITS.login);
  const json = make(BODY_LIMITS.json);
  const form = make(BODY_LIMITS.form);
  return (c, next) => {
    const path = c.req.path;
    return (path === '/login' ? login : path.startsWith('/api/') ? json : form)(c, next);
  };
}
