import { errorMessage } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { checkAborted, type RunContext } from '../context.js';
import { lockLoss } from '../phases/lock-guard.js';
import { drainGroup, undrainNode } from './drain.js';
import { gate, groupLine, isBoundary } from './overlap.js';
import type { Failure, Move, RolloutPolicy, RolloutResult, Stop } from './rollout-types.js';
import { switchNode } from './switch.js';

type Drained = { ok: true } | { ok: false; error: unknown };
type Groups = readonly (readonly NodeSpec[])[];

/** A group whose nodes passed and are being put back into the pool while the next one switches. */
interface Behind {
  readonly group: readonly NodeSpec[];
  readonly index: number;
  readonly back: Promise<Failure[]>;
}

/**
 * Runs the groups in order, overlapping where it is safe (overlap.ts): once every node of a group reached
 * its smoke test, the next group is drained (if `minServing` allows it at that moment, else it waits for
 * this one to be back); it switches once this one passed, while this one is put back into the pool. A
 * failure of either settles as before: the budget takes it, or the rollout stops, with the group drained
 * ahead put back as it was.
 */
export async function switchGroups(
  ctx: RunContext,
  groups: Groups,
  moveOf: (node: NodeSpec) => Move,
  policy: RolloutPolicy,
): Promise<RolloutResult> {
  const switched: NodeSpec[] = [];
  const failures: Failure[] = [];
  let behind: Behind | undefined;
  let ahead: { index: number; drained: Promise<Drained | undefined> } | undefined;
  const announce = (index: number, early?: boolean) => {
    const message = groupLine(index, groups.length, groups[index]!, early);
    if (policy.announce) ctx.deps.reporter.emit({ type: 'info', message });
  };

  const settle = async (failed: Failure[], group: readonly NodeSpec[], index: number, drained = true) => {
    failures.push(...failed);
    // A group the load balancer could not drain (minServing, a dead socket) is not a node's failure: it stops.
    if (failed.length && drained && policy.budget?.spare(failed)) {
      const out = failed.map((f) => f.node).filter((n) => switched.includes(n));
      for (const node of out) switched.splice(switched.indexOf(node), 1);
      await policy.budget.putBack(out);
      return undefined;
    }
    if (failed.length && !policy.continueOnFailure) {
      return { ...failed[0]!, group, untouched: groups.slice(index + 1).flat() } satisfies Stop;
    }
    return undefined;
  };
  const settleBehind = async () => {
    const last = behind;
    behind = undefined;
    return last ? settle(await last.back, last.group, last.index) : undefined;
  };
  // Stopping: the group being put back finishes, a group drained ahead of its turn goes back as it was.
  const stop = async (stopped: Stop): Promise<RolloutResult> => {
    if (behind) failures.push(...(await behind.back));
    if (ahead) await putBackAhead(ctx, policy, groups[ahead.index]!, ahead.drained);
    return { switched, failures, stopped };
  };
  // A boundary group back in the pool: the policy holds there (the analysis) before the next group.
  const hold = async (index: number): Promise<Stop | undefined> => {
    const group = groups[index]!;
    if (!policy.hold || !policy.boundary?.(index, group)) return undefined;
    try {
      await policy.hold(index, group);
      return undefined;
    } catch (error) {
      return { node: group[0]!, error, group, untouched: groups.slice(index + 1).flat() };
    }
  };

  for (const [index, group] of groups.entries()) {
    let drained = ahead ? await ahead.drained : undefined;
    ahead = undefined;
    if (!drained) {
      const stopped = (await settleBehind()) ?? (index > 0 ? await hold(index - 1) : undefined);
      if (stopped) return stop(stopped);
      announce(index);
      drained = (await drainFirst(ctx, group, policy)) ?? { ok: true };
    }
    const overlap = mayOverlap(ctx, groups, index, policy);
    // At most two groups out at once: the one being smoke-tested, and the next; the one before is back first.
    const older = behind?.back ?? Promise.resolve([]);
    const atSmoke = gate(group.length, () => {
      if (!overlap) return;
      const next = groups[index + 1]!;
      const drained = older.then(() => drainFirst(ctx, next, policy, () => announce(index + 1, true)));
      ahead = { index: index + 1, drained };
    });
    const results = drained.ok
      ? await Promise.allSettled(group.map((node) => switchNode(ctx, node, moveOf(node), policy, switched, atSmoke)))
      : [{ status: 'rejected', reason: drained.error } as PromiseRejectedResult];
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ node: group[i]!, error: r.reason }] : []));
    const passed = drained.ok ? group.filter((_, i) => results[i]!.status === 'fulfilled') : [];
    const back = intoPool(ctx, policy, passed);
    // The group before went back into the pool while this one switched: its failures come first.
    const before = await settleBehind();
    behind = { group, index, back };
    if (before) {
      // This group switched too: it is not among the untouched.
      failures.push(...failed);
      return stop({ ...before, untouched: groups.slice(index + 1).flat() });
    }
    const stopped = await settle(failed, group, index, drained.ok);
    if (stopped) return stop(stopped);
  }
  const stopped = (await settleBehind()) ?? (groups.length ? await hold(groups.length - 1) : undefined);
  if (stopped) return stop(stopped);
  // A lock lost after the last switch: the run did not hold it throughout, so it does not end as a success.
  const lost = policy.undo ? undefined : await lockLoss(ctx);
  const at = switched.find((n) => ctx.lockLost.has(n.name)) ?? switched[0];
  if (lost && at) {
    failures.push({ node: at, error: lost });
    return { switched, failures, stopped: { node: at, error: lost, group: [], untouched: [] } };
  }
  return { switched, failures };
}

