import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LockError, errorMessage } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { acquireLock, breakLock, readLock, releaseLock } from '../remote/lock.js';
import { session, state, step, type RunContext } from '../pipeline/context.js';
import { journalEvent, record } from '../pipeline/record.js';

export interface LockOwner {
  readonly run: string;
  readonly user: string;
  readonly host: string;
  readonly pid: number;
  readonly command: string;
  readonly since: string;
}

export function describeOwner(raw: string | undefined, now: Date): string {
  if (!raw) return 'an unknown run (no owner record)';
  try {
    const o = JSON.parse(raw) as LockOwner;
    const age = Math.max(0, Math.round((now.getTime() - Date.parse(o.since)) / 1000));
    const ageText = age >= 3600 ? `${Math.floor(age / 3600)}h${Math.floor((age % 3600) / 60)}m` : age >= 60 ? `${Math.floor(age / 60)}m${age % 60}s` : `${age}s`;
    return `${o.user} on ${o.host} (pid ${o.pid}, run ${o.run}) since ${o.since.slice(11, 19)} UTC, ${ageText} ago: ${o.command}`;
  } catch {
    return `an unreadable owner record: ${raw.slice(0, 80)}`;
  }
}

/**
 * Local lock first (two runs on one machine), with proper-lockfile; its
 * release function is returned.
 */
export async function acquireLocalLock(stateDir: string, env: string): Promise<() => Promise<void>> {
  const lockfile = await import('proper-lockfile');
  fs.mkdirSync(stateDir, { recursive: true });
  const target = path.join(stateDir, `deploy-${env}`);
  try {
    return await lockfile.lock(target, {
      realpath: false,
      stale: 30_000,
      update: 5_000,
      onCompromised: (error) => {
        process.stderr.write(`warning: the local deploy lock ${target}.lock was taken over or removed: ${error.message}\n`);
      },
    });
  } catch (error) {
    throw new LockError(`another relink run on this machine holds the local lock for ${env} (${target}.lock)`, {
      hint: `wait for it to finish; if no relink process is running, remove ${target}.lock (${errorMessage(error)})`,
    });
  }
}

/**
 * Takes the remote lock on every node in parallel. If any node is held,
 * releases what this run took and throws a LockError naming the holder.
 */
export async function acquireRemoteLocks(ctx: RunContext, nodes: readonly NodeSpec[]): Promise<void> {
  const owner: LockOwner = {
    run: ctx.runId,
    user: ctx.user,
    host: os.hostname(),
    pid: process.pid,
    command: ctx.command,
    since: ctx.deps.now().toISOString(),
  };
  const taken: NodeSpec[] = [];
  const held: { node: NodeSpec; owner?: string }[] = [];
  await step(ctx, 'gates:lock', undefined, () =>
    Promise.all(
      nodes.map(async (node) => {
        const result = await session(ctx, node).exec(acquireLock(ctx.layout, owner));
        if (result.code === 0) taken.push(node);
        else held.push({ node, owner: (await session(ctx, node).exec(readLock(ctx.layout))).stdout.trim() || undefined });
      }),
    ),
  ).catch(() => undefined);
  if (held.length === 0 && taken.length === nodes.length) return;
  await releaseRemoteLocks(ctx, taken);
  const first = held[0];
  const who = describeOwner(first?.owner, ctx.deps.now());
  throw new LockError(`deploy lock on ${ctx.config.env} is held${first ? ` (${first.node.name}${held.length > 1 ? ` and ${held.length - 1} more` : ''})` : ''} by ${who}`, {
    hint: `wait for that run to finish. If it is dead: deploy unlock ${ctx.config.env} --force`,
  });
}

/** Releases this run's lock on the given nodes; never someone else's. */
export async function releaseRemoteLocks(ctx: RunContext, nodes: readonly NodeSpec[]): Promise<void> {
  await Promise.all(
    nodes.map((node) =>
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
      await record(ctx, node, journalEvent(ctx, node, 'lock_broken', { reason: `${reason}; was held by ${describeOwner(owner, ctx.deps.now())}` }));
      broken.push(node.name);
    }),
  );
  if (broken.length) ctx.deps.reporter.emit({ type: 'warn', message: `broke the deploy lock on ${broken.join(', ')} (--force); journaled` });
  return broken;
}
