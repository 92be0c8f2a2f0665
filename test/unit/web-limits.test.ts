// The dashboard's limits, piece by piece: the login limiter, event stream caps, the shared run tail, the
// cache that serves a slightly old read while it reloads, token expiry and last use, the redactor's HTML
// forms, and bad input answered 4xx (an unexpected error 500 without its message).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { processRedactor, Redactor } from '../../src/log/redact.js';
import { esc } from '../../src/web/html.js';
import { StreamLimits } from '../../src/web/stream-limits.js';
import { addressKey, LOGIN_LIMITS, LoginLimiter } from '../../src/web/login-limit.js';
import { FileRuns } from '../../src/web/runs.js';
import { LastUsed, readSeen, seenFile } from '../../src/web/seen.js';
import { startServer } from '../../src/web/server.js';
import { Cached } from '../../src/web/source.js';
import type { RunEnd, RunLine } from '../../src/web/types.js';
import { expired, readUsers, tokenHash, writeUsers } from '../../src/web/users.js';
import { fakeSource, SECRET, usersFile } from '../helpers/fake-web.js';

afterEach(() => vi.useRealTimers());

describe('the login limiter', () => {
  const at = (t: { now: number }) => () => t.now;

  it('counts an attempt before its check, and lets 2 checks run per address and 4 in all, refusing the rest', () => {
    const limiter = new LoginLimiter(LOGIN_LIMITS, () => 0);
    const a = limiter.begin('10.0.0.1', 'ana');
    const b = limiter.begin('10.0.0.1', 'ana');
    expect(a.ok && b.ok).toBe(true);
    expect(limiter.begin('10.0.0.1', 'bob')).toMatchObject({ ok: false, status: 429, retryAfter: 1 });
    expect(limiter.begin('10.0.0.2', 'ana').ok).toBe(true);
    expect(limiter.begin('10.0.0.3', 'ana').ok).toBe(true);
    expect(limiter.begin('10.0.0.4', 'ana')).toMatchObject({ ok: false, status: 503, retryAfter: 1 });
    if (a.ok) limiter.end(a.ticket, false);
    expect(limiter.begin('10.0.0.4', 'ana').ok).toBe(true);
  });

  it('refuses a 6th try at one name from one address and an 11th from one address, until the window passes', () => {
    const t = { now: 0 };
    const limiter = new LoginLimiter(LOGIN_LIMITS, at(t));
    const fail = (address: string, user: string) => {
      const d = limiter.begin(address, user);
      if (d.ok) limiter.end(d.ticket, false);
      return d;
    };
    for (let i = 0; i < 5; i++) expect(fail('10.0.0.1', 'ana').ok).toBe(true);
    expect(fail('10.0.0.1', 'ana')).toMatchObject({ ok: false, status: 429, retryAfter: 900 });
    for (let i = 0; i < 5; i++) expect(fail('10.0.0.1', `eve${i}`).ok).toBe(true);
    expect(fail('10.0.0.1', 'zed').ok).toBe(false);
    expect(fail('10.0.0.2', 'ana').ok).toBe(true);
    t.now = LOGIN_LIMITS.windowMs;
    expect(fail('10.0.0.1', 'ana').ok).toBe(true);
  });

  it('holds a name back from addresses that failed already, never from a clean one', () => {
    const limiter = new LoginLimiter(LOGIN_LIMITS, () => 0);
    for (let i = 0; i < 20; i++) {
      const d = limiter.begin(`10.0.1.${i}`, 'ana');
      if (d.ok) limiter.end(d.ticket, false);
    }
    expect(limiter.begin('10.0.1.0', 'ana').ok).toBe(false);
    const dirty = limiter.begin('10.0.2.1', 'bob');
    if (dirty.ok) limiter.end(dirty.ticket, false);
    expect(limiter.begin('10.0.2.1', 'ana').ok).toBe(false);
    expect(limiter.begin('10.0.3.1', 'ana').ok).toBe(true);
  });

  it('takes back the attempt of a success', () => {
    const limiter = new LoginLimiter(LOGIN_LIMITS, () => 0);
    for (let i = 0; i < 4; i++) {
      const d = limiter.begin('10.0.0.1', 'ana');
      if (d.ok) limiter.end(d.ticket, false);
    }
    const good = limiter.begin('10.0.0.1', 'ana');
    if (good.ok) limiter.end(good.ticket, true);
    for (let i = 0; i < 5; i++) {
      const d = limiter.begin('10.0.0.1', 'ana');
      expect(d.ok).toBe(true);
      if (d.ok) limiter.end(d.ticket, false);
    }
  });

  it('counts IPv6 clients by their /64, and IPv4 in IPv6 as IPv4', () => {
    expect(addressKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(addressKey('2001:db8::1')).toBe(addressKey('2001:db8:0:0:ffff::2'));
    expect(addressKey('2001:db8:0:1::1')).not.toBe(addressKey('2001:db8::1'));
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('event stream limits', () => {
  it('allows 10 per principal and 100 in all; a release counts once', () => {
    const limits = new StreamLimits();
    const taken = Array.from({ length: 10 }, () => limits.take('user ana'));
    expect(limits.take('user ana')).toEqual({ refused: '10 event streams open for user ana already' });
    for (let i = 0; i < 90; i++) expect('release' in limits.take(`token t${i}`)).toBe(true);
    expect(limits.take('user bob')).toEqual({ refused: '100 event streams open already' });
    const first = taken[0]!;
    if ('release' in first) {
      first.release();
      first.release();
    }
    expect(limits.streams).toBe(99);
    expect('release' in limits.take('user ana')).toBe(true);
    expect(limits.take('user bob')).toMatchObject({ refused: expect.any(String) });
  });
});

describe('following a run', () => {
  it('reads its log once for all followers, and stops when the last one leaves', async () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-tail-'));
    const id = '20261201-120000-abcdef';
    const log = path.join(state, 'logs', `${id}.jsonl`);
    fs.mkdirSync(path.dirname(log));
    const line = (o: object) => `${JSON.stringify({ time: new Date().toISOString(), ...o })}\n`;
    fs.writeFileSync(log, line({ kind: 'run', command: 'deploy prod v1', env: 'prod' }) + line({ phase: 'gates' }));
    const runs = new FileRuns(state);
    const one = new AbortController();
    const two = new AbortController();
    const a = runs.follow(id, one.signal)[Symbol.asyncIterator]();
    const b = runs.follow(id, two.signal)[Symbol.asyncIterator]();
    const next = async (it: AsyncIterator<RunLine | RunEnd>) => (await it.next()).value as RunLine;
    expect((await next(a)).command).toBe('deploy prod v1');
    expect((await next(b)).command).toBe('deploy prod v1');
    expect(runs.tailCount()).toBe(1);
    await next(a);
    await next(b);
    fs.appendFileSync(log, line({ message: `printed ${SECRET}` }));
    processRedactor.add(SECRET);
    const [x, y] = await Promise.all([next(a), next(b)]);
    expect(x.message).toBe('printed [REDACTED]');
    expect(y).toEqual(x);
    one.abort();
    expect((await a.next()).done).toBe(true);
    expect(runs.tailCount()).toBe(1);
    two.abort();
    expect((await b.next()).done).toBe(true);
    expect(runs.tailCount()).toBe(0);
    fs.rmSync(state, { recursive: true, force: true });
  });
});

describe('the cache of what was read from the nodes', () => {
  it('serves a read up to twice its age limit while it reloads; an older one, or fresh, waits', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let loads = 0;
    const cached = new Cached(1000, async () => ++loads);
    expect(await cached.get()).toBe(1);
    vi.advanceTimersByTime(1500);
    expect(await cached.get()).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await cached.get()).toBe(2);
    vi.advanceTimersByTime(2500);
    expect(await cached.get()).toBe(3);
    expect(await cached.get(true)).toBe(4);
  });
});

describe('API tokens', () => {
  it('expire; one made before tokens expired works on; use is noted at most once a minute', async () => {
    const now = new Date('2027-01-01T00:00:00Z');
    const base = { name: 'ci', role: 'viewer' as const, hash: 'x', created: '2026-01-01' };
    expect(expired({ ...base, expires: '2026-12-31T00:00:00Z' }, now)).toBe(true);
    expect(expired({ ...base, expires: 'garbage' }, now)).toBe(true);
    expect(expired({ ...base, expires: '2027-02-01T00:00:00Z' }, now)).toBe(false);
    expect(expired(base, now)).toBe(false);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'relink-seen-')), 'users.json');
    const t = { now: Date.parse('2027-01-01T00:00:00Z') };
    const seen = new LastUsed(seenFile(file), 60_000, () => t.now);
    seen.used('token', 'ci');
    t.now += 30_000;
    seen.used('token', 'ci');
    expect(readSeen(seenFile(file))).toEqual({ 'token:ci': '2027-01-01T00:00:00.000Z' });
    expect(fs.statSync(seenFile(file)).mode & 0o777).toBe(0o600);
  });

  it('an expired token is refused with 401 and says so', async () => {
    const users = await usersFile();
    const data = readUsers(users.file);
    const gone = { name: 'gone', role: 'viewer' as const, hash: tokenHash('rlk_gone-0123456789'), created: '2026' };
    writeUsers(users.file, { ...data, tokens: [...data.tokens, { ...gone, expires: '2026-01-01T00:00:00Z' }] });
    const server = await startServer({ host: '127.0.0.1', port: 0, usersFile: users.file }, fakeSource());
    try {
      const answer = await fetch(`${server.url}/api/runs`, {
        headers: { authorization: 'Bearer rlk_gone-0123456789' },
      });
      expect(answer.status).toBe(401);
      expect(await answer.json()).toMatchObject({ error: 'the API token "gone" expired on 2026-01-01' });
      const old = await fetch(`${server.url}/api/runs`, { headers: { authorization: `Bearer ${users.viewToken}` } });
      expect(old.status).toBe(200);
      expect(readSeen(seenFile(users.file))).toHaveProperty('token:bot');
    } finally {
      await server.close();
    }
  });
});

