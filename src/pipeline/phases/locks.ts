import os from 'node:os';
import { LockError, errorMessage } from '../../errors.js';
import { describeOwner, lockHealth, parseOwner, type LockOwner } from '../../gates/lock.js';
import type { NodeSpec } from '../../inventory/types.js';
import { acquireLock, breakLock, readLock, refreshLock, releaseLock } from '../../remote/lock.js';
import { session, state, step, type RunContext } from '../context.js';
import { journalEvent, record } from './record.js';

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
