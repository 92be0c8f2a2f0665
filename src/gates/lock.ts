import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LockError, errorMessage } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { acquireLock, breakLock, readLock, refreshLock, releaseLock } from '../remote/lock.js';
import { session, state, step, type RunContext } from '../pipeline/context.js';
import { requireCjs } from '../cjs.js';
import { journalEvent, record } from '../pipeline/record.js';

/** The record inside `.relink/lock/owner.json` on every node. */
export interface LockOwner {
  readonly run: string;
  /** `run` for a deploy or rollback in progress, `freeze` for `deploy lock -m`. */
  readonly kind: 'run' | 'freeze';
  readonly user: string;
  readonly host: string;
  readonly pid: number;
  readonly command: string;
  readonly version?: string;
  readonly message?: string;
  readonly since: string;
  readonly heartbeat: string;
}

export function parseOwner(raw: string | undefined): LockOwner | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as LockOwner;
  } catch {
    return undefined;
  }
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

/** Whether a lock's owner looks dead: no heartbeat within the TTL, or its pid gone on this very machine. */
export function lockHealth(owner: LockOwner, now: Date, ttlMs: number): { stale: boolean; deadPid: boolean; heartbeatAgeMs: number } {
  const heartbeatAgeMs = now.getTime() - Date.parse(owner.heartbeat ?? owner.since);
  const deadPid = owner.kind !== 'freeze' && owner.host === os.hostname() && !alive(owner.pid);
  return { stale: owner.kind !== 'freeze' && heartbeatAgeMs > ttlMs, deadPid, heartbeatAgeMs };
}

/** "ana on laptop (pid 4242, run r1) since 17:02:03 UTC, 2m3s ago: deploy prod v1.1.0", with stale/dead notes. */
export function describeOwner(raw: string | undefined, now: Date, ttlMs = 120_000): string {
  if (!raw) return 'an unknown run (no owner record)';
  const o = parseOwner(raw);
  if (!o) return `an unreadable owner record: ${raw.slice(0, 80)}`;
  const since = `since ${o.since.slice(11, 19)} UTC, ${age(now.getTime() - Date.parse(o.since))} ago`;
  if (o.kind === 'freeze') return `a freeze by ${o.user} on ${o.host} (run ${o.run}) ${since}: ${o.message ?? ''}`.trim();
  const h = lockHealth(o, now, ttlMs);
  const notes = [h.stale ? `STALE: no heartbeat for ${age(h.heartbeatAgeMs)}` : '', h.deadPid ? `pid ${o.pid} is not running on this machine` : ''].filter(Boolean);
  return `${o.user} on ${o.host} (pid ${o.pid}, run ${o.run}) ${since}: ${o.command}${notes.length ? ` [${notes.join('; ')}]` : ''}`;
}

/**
 * Local lock first (two runs on one machine), with proper-lockfile; its
 * release function is returned. The pid of the holder is kept beside it, so a
 * lock left by a killed process is taken over at once instead of after the
 * stale timeout.
 */