describe('the redactor and HTML', () => {
  it('knows each secret as a page escapes it, and as a link encodes it', () => {
    const r = new Redactor();
    const secrets = ['Sup3r&Secret<1>', `it's "quoted" & <b>`, 'plain-secret-value'];
    for (const s of secrets) r.add(s);
    for (const s of secrets) {
      expect(r.apply(`<td>${esc(s)}</td>`)).toBe('<td>[REDACTED]</td>');
      expect(r.apply(`?commit=${encodeURIComponent(s)}`)).toBe('?commit=[REDACTED]');
      expect(r.apply(esc(JSON.stringify({ s })))).not.toContain(esc(JSON.stringify(s).slice(1, -1)));
    }
  });
});

describe('bad input is 4xx; an unexpected error is 500 and says nothing of itself', () => {
  it('answers a huge since 400, an origin that is no URL 403, and a failing read 500 without its message', async () => {
    const users = await usersFile();
    const source = fakeSource();
    source.gate = async () => {
      throw new Error(`boom: ${SECRET} at /internal/path`);
    };
    const server = await startServer({ host: '127.0.0.1', port: 0, usersFile: users.file }, source);
    const auth = { authorization: `Bearer ${users.deployToken}` };
    try {
      expect((await fetch(`${server.url}/api/stats?since=99999999999999d`, { headers: auth })).status).toBe(400);
      const origin = await fetch(`${server.url}/login`, { method: 'POST', headers: { origin: 'http://[::1' } });
      expect(origin.status).toBe(403);
      const json = { ...auth, 'content-type': 'application/json' };
      const bad = await fetch(`${server.url}/api/lock/prod`, { method: 'POST', headers: json, body: '[1,2' });
      expect(bad.status).toBe(400);
      const failing = await fetch(`${server.url}/api/poison`, { headers: auth });
      expect(failing.status).toBe(500);
      const text = await failing.text();
      expect(text).not.toContain('boom');
      expect(text).toContain('internal error');
    } finally {
      await server.close();
    }
  });
});
