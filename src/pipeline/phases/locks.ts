import os from 'node:os';
import { LockError, RelinkError, errorMessage } from '../../errors.js';
import { describeOwner, lockHealth, parseOwner, type LockOwner } from '../../gates/lock.js';
import { thisMachine } from '../../gates/machine-id.js';
import type { NodeSpec } from '../../inventory/types.js';
import { nextStep, type Said, said } from '../../next.js';
import { inspectNode } from '../../remote/inspect.js';
import { acquireLock, breakLock, readLock, releaseLock, takeOverLock } from '../../remote/lock.js';
import { checkWritable } from '../../remote/release.js';
import { and, group, op, or, seq } from '../../remote/tokens.js';
import { execOk, limit, session, state, step, type RunContext } from '../context.js';
import { takeInspection } from './preflight.js';
import { journalEvent, record } from '../shared/record.js';

export function ownerFor(
  ctx: RunContext,
  extra: { kind?: LockOwner['kind']; version?: string; message?: string } = {},
): LockOwner {
  const now = ctx.deps.now().toISOString();
  return {
    run: ctx.runId,
    kind: extra.kind ?? 'run',
    user: ctx.user,
    host: os.hostname(),
    pid: process.pid,
    machine: thisMachine(),
    command: ctx.command,
    version: extra.version,
    message: extra.message,
    since: now,
    heartbeat: now,
  };
}

export interface LockOptions {
  /** Read each node's state in the same round trip as its lock: decisions are made on state read under the lock. */
  readonly inspect?: boolean;
  /**
   * Take over the lock of another run, live or dead, on the record (`rollback --force`): the reason journaled.
   * A freeze is never broken: nodes under one are returned as `frozen`, and the run goes on there without a lock.
   */
  readonly force?: string;
  /** Take over, without `force`, the lock of a run that is provably gone (default: yes; a rollback asks first). */
  readonly takeOverDead?: boolean;
  /** Check first, in the same round trip, that deployTo is writable (a deploy: it uploads next). */
  readonly writable?: boolean;
  /** The next step to name when a node is held; `frozen` when a freeze holds it. */
  readonly hint?: (frozen: boolean) => Said;
}

/**
 * Takes the remote lock: first on the leader (the first node in inventory
 * order) alone, then on the rest in parallel. Two runs started at the same
 * moment meet at the leader, so exactly one of them goes on. A lock held by a
 * run that is provably gone (its pid is not running on this machine, the one
 * with its machine id, or no heartbeat within the TTL) is taken over by
 * compare-and-delete, on the
 * record. If any node is held, what this run took is released and a
 * LockError names the holder. Returns the nodes left under a freeze (only
 * with `force`).
 */
export async function acquireRemoteLocks(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  owner: LockOwner = ownerFor(ctx),
  options: LockOptions = {},
): Promise<{ frozen: NodeSpec[] }> {
  const taken: NodeSpec[] = [];
  const frozen: NodeSpec[] = [];
  const held: { node: NodeSpec; owner?: string }[] = [];
  const ttl = ctx.config.lock.ttlMs;
  const { layout } = ctx;
  const inspect = async (node: NodeSpec) => {
    const read = inspectNode(layout, { journalLines: JOURNAL_LINES });
    if (options.inspect)
      takeInspection(ctx, node, (await execOk(ctx, node, read, { kind: 'inspect', cleanup: true })).stdout);
  };
  const lockAndRead = options.inspect
    ? and(acquireLock(layout, owner), group(inspectNode(layout, { journalLines: JOURNAL_LINES })))
    : acquireLock(layout, owner);
  const writable = or(group(checkWritable(layout)), [op(`exit ${NOT_WRITABLE}`)]);
  const command = options.writable ? seq(writable, lockAndRead) : lockAndRead;
  const unwritable: NodeSpec[] = [];
  const lost: NodeSpec[] = [];
  // A dead run's lock taken over is journaled only once every lock is held (a refused run journals nothing);
  // a live run's lock taken with --force always is: that run has lost it.
  const takeovers: { node: NodeSpec; reason: string; forced: boolean }[] = [];
  const journal = (list: typeof takeovers) =>
    list.map(({ node, reason }) => record(ctx, node, journalEvent(ctx, node, 'lock_broken', { reason })));
  const take = async (node: NodeSpec): Promise<void> => {
    const first = await session(ctx, node).exec(command, limit(ctx, 'lock', true));
    if (first.code === NOT_WRITABLE) return void unwritable.push(node);
    if (first.code === CONNECTION_LOST) return void lost.push(node);
    if (first.code === 0) {
      taken.push(node);
      if (options.inspect) takeInspection(ctx, node, first.stdout);
      return;
    }
    const raw = (await session(ctx, node).exec(readLock(layout), limit(ctx, 'lock', true))).stdout.trim() || undefined;
    const o = parseOwner(raw);
    if (o?.kind === 'freeze' && options.force) return void frozen.push(node);
    const health = o && o.kind !== 'freeze' ? lockHealth(o, ctx.deps.now(), ttl) : undefined;
    const dead = options.takeOverDead !== false && Boolean(health?.deadPid || health?.stale);
    if (!o || o.kind === 'freeze' || !(dead || options.force)) return void held.push({ node, owner: raw });
    const who = describeOwner(raw, ctx.deps.now(), ttl);
    const doing = dead ? "taking over a dead run's lock" : 'taking over the lock of another run (--force)';
    ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: `${doing}: ${who}` });
    const swap = await session(ctx, node).exec(takeOverLock(layout, o.run, owner), limit(ctx, 'lock', true));
    if (swap.code === CONNECTION_LOST) return void lost.push(node);
    if (swap.code !== 0) {
      // Another run took it first: it is theirs now.
      held.push({
        node,
        owner: (await session(ctx, node).exec(readLock(layout), limit(ctx, 'lock', true))).stdout.trim() || raw,
      });
      return;
    }
    taken.push(node);
    const reason = dead ? `owner gone; was held by ${who}` : `${options.force}; was held by ${who}`;
    takeovers.push({ node, reason, forced: !dead });
  };
  const refused = () => held.length + unwritable.length + lost.length > 0;
  await step(ctx, 'gates:lock', undefined, async () => {
    const [leader, ...rest] = nodes;
    const errors: unknown[] = [];
    const settle = async (work: Promise<unknown>[]) => {
      for (const r of await Promise.allSettled(work)) if (r.status === 'rejected') errors.push(r.reason);
    };
    if (leader) await settle([take(leader)]);
    if (!refused() && errors.length === 0) await settle(rest.map(take));
    const journaled = !refused() && errors.length === 0;
    if (journaled) {
      await settle([
        ...journal(takeovers),
        ...(options.inspect ? [...frozen, ...takeovers.map((t) => t.node)].map(inspect) : []),
      ]);
      if (errors.length === 0) return;
    }
    if (!journaled) await Promise.allSettled(journal(takeovers.filter((t) => t.forced)));
    // A lost connection may have left this run's lock behind: releasing removes only this run's own.
    await releaseRemoteLocks(ctx, [...taken, ...lost]);
    if (errors.length) throw errors[0];
    if (lost.length) throw lostError(ctx, lost[0]!);
    if (unwritable.length) throw notWritableError(ctx, unwritable[0]!);
    throw heldError(ctx, held, options.hint);
  });
  return { frozen };
}

