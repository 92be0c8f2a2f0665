import { errorMessage, EXIT, RelinkError, RemoteError } from '../../errors.js';
import { describeOwner, type LockOwner, parseOwner } from '../../gates/lock.js';
import type { NodeSpec } from '../../inventory/types.js';
import { nextStep, type Said, said } from '../../next.js';
import { LOCK_LOST, readLock, reclaimLock, refreshLock } from '../../remote/lock.js';
import { limit, session, state, type RunContext } from '../context.js';
import { journalEvent, record } from '../shared/record.js';

/**
 * The run lost its deploy lock on a node (removed by `unlock --force`, or taken by another run) and
 * stopped before its next switch. Not a node's failure: a failure budget never sets it aside.
 */
export class LockLostError extends RelinkError {
  constructor(message: string, hint: Said) {
    super(message, { hint, exitCode: EXIT.lock });
    this.name = 'LockLostError';
  }
}

interface Watch {
  owner?: LockOwner;
  /** Nodes where lock_lost is journaled (or being journaled). */
  readonly journaled: Set<string>;
  /** Nodes whose last heartbeat failed for another reason (warned once until one succeeds). */
  readonly failing: Set<string>;
  stopped: boolean;
}

const watches = new WeakMap<RunContext, Watch>();

function watchOf(ctx: RunContext): Watch {
  let w = watches.get(ctx);
  if (!w) {
    w = { journaled: new Set(), failing: new Set(), stopped: false };
    watches.set(ctx, w);
  }
  return w;
}

/**
 * The run id a node's lock must name for this run to switch it: this run's, or on a node where a
 * rollback goes on under a freeze (`rollback --emergency --force`), that freeze's.
 */
export function lockRun(ctx: RunContext, node: NodeSpec): string {
  const owner = parseOwner(state(ctx, node).lock);
  return owner?.kind === 'freeze' ? owner.run : ctx.runId;
}

function holder(ctx: RunContext, raw: string): string {
  return raw ? `now held by ${describeOwner(raw, ctx.deps.now(), ctx.config.lock.ttlMs)}` : 'removed, no run holds it';
}

/** Records that the node's lock no longer names this run, with who holds it now (read from the node). */
async function noteLost(ctx: RunContext, node: NodeSpec): Promise<void> {
  if (ctx.lockLost.has(node.name)) return;
  const read = await session(ctx, node)
    .exec(readLock(ctx.layout), limit(ctx, 'lock', true))
    .catch(() => undefined);
  const raw = read?.code === 0 ? read.stdout.trim() : '';
  if (parseOwner(raw)?.run === ctx.runId || ctx.lockLost.has(node.name)) return;
  ctx.lockLost.set(node.name, raw);
  const message = `this run lost its deploy lock here (${holder(ctx, raw)}): it stops before its next switch`;
  ctx.deps.reporter.emit({ type: 'warn', node: node.name, message });
}

/** Journals `lock_lost` on each node where it is not journaled yet; a node that cannot be reached is named. */
async function journalLosses(ctx: RunContext, why: (raw: string) => string = (raw) => holder(ctx, raw)) {
  const w = watchOf(ctx);
  const nodes = ctx.inventory.hosts.filter((n) => ctx.lockLost.has(n.name) && !w.journaled.has(n.name));
  for (const node of nodes) w.journaled.add(node.name);
  await Promise.all(
    nodes.map((node) =>
      record(ctx, node, journalEvent(ctx, node, 'lock_lost', { reason: why(ctx.lockLost.get(node.name)!) })).catch(
        (error: unknown) =>
          ctx.deps.reporter.emit({
            type: 'warn',
            node: node.name,
            message: `could not journal lock_lost: ${errorMessage(error).split('\n')[0]}`,
          }),
      ),
    ),
  );
}

function lostError(ctx: RunContext, first?: string): LockLostError {
  const names = [...ctx.lockLost.keys()];
  const name = first && ctx.lockLost.has(first) ? first : names[0]!;
  const raw = ctx.lockLost.get(name) ?? '';
  const env = ctx.config.env;
  const where = names.length > 1 ? `${name} and ${names.length - 1} more` : name;
  const lost = `this run lost its deploy lock on ${env} (${where})`;
  const stop = 'It stopped before its next switch';
  const status = nextStep('status', env);
  if (raw)
    return new LockLostError(
      `${lost}: it is ${holder(ctx, raw)}. ${stop}`,
      said`that run has ${env} now: follow it (${nextStep('lock-status', env)}); when it is done, check ${status}`,
    );
  const removed = ctx.deps.phrase(said`the lock was removed (${nextStep('unlock', env, { force: true })}, or by hand)`);
  return new LockLostError(
    `${lost}: ${removed} and no run holds it now. ${stop}`,
    said`see who ended it (lock_broken in the journal of ${name}); check ${status}, then deploy again`,
  );
}

/**
 * Whether this run lost its lock on any node: journals `lock_lost` where it is not yet, and returns
 * the error the run stops with (undefined while every lock still names it).
 */
