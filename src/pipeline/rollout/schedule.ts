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

type Settled = PromiseSettledResult<void>[];

/** The next group, drained ahead of its turn and (once drained, with no failure in the group before) switching. */
interface Ahead {
  readonly index: number;
  readonly drained: Promise<Drained | undefined>;
  /** Its nodes' switches, started early; undefined when it did not start (it starts in its turn). */
  readonly results: Promise<Settled | undefined>;
}

/**
 * Runs the groups in order, overlapping where it is safe (overlap.ts): once every node of a group reached
 * its smoke test, the next group is drained (if `minServing` allows it at that moment, else it waits for
 * the group before this one to be back), then relinked and restarted while this one is smoke-tested; it goes
 * back into the pool only once this one passed and its own smoke test did. A failure of either settles as
 * before: the budget takes it, or the rollout stops; a group switched ahead is then in `switched` too (the
 * caller puts it back with the rest), one drained ahead and not switched goes back as it was.
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
  // Groups drained (and switching) ahead of their turn, by index: a group switching ahead may drain the next.
  const aheads = new Map<number, Ahead>();
  // Once the rollout stops, nothing more is drained or switched ahead of its turn.
  let halted = false;
  const failing = new Set<number>();
  const backs = groups.map(() => deferred<Failure[]>());
  const announce = (index: number, early?: boolean) => {
    const message = groupLine(index, groups.length, groups[index]!, early);
    if (policy.announce) ctx.deps.reporter.emit({ type: 'info', message });
  };

  /** Switches a group's nodes; `older` is the group put back before it, which the group after waits for. */
  const launch = (index: number, older: Promise<Failure[]>): Promise<Settled> => {
    const group = groups[index]!;
    const overlap = mayOverlap(ctx, groups, index, policy);
    // At most two groups out at once: this one, and the next; the one before is back first.
    const atSmoke = gate(group.length, () => {
      if (!overlap || halted) return;
      const next = groups[index + 1]!;
      let clean = true;
      const drained = older.then((lost) => {
        clean = lost.length === 0;
        return halted ? undefined : drainFirst(ctx, next, policy, () => announce(index + 1, true));
      });
      // It switches only once drained, and not when a node of this group (or of the one before, going back into
      // the pool) failed meanwhile: that failure is settled first.
      const results = drained.then((d) =>
        d?.ok && clean && !halted && !failing.has(index) ? launch(index + 1, backs[index]!.promise) : undefined,
      );
      aheads.set(index + 1, { index: index + 1, drained, results });
    });
    return Promise.allSettled(
      group.map((node) =>
        switchNode(ctx, node, moveOf(node), policy, switched, atSmoke).catch((error: unknown) => {
          failing.add(index);
          throw error;
        }),
      ),
    );
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
  // Stopping: the group being put back finishes; a group switching ahead finishes its switch (the caller puts
  // it back with the rest: it is not untouched), one only drained ahead goes back as it was.
  const stop = async (stopped: Stop): Promise<RolloutResult> => {
    halted = true;
    // A drain ahead still waiting for a group to be back goes no further.
    for (const back of backs) back.resolve([]);
    if (behind) failures.push(...(await behind.back));
    let untouched = stopped.untouched;
    for (const ahead of [...aheads.values()].sort((a, b) => a.index - b.index)) {
      const group = groups[ahead.index]!;
      const results = await ahead.results;
      if (results) {
        failures.push(...failedOf(group, results));
        untouched = untouched.filter((n) => !group.includes(n));
      } else await putBackAhead(ctx, policy, group, ahead.drained);
    }
    return { switched, failures, stopped: { ...stopped, untouched } };
  };

  for (const [index, group] of groups.entries()) {
    const mine = aheads.get(index);
    aheads.delete(index);
    let drained = mine ? await mine.drained : undefined;
    let results = drained && mine ? await mine.results : undefined;
    if (!drained) {
      const stopped = await settleBehind();
      if (stopped) return stop(stopped);
      announce(index);
      drained = (await drainFirst(ctx, group, policy)) ?? { ok: true };
    }
    if (!results)
      results = drained.ok
        ? await launch(index, behind?.back ?? Promise.resolve([]))
        : [{ status: 'rejected', reason: drained.error } as PromiseRejectedResult];
    const failed = failedOf(group, results);
    const passed = drained.ok ? group.filter((_, i) => results[i]!.status === 'fulfilled') : [];
    const back = intoPool(ctx, policy, passed);
    backs[index]!.resolve(back);
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
  const stopped = await settleBehind();
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

function failedOf(group: readonly NodeSpec[], results: Settled): Failure[] {
  return results.flatMap((r, i) => (r.status === 'rejected' ? [{ node: group[i]!, error: r.reason }] : []));
}

function deferred<T>() {
  let resolve!: (value: T | Promise<T>) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Whether the group after `index` may drain, relink and restart while this one is smoke-tested and put back. */
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