/** Whether the group after `index` may drain while this one is smoke-tested and put back. */
function mayOverlap(ctx: RunContext, groups: Groups, index: number, policy: RolloutPolicy): boolean {
  if (!policy.drain || policy.keepOut || ctx.lb.kind === 'none' || !ctx.inventory.lb) return false;
  return !isBoundary(groups, index, ctx.inventory.pre, policy.boundary);
}

/**
 * Drains a group before it switches. With `early` (ahead of its turn): undefined when `minServing` does not
 * allow it yet (the caller drains it again once the group before is back); `early` announces it.
 */
async function drainFirst(
  ctx: RunContext,
  group: readonly NodeSpec[],
  policy: RolloutPolicy,
  early?: () => void,
): Promise<Drained | undefined> {
  // A run that lost its lock stops before the next group, drained or not.
  const lost = policy.undo ? undefined : await lockLoss(ctx, group[0]?.name);
  if (lost) return { ok: false, error: lost };
  if (!policy.drain) return { ok: true };
  try {
    if (policy.interruptible) checkAborted(ctx);
    const went = await drainGroup(ctx, policy.phase, group, early);
    return went ? { ok: true } : undefined;
  } catch (error) {
    if (!policy.switchUndrained) return { ok: false, error };
    const names = group.map((n) => n.name).join(', ');
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    ctx.deps.reporter.emit({ type: 'warn', message: `cannot drain ${names} (${why}); rolling back without drain` });
    return { ok: true };
  }
}

/** Puts a group's nodes that passed back into the pool, together; resolves the nodes that did not come back. */
async function intoPool(ctx: RunContext, policy: RolloutPolicy, passed: readonly NodeSpec[]): Promise<Failure[]> {
  if (!policy.drain || policy.keepOut) return [];
  // A node left with no release serves nothing: it stays out.
  const nodes = passed.filter((n) => !ctx.empty.has(n.name));
  const results = await Promise.allSettled(nodes.map((n) => undrainNode(ctx, policy.phase, n, policy.smoke)));
  return results.flatMap((r, i) => (r.status === 'rejected' ? [{ node: nodes[i]!, error: r.reason }] : []));
}

/** A group drained ahead of its turn, when the rollout stops before it: back as it was, nothing switched. */
async function putBackAhead(
  ctx: RunContext,
  policy: RolloutPolicy,
  group: readonly NodeSpec[],
  drained: Promise<Drained | undefined>,
): Promise<void> {
  await drained;
  for (const node of group.filter((n) => ctx.drained.has(n.name))) {
    await undrainNode(ctx, policy.phase, node, false, true).catch((error: unknown) => {
      // Still counted as drained: the failure path puts it back once more, or names it.
      const why = errorMessage(error).split('\n')[0];
      ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: `not put back yet: ${why}` });
    });
  }
}