export async function lockLoss(ctx: RunContext, first?: string): Promise<LockLostError | undefined> {
  if (ctx.lockLost.size === 0) return undefined;
  await journalLosses(ctx);
  return lostError(ctx, first);
}

/** Throws the LockLostError once this run lost its lock anywhere (the rollout asks before each switch). */
export async function checkLock(ctx: RunContext): Promise<void> {
  const lost = await lockLoss(ctx);
  if (lost) throw lost;
}

/**
 * Runs a switch built with `whileLocked` (relinkAndJournal, unlinkCurrent): a refusal because the
 * node's lock no longer names this run becomes the LockLostError, noted and journaled.
 */
export async function guarded<T>(ctx: RunContext, node: NodeSpec, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof RemoteError) || error.code !== LOCK_LOST) throw error;
    await noteLost(ctx, node);
    throw (await lockLoss(ctx, node.name)) ?? error;
  }
}

/**
 * Refreshes this run's heartbeat on every node while it runs; returns the function that stops it.
 * A refresh finds out when the node's lock no longer names this run (the rollout then stops before
 * its next switch); any other failure is said once, since a heartbeat stale past lock.ttlMs lets
 * another run take the lock over.
 */
export function startHeartbeat(ctx: RunContext, nodes: readonly NodeSpec[], owner: LockOwner): () => void {
  const w = watchOf(ctx);
  w.owner = owner;
  w.stopped = false;
  const busy = new Set<string>();
  const beat = async (node: NodeSpec, heartbeat: string) => {
    const refresh = refreshLock(ctx.layout, ctx.runId, { ...owner, heartbeat });
    const result = await session(ctx, node)
      .exec(refresh, limit(ctx, 'lock', true))
      .catch((error: unknown) => ({ code: -1, stdout: '', stderr: errorMessage(error) }));
    if (w.stopped || ctx.unlocked.has(node.name)) return;
    if (result.code === LOCK_LOST) return noteLost(ctx, node);
    if (result.code === 0) return void w.failing.delete(node.name);
    if (w.failing.has(node.name)) return;
    w.failing.add(node.name);
    const why = result.stderr.trim().split('\n').pop() || `exit ${result.code}`;
    const message = `could not refresh the deploy lock's heartbeat (${why}); once stale, it can be taken over`;
    ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: ctx.deps.redactor.apply(message) });
  };
  const timer = setInterval(() => {
    const heartbeat = ctx.deps.now().toISOString();
    for (const node of nodes) {
      if (busy.has(node.name) || ctx.unlocked.has(node.name) || ctx.lockLost.has(node.name)) continue;
      if (!ctx.sessions.has(node.name)) continue;
      busy.add(node.name);
      void beat(node, heartbeat)
        .catch(() => undefined)
        .finally(() => busy.delete(node.name));
    }
  }, ctx.config.lock.heartbeatMs);
  timer.unref();
  return () => {
    w.stopped = true;
    clearInterval(timer);
  };
}

/**
 * Before nodes go back after this run lost its lock somewhere: on each, a lock that was removed is
 * taken again (the undo may relink there), and a node whose lock another run holds now is not
 * touched: it is journaled (`lock_lost`) and named. Returns the nodes to put back and a line per
 * node left as it is. Without a lost lock it asks nothing.
 */
export async function reclaimLocks(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
): Promise<{ nodes: NodeSpec[]; problems: string[] }> {
  const w = watchOf(ctx);
  if (ctx.lockLost.size === 0 || !w.owner) return { nodes: [...nodes], problems: [] };
  await journalLosses(ctx);
  const owner = { ...w.owner, heartbeat: ctx.deps.now().toISOString() };
  const retaken: string[] = [];
  const left = new Map<string, string>();
  await Promise.all(
    nodes.map(async (node) => {
      const result = await session(ctx, node)
        .exec(reclaimLock(ctx.layout, ctx.runId, owner), limit(ctx, 'lock', true))
        .catch(() => undefined);
      // A lost connection: the put-back tries, and says what happened there.
      if (!result || result.code === 255) return;
      if (result.code === 0) {
        if (!result.stdout.includes('retaken')) return;
        retaken.push(node.name);
        if (!w.journaled.has(node.name)) ctx.lockLost.set(node.name, '');
        return;
      }
      await noteLost(ctx, node);
      left.set(node.name, ctx.lockLost.get(node.name) ?? '');
    }),
  );
  await journalLosses(ctx);
  for (const name of retaken) ctx.lockLost.delete(name);
  if (retaken.length) {
    const message = `took the deploy lock again on ${retaken.join(', ')} (it had been removed) to put them back`;
    ctx.deps.reporter.emit({ type: 'warn', message });
  }
  const problems = [...left].map(
    ([name, raw]) => `${name}: not put back, left on this run's release: its deploy lock is ${holder(ctx, raw)}`,
  );
  return { nodes: nodes.filter((n) => !left.has(n.name)), problems };
}
