/**
 * Sessions and CSRF tokens (the login limit is login-limit.ts). Sessions live in this process's memory
 * (a restart logs everyone out) behind a cookie that carries a random id signed with a per-process key; every
 * request re-reads the user from the users file, so a removed user or changed role takes effect at once,
 * and a session holds a fingerprint of the password hash it logged in with, so a new password (or the
 * user removed and added again) ends the sessions opened with the old one.
 */
import crypto from 'node:crypto';

export interface Session {
  readonly id: string;
  readonly user: string;
  /** Sent back in every form and in the `x-csrf-token` header of script calls. */
  readonly csrf: string;
  /** An HMAC of the user's password hash at login: a session outlives no change of password. */
  readonly credential: string;
  readonly created: number;
  seen: number;
}

export const SESSION_COOKIE = 'relink_session';

export class Sessions {
  private readonly key = crypto.randomBytes(32);
  private readonly live = new Map<string, Session>();

  constructor(
    private readonly now: () => number = Date.now,
    /** Idle sessions end after this long (default 8 h); any session after `maxMs` (default 24 h). */
    private readonly idleMs = 8 * 3600_000,
    private readonly maxMs = 24 * 3600_000,
  ) {}

  /** A session for a user who just logged in with the password whose stored hash is `hash`. */
  create(user: string, hash: string): { session: Session; cookie: string } {
    this.prune();
    const id = crypto.randomBytes(24).toString('base64url');
    const t = this.now();
    const csrf = crypto.randomBytes(24).toString('base64url');
    const session: Session = { id, user, csrf, credential: this.fingerprint(hash), created: t, seen: t };
    this.live.set(id, session);
    return { session, cookie: `${id}.${this.sign(id)}` };
  }

  /**
   * The session a cookie value names, if its signature holds, it has not expired, and `hashOf` (the
   * users file now) still gives its user the password hash it logged in with; otherwise it ends.
   */
  read(cookie: string | undefined, hashOf: (user: string) => string | undefined): Session | undefined {
    const session = this.lookup(cookie);
    if (!session) return undefined;
    const t = this.now();
    const hash = hashOf(session.user);
    const expired = t - session.seen > this.idleMs || t - session.created > this.maxMs;
    if (expired || hash === undefined || !same(session.credential, this.fingerprint(hash))) {
      this.live.delete(session.id);
      return undefined;
    }
    session.seen = t;
    return session;
  }

  drop(cookie: string | undefined): void {
    const session = this.lookup(cookie);
    if (session) this.live.delete(session.id);
  }

  private lookup(cookie: string | undefined): Session | undefined {
    const [id, signature] = (cookie ?? '').split('.');
    if (!id || !signature || !same(signature, this.sign(id))) return undefined;
    return this.live.get(id);
  }

  private fingerprint(hash: string): string {
    return crypto.createHmac('sha256', this.key).update(`credential:${hash}`).digest('base64url');
  }

  private sign(id: string): string {
    return crypto.createHmac('sha256', this.key).update(id).digest('base64url');
  }

  private prune(): void {
    const t = this.now();
    for (const [id, s] of this.live) if (t - s.seen > this.idleMs || t - s.created > this.maxMs) this.live.delete(id);
  }
}

/** Constant-time comparison of two strings. */
export function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