/** Exit status of the lock command when deployTo is not writable: nothing was locked on that node. */
const NOT_WRITABLE = 98;
/** What the transport answers when the connection went away under a command. */
const CONNECTION_LOST = 255;
/** A run reads the newest lines of each journal: what it decides on; `history` and `stats` read them all. */
const JOURNAL_LINES = 5000;

function lostError(ctx: RunContext, node: NodeSpec): RelinkError {
  return new RelinkError(
    `${node.name}: the connection was lost while taking the deploy lock. Nothing was changed on any node.`,
    { hint: said`check ${node.name} (${nextStep('doctor', ctx.config.env)}), then run the command again` },
  );
}

function notWritableError(ctx: RunContext, node: NodeSpec): RelinkError {
  const dir = ctx.layout.deployTo;
  return new RelinkError(`${node.name}: ${dir} is not writable by ${node.user}. Nothing was changed on any node.`, {
    hint: `make ${dir} writable for ${node.user} on ${node.name} (or fix deployTo / the node's user)`,
  });
}

function heldError(
  ctx: RunContext,
  held: readonly { node: NodeSpec; owner?: string }[],
  hint?: (frozen: boolean) => Said,
): LockError {
  const first = held[0]!;
  const who = describeOwner(first.owner, ctx.deps.now(), ctx.config.lock.ttlMs);
  const env = ctx.config.env;
  const frozen = parseOwner(first.owner)?.kind === 'freeze';
  const where = `${first.node.name}${held.length > 1 ? ` and ${held.length - 1} more` : ''}`;
  const emergency = nextStep('rollback', env, { last: true, emergency: true, force: true });
  const next = frozen
    ? said`${env} is frozen. When the freeze is over: ${nextStep('unlock', env)}. In an emergency: ${emergency}`
    : said`wait for that run to finish. If it is dead: ${nextStep('unlock', env, { force: true })}`;
  return new LockError(`deploy lock on ${env} is held (${where}) by ${who}`, { hint: hint?.(frozen) ?? next });
}

/** Releases this run's lock on the given nodes; never someone else's. */
export async function releaseRemoteLocks(ctx: RunContext, nodes: readonly NodeSpec[]): Promise<void> {
  await Promise.all(
    nodes
      .filter((node) => !ctx.unlocked.has(node.name))
      .map(async (node) => {
        const released = await session(ctx, node)
          .exec(releaseLock(ctx.layout, ctx.runId), limit(ctx, 'lock', true))
          .catch((error: unknown) => ({ code: 255, stdout: '', stderr: errorMessage(error) }));
        if (released.code === 0) return;
        // The node keeps the lock of a run that has ended: say how to lift it once the node answers again.
        const why = ctx.deps.redactor.apply(released.stderr.trim().split('\n').pop() ?? `exit ${released.code}`);
        ctx.deps.reporter.emit({
          type: 'warn',
          node: node.name,
          message:
            `could not release the deploy lock (${why}): ${node.name} keeps this run's deploy lock; ` +
            ctx.deps.phrase(said`once it answers again: ${nextStep('unlock', ctx.config.env, { force: true })}`),
        });
      }),
  );
}

/**
 * Breaks locks held by other runs (`--force`), journaling on each node whose
 * lock it broke who held it, so the takeover is on record.
 */
export async function breakForeignLocks(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  reason: string,
): Promise<string[]> {
  const broken: string[] = [];
  await Promise.all(
    nodes.map(async (node) => {
      const owner = state(ctx, node).lock;
      if (!owner) return;
      await session(ctx, node).exec(breakLock(ctx.layout), limit(ctx, 'lock', true));
      await record(
        ctx,
        node,
        journalEvent(ctx, node, 'lock_broken', {
          reason: `${reason}; was held by ${describeOwner(owner, ctx.deps.now(), ctx.config.lock.ttlMs)}`,
        }),
      );
      broken.push(node.name);
    }),
  );
  if (broken.length)
    ctx.deps.reporter.emit({
      type: 'warn',
      message: `broke the deploy lock on ${broken.join(', ')} (--force); journaled`,
    });
  return broken;
}
