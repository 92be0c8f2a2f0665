import type { NodeSpec } from '../../inventory/types.js';
import { unlinkCurrent } from '../../remote/relink.js';
import type { ReleaseFacts } from '../../template/scope.js';
import { checkAborted, execOk, step, type RunContext } from '../context.js';
import { checkLock, guarded, lockLoss, lockRun } from '../phases/lock-guard.js';
import { journalEvent, record, type EventFields } from '../shared/record.js';
import { settingsOf } from '../shared/release-settings.js';
import { relinkNode, restartNode, smokeNode, stopNode } from './activate.js';
import { behindLb, drainGroup, undrainNode } from './drain.js';
import { runHooks } from './hooks.js';

/** Where one node goes in a rollout: a release, or (undoing a first deploy) no release at all. */
export interface Move {
  /** The release to link as `current`; absent: remove `current` (the node had nothing before). */
  readonly to?: ReleaseFacts;
  /** The journal event of the switch. */
  readonly event: 'activated' | 'rolled_back';
  /** Extra journal fields of that event (from, reason, emergency). */
  readonly fields?: EventFields;
  /** With no `to`: the release the node leaves, whose app is stopped there (the `stop` setting). */
  readonly leaving?: ReleaseFacts;
}

/**
 * How a rollout switches its nodes. A deploy drains, smoke-tests and stops at
 * the first failing group; undoing a failed deploy goes on past failures; an
 * emergency rollback switches every node at once with neither drain nor smoke.
 */
export interface RolloutPolicy {
  /** The phase part of every step name: `rollout:relink`, `rollback:smoke`, `emergency:restart`. */
  readonly phase: 'rollout' | 'rollback' | 'emergency';
  /** Take each group out of the load balancer before it switches, and put it back after. */
  readonly drain: boolean;
  /** When the load balancer cannot drain a group: switch it anyway, with a warning (undoing a failed deploy). */
  readonly switchUndrained?: boolean;
  /** Smoke-test each node after its restart; it counts as good only then. */
  readonly smoke: boolean;
  /** Go on with the other groups after a failure (and report every failure), instead of stopping. */
  readonly continueOnFailure: boolean;
  /** Stop between steps when the run is interrupted (a deploy); a rollback always finishes what it started. */
  readonly interruptible: boolean;
  /** Print a line per group. */
  readonly announce?: boolean;
  /** Drain, but never put back: the nodes stay out of the load balancer (set-aside nodes going back). */
  readonly keepOut?: boolean;
  /** The failure budget: failed nodes it spares are put back on their release and the rollout goes on. */
  readonly budget?: RolloutBudget;
  /**
   * Putting nodes back after a failure: it goes on when this run lost its lock somewhere (every other rollout
   * stops before its next switch then); each relink still checks the node's lock.
   */
  readonly undo?: boolean;
}

/** A node that failed, and why. */
export interface Failure {
  readonly node: NodeSpec;
  readonly error: unknown;
}

export interface RolloutBudget {
  /** Whether the budget takes these failures (and records them); false: the rollout stops. */
  spare(failed: readonly Failure[]): boolean;
  /** Puts spared nodes that switched back on their release, out of the load balancer. */
  putBack(nodes: readonly NodeSpec[]): Promise<void>;
}

export interface Stop {
  readonly node: NodeSpec;
  readonly error: unknown;
  readonly group: readonly NodeSpec[];
  readonly untouched: readonly NodeSpec[];
}

export interface RolloutResult {
  /** Nodes whose `current` this rollout moved, in the order they moved. */
  readonly switched: NodeSpec[];
  /** Nodes that failed, with why, in group order. */
  readonly failures: { readonly node: NodeSpec; readonly error: unknown }[];
  /** Set when the rollout stopped at a failure: the first failing node, its group, the nodes not reached. */
  readonly stopped?: Stop;
}

/**
 * The one way nodes change release: group by group (the `pre` node is the
 * first group), each group drained together, then per node relink, restart,
 * afterSwitch hooks, smoke test and back into the pool. Deploy, rollback, the undo of a failed
 * deploy and the emergency rollback are all this, with other targets and
 * another policy.
 */
export async function rollout(
  ctx: RunContext,
  groups: readonly (readonly NodeSpec[])[],
  moveOf: (node: NodeSpec) => Move,
  policy: RolloutPolicy,
): Promise<RolloutResult> {
  // A rollout that always finishes what it started (a rollback, an undo) does not let an interrupt cut its
  // commands short either: each still ends at its deadline.
  const undoing = ctx.undoing;
  if (!policy.interruptible) ctx.undoing = true;
  try {
    return await switchGroups(ctx, groups, moveOf, policy);
  } finally {
    ctx.undoing = undoing;
  }
}