export async function acquireLocalLock(stateDir: string, env: string): Promise<() => Promise<void>> {
  const lockfile = requireCjs('proper-lockfile') as typeof import('proper-lockfile');
  fs.mkdirSync(stateDir, { recursive: true });
  const target = path.join(stateDir, `deploy-${env}`);
  const pidFile = `${target}.pid`;
  const options = {
    realpath: false,
    stale: 30_000,
    update: 5_000,
    onCompromised: (error: Error) => {
      process.stderr.write(`warning: the local deploy lock ${target}.lock was taken over or removed: ${error.message}\n`);
    },
  };
  const take = async () => {
    const release = await lockfile.lock(target, options);
    fs.writeFileSync(pidFile, String(process.pid));
    return async () => {
      fs.rmSync(pidFile, { force: true });
      await release();
    };
  };
  try {
    return await take();
  } catch (error) {
    const holder = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : NaN;
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      fs.rmSync(`${target}.lock`, { recursive: true, force: true });
      return take();
    }
    throw new LockError(`another relink run on this machine holds the local lock for ${env} (${target}.lock${Number.isInteger(holder) ? `, pid ${holder}` : ''})`, {
      hint: `wait for it to finish; if no relink process is running, remove ${target}.lock (${errorMessage(error)})`,
    });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export function ownerFor(ctx: RunContext, extra: { kind?: LockOwner['kind']; version?: string; message?: string } = {}): LockOwner {
  const now = ctx.deps.now().toISOString();
  return { run: ctx.runId, kind: extra.kind ?? 'run', user: ctx.user, host: os.hostname(), pid: process.pid, command: ctx.command, version: extra.version, message: extra.message, since: now, heartbeat: now };
}

/**
 * Takes the remote lock: first on the leader (the first node in inventory
 * order) alone, then on the rest in parallel. Two runs started at the same
 * moment meet at the leader, so exactly one of them goes on. If any node is
 * held, what this run took is released and a LockError names the holder.
 */
export async function acquireRemoteLocks(ctx: RunContext, nodes: readonly NodeSpec[], owner: LockOwner = ownerFor(ctx)): Promise<void> {
  const taken: NodeSpec[] = [];
  const held: { node: NodeSpec; owner?: string }[] = [];
  const ttl = ctx.config.lock.ttlMs;
  // One node: take it; if a run that is provably gone (its pid is not running
  // on this machine, or no heartbeat within the TTL) holds it, take it over,
  // on the record.
  const take = async (node: NodeSpec): Promise<void> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      if ((await session(ctx, node).exec(acquireLock(ctx.layout, owner))).code === 0) {
        taken.push(node);
        return;
      }
      const raw = (await session(ctx, node).exec(readLock(ctx.layout))).stdout.trim() || undefined;
      const o = parseOwner(raw);
      const health = o && o.kind !== 'freeze' ? lockHealth(o, ctx.deps.now(), ttl) : undefined;
      if (attempt > 0 || !(health?.deadPid || health?.stale)) {
        held.push({ node, owner: raw });
        return;
      }
      ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: `taking over a dead run's lock: ${describeOwner(raw, ctx.deps.now(), ttl)}` });
      await session(ctx, node).exec(breakLock(ctx.layout));
      await record(ctx, node, journalEvent(ctx, node, 'lock_broken', { reason: `owner gone; was held by ${describeOwner(raw, ctx.deps.now(), ttl)}` }));
    }
  };
  await step(ctx, 'gates:lock', undefined, async () => {
    const [leader, ...rest] = nodes;
    if (leader) await take(leader);
    if (held.length === 0) await Promise.all(rest.map(take));
  });
  if (held.length === 0) return;
  await releaseRemoteLocks(ctx, taken);
  const first = held[0]!;
  const who = describeOwner(first.owner, ctx.deps.now(), ttl);
  const env = ctx.config.env;
  const frozen = parseOwner(first.owner)?.kind === 'freeze';
  throw new LockError(`deploy lock on ${env} is held (${first.node.name}${held.length > 1 ? ` and ${held.length - 1} more` : ''}) by ${who}`, {
    hint: frozen
      ? `${env} is frozen. When the freeze is over: deploy unlock ${env}. In an emergency: rollback ${env} --last --emergency --force`
      : `wait for that run to finish. If it is dead: deploy unlock ${env} --force`,
  });
}

/** Refreshes this run's heartbeat on every node while it runs; returns the function that stops it. */
export function startHeartbeat(ctx: RunContext, nodes: readonly NodeSpec[], owner: LockOwner): () => void {
  const timer = setInterval(() => {
    const beat = { ...owner, heartbeat: ctx.deps.now().toISOString() };
    for (const node of nodes) {
      session(ctx, node)
        .exec(refreshLock(ctx.layout, ctx.runId, beat))
        .catch(() => undefined);
    }
  }, ctx.config.lock.heartbeatMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Releases this run's lock on the given nodes; never someone else's. */
export async function releaseRemoteLocks(ctx: RunContext, nodes: readonly NodeSpec[]): Promise<void> {
  await Promise.all(
    nodes.filter((node) => !ctx.unlocked.has(node.name)).map((node) =>
      session(ctx, node)
        .exec(releaseLock(ctx.layout, ctx.runId))
        .catch((error: unknown) => ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: `could not release the deploy lock: ${errorMessage(error)}` })),
    ),
  );
}

/**
 * Breaks locks held by other runs (`--force`), journaling on each node whose
 * lock it broke who held it, so the takeover is on record.
 */
export async function breakForeignLocks(ctx: RunContext, nodes: readonly NodeSpec[], reason: string): Promise<string[]> {
  const broken: string[] = [];
  await Promise.all(
    nodes.map(async (node) => {
      const owner = state(ctx, node).lock;
      if (!owner) return;
      await session(ctx, node).exec(breakLock(ctx.layout));
      await record(ctx, node, journalEvent(ctx, node, 'lock_broken', { reason: `${reason}; was held by ${describeOwner(owner, ctx.deps.now(), ctx.config.lock.ttlMs)}` }));
      broken.push(node.name);
    }),
  );
  if (broken.length) ctx.deps.reporter.emit({ type: 'warn', message: `broke the deploy lock on ${broken.join(', ')} (--force); journaled` });
  return broken;
}