async function switchGroups(
  ctx: RunContext,
  groups: readonly (readonly NodeSpec[])[],
  moveOf: (node: NodeSpec) => Move,
  policy: RolloutPolicy,
): Promise<RolloutResult> {
  const switched: NodeSpec[] = [];
  const failures: { node: NodeSpec; error: unknown }[] = [];
  for (const [index, group] of groups.entries()) {
    if (policy.announce) {
      const names = group.map((n) => n.name).join(', ');
      ctx.deps.reporter.emit({ type: 'info', message: `group ${index + 1}/${groups.length}: ${names}` });
    }
    const drained = await drainFirst(ctx, group, policy);
    const results = drained.ok
      ? await Promise.allSettled(group.map((node) => switchNode(ctx, node, moveOf(node), policy, switched)))
      : [{ status: 'rejected', reason: drained.error } as PromiseRejectedResult];
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ node: group[i]!, error: r.reason }] : []));
    failures.push(...failed);
    // A group the load balancer could not drain (minServing, a dead socket) is not a node's failure: it stops.
    if (failed.length && drained.ok && policy.budget?.spare(failed)) {
      const out = failed.map((f) => f.node).filter((n) => switched.includes(n));
      for (const node of out) switched.splice(switched.indexOf(node), 1);
      await policy.budget.putBack(out);
      continue;
    }
    if (failed.length && !policy.continueOnFailure) {
      const untouched = groups.slice(index + 1).flat();
      return { switched, failures, stopped: { ...failed[0]!, group, untouched } };
    }
  }
  // A lock lost after the last switch: the run did not hold it throughout, so it does not end as a success.
  const lost = policy.undo ? undefined : await lockLoss(ctx);
  const at = switched.find((n) => ctx.lockLost.has(n.name)) ?? switched[0];
  if (lost && at) {
    failures.push({ node: at, error: lost });
    return { switched, failures, stopped: { node: at, error: lost, group: [], untouched: [] } };
  }
  return { switched, failures };
}

async function drainFirst(
  ctx: RunContext,
  group: readonly NodeSpec[],
  policy: RolloutPolicy,
): Promise<{ ok: true } | { ok: false; error: unknown }> {
  // A run that lost its lock stops before the next group, drained or not.
  const lost = policy.undo ? undefined : await lockLoss(ctx, group[0]?.name);
  if (lost) return { ok: false, error: lost };
  if (!policy.drain) return { ok: true };
  try {
    if (policy.interruptible) checkAborted(ctx);
    await drainGroup(ctx, policy.phase, group);
    return { ok: true };
  } catch (error) {
    if (!policy.switchUndrained) return { ok: false, error };
    const names = group.map((n) => n.name).join(', ');
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    ctx.deps.reporter.emit({ type: 'warn', message: `cannot drain ${names} (${why}); rolling back without drain` });
    return { ok: true };
  }
}

async function switchNode(
  ctx: RunContext,
  node: NodeSpec,
  move: Move,
  policy: RolloutPolicy,
  switched: NodeSpec[],
): Promise<void> {
  if (policy.interruptible) checkAborted(ctx);
  if (!policy.undo) await checkLock(ctx);
  const to = move.to;
  if (!to) {
    await step(ctx, `${policy.phase}:unlink`, node, () =>
      guarded(ctx, node, () =>
        execOk(ctx, node, unlinkCurrent(ctx.layout, lockRun(ctx, node)), { kind: 'relink', cleanup: true }),
      ),
    );
    await record(ctx, node, journalEvent(ctx, node, move.event, move.fields));
    switched.push(node);
    await leaveEmpty(ctx, policy.phase, node, move.leaving);
    return;
  }
  await relinkNode(ctx, policy.phase, node, to, move.event, move.fields, () => switched.push(node));
  await restartNode(ctx, policy.phase, node, to);
  // A failing afterSwitch hook fails the node like a failed smoke test (in an emergency: only hooks marked so).
  const emergency = policy.phase === 'emergency';
  await runHooks(ctx, 'afterSwitch', [node], { facts: () => to, emergency, phase: policy.phase });
  if (policy.smoke) await smokeNode(ctx, policy.phase, node, to);
  if (policy.drain && !policy.keepOut) await undrainNode(ctx, policy.phase, node, policy.smoke);
}

/**
 * A node left with no release (the undo of its first deploy) must serve nothing: its app is stopped with the
 * `stop` setting or through its `service` manager, and it is kept out of the load balancer (drained now if it
 * was not, and left so at the end).
 * Without `stop`, the warning names what may still run there.
 */
async function leaveEmpty(ctx: RunContext, phase: string, node: NodeSpec, leaving?: ReleaseFacts): Promise<void> {
  ctx.empty.add(node.name);
  let stopped = false;
  const { stop, service } = leaving ? settingsOf(ctx, node, leaving.release) : ctx.config;
  const canStop = Boolean(stop || service);
  if (canStop && leaving) {
    stopped = await stopNode(ctx, phase, node, leaving).then(
      () => true,
      () => false,
    );
  }
  const pooled = ctx.lb.kind !== 'none' && behindLb(ctx, [node]).length > 0;
  if (pooled && !ctx.drained.has(node.name)) {
    ctx.drained.add(node.name);
    await step(ctx, `${phase}:drain`, node, () => ctx.lb.drain(node)).catch(() => undefined);
  }
  if (stopped) return;
  const what = leaving ? `the app started from ${leaving.release}` : 'the app this run started';
  const why = service
    ? 'stopping its service failed'
    : stop
      ? 'its stop command failed'
      : 'no `stop` or `service` is configured';
  const out = pooled ? '; it stays out of the load balancer' : '';
  ctx.deps.reporter.emit({
    type: 'warn',
    node: node.name,
    message: `${node.name} has no release now, but ${what} may still run there (${why})${out}`,
  });
}
