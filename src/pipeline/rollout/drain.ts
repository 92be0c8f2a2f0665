import { RelinkError, errorMessage } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { groupCount } from '../../inventory/groups.js';
import { createLb, lbHost } from '../../lb/registry.js';
import type { NodeSession } from '../../transport/types.js';
import { state, step, type RunContext } from '../context.js';
import { leavesEnough } from './overlap.js';

/** Nodes behind the load balancer: all but `lb.exclude`, and the pre node when it is outside the pool. */
export function behindLb(ctx: RunContext, nodes: readonly NodeSpec[]): NodeSpec[] {
  const { lb, pre, preInPool } = ctx.inventory;
  const exclude = [...(lb?.exclude ?? []), ...(pre && !preInPool ? [pre] : [])];
  return nodes.filter((n) => !exclude.includes(n.name));
}

/**
 * Before the first drain: the load balancer answers and knows every node.
 * Remembers each node's state, to put drained nodes back as they were.
 */
export async function checkLb(ctx: RunContext, nodes: readonly NodeSpec[]): Promise<void> {
  if (ctx.lb.kind === 'none') return;
  await step(ctx, 'plan:lb', undefined, async () => {
    try {
      const states = await ctx.lb.states(behindLb(ctx, nodes));
      for (const [name, s] of states) state(ctx, name).lb = s;
    } catch (error) {
      throw new RelinkError(`${errorMessage(error)}. Nothing was changed on any node.`, {
        hint: (error as RelinkError).hint,
      });
    }
    await refuseServingPre(ctx, nodes);
  });
}

/** A pre node outside the pool is never drained: refuse if the load balancer sends it outside traffic anyway. */
async function refuseServingPre(ctx: RunContext, nodes: readonly NodeSpec[]): Promise<void> {
  const { pre, preInPool } = ctx.inventory;
  const node = nodes.find((n) => n.name === pre);
  // Hook commands cannot tell whether a node is in the pool: the inventory is trusted there.
  if (!node || preInPool || ctx.lb.kind === 'command') return;
  // A load balancer that does not know the node at all is the expected case: the lookup throws.
  const seen = await ctx.lb.states([node]).catch(() => undefined);
  // In the pool and not held out (drain, maintenance): it gets traffic as soon as it answers its health check.
  if (seen?.get(node.name)?.admin !== 'ready') return;
  throw new RelinkError(
    `${node.name} is the pre node and outside the pool (preInPool: false), but the load balancer has it in its pool. ` +
      'Nothing was changed on any node.',
    { hint: `take ${node.name} out of the load balancer's backend, or set preInPool: true in the inventory` },
  );
}

/**
 * Drains a group together and waits until nothing is in flight on its nodes.
 * Refuses when that would leave fewer than `minServing` nodes serving; drained
 * `early` (while the group before is still out), it answers false instead and
 * drains nothing, and `early` is called once the drain is decided.
 */
export async function drainGroup(
  ctx: RunContext,
  phase: string,
  group: readonly NodeSpec[],
  early?: () => void,
): Promise<boolean> {
  const spec = ctx.inventory.lb;
  const members = behindLb(ctx, group).filter((n) => !ctx.drained.has(n.name));
  if (!spec || ctx.lb.kind === 'none' || members.length === 0) return true;
  const all = behindLb(ctx, ctx.inventory.hosts);
  const states = await ctx.lb.states(all);
  const servingNow = all.filter((n) => states.get(n.name)?.admin === 'ready' && states.get(n.name)?.up);
  const serving = servingNow.filter((n) => !members.includes(n));
  const min = typeof spec.minServing === 'number' ? spec.minServing : groupCount(spec.minServing, all.length);
  if (!leavesEnough(serving.length, servingNow.length, min)) {
    // Ahead of its turn (the group before is still out): it waits for that group instead.
    if (early) return false;
    const names = members.map((n) => n.name).join(', ');
    const left = `${serving.length} of ${all.length} node(s) serving`;
    const runs = (n: NodeSpec) => {
      const current = state(ctx, n).current;
      return `${n.name} (${current ? `runs ${current}` : 'no current release: an app nobody released answers there'})`;
    };
    const up = servingNow.map(runs).join(', ');
    const stray = servingNow.some((n) => !state(ctx, n).current);
    throw new RelinkError(
      `draining ${names} would leave ${left}, below minServing ${spec.minServing}. The load balancer sees up: ${up}`,
      {
        hint: stray
          ? 'stop the app on the nodes with no current release (or drain them in the load balancer), then deploy again'
          : 'bring the other nodes back into the pool, use a smaller groupSize, or lower lb.minServing',
      },
    );
  }
  // Drained already (left out by an earlier run, a node set aside): this run puts it back after its switch.
  for (const n of members) if (states.get(n.name)?.admin === 'drain') ctx.drained.add(n.name);
  // A node the load balancer does not see up takes no traffic: nothing to drain, nothing to wait for.
  const live = members.filter((n) => states.get(n.name)?.up && states.get(n.name)?.admin !== 'drain');
  early?.();
  const results = await Promise.allSettled(
    live.map(async (node) => {
      // Counted as drained before the command goes out: a drain that fails or is cut short is put back too.
      ctx.drained.add(node.name);
      await step(ctx, `${phase}:drain`, node, () => ctx.lb.drain(node));
      const drained = await step(ctx, `${phase}:drained`, node, () => ctx.lb.waitDrained(node, spec.drainTimeoutMs));
      if (!drained)
        ctx.deps.reporter.emit({
          type: 'warn',
          node: node.name,
          message: `requests still in flight after drainTimeout ${spec.drainTimeoutMs} ms; going on`,
        });
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return true;
}

/**
 * Puts a drained node back as it was before the run and waits until the LB
 * reports it serving. `proven`: the node just passed relink's own smoke test,
 * so (with `lb.trustSmoke`) the load balancer is told it is healthy at once
 * instead of after its own rise checks, drained or not (a cold node). After
 * a switch a node drained before the run serves again; `exact` (a node that
 * did not switch) puts it back to the state it had, drained or not.
 */
export async function undrainNode(
  ctx: RunContext,
  phase: string,
  node: NodeSpec,
  proven = false,
  exact = false,
): Promise<void> {
  const spec = ctx.inventory.lb;
  if (!spec || ctx.lb.kind === 'none' || behindLb(ctx, [node]).length === 0) return;
  const drained = ctx.drained.has(node.name);
  const before = state(ctx, node).lb?.admin ?? 'ready';
  const to = exact || before !== 'drain' ? before : 'ready';
  const vouch = to === 'ready' && proven && spec.trustSmoke ? ctx.lb.vouch?.bind(ctx.lb) : undefined;
  // Put back and vouched for at once: a load balancer that batches (HAProxy) gets both in one command.
  const [back, vouched] = await Promise.allSettled([
    drained && step(ctx, `${phase}:undrain`, node, () => ctx.lb.undrain(node, to)),
    vouch && step(ctx, `${phase}:vouch`, node, () => vouch(node)),
  ]);
  if (back.status === 'rejected') throw back.reason;
  if (drained) ctx.drained.delete(node.name);
  if (vouched.status === 'rejected') throw vouched.reason;
  // A node put in maintenance by hand stays out; one that was never drained needs no wait.
  if (to !== 'ready') return;
  if (drained) await step(ctx, `${phase}:serving`, node, () => ctx.lb.waitServing(node, spec.serveTimeoutMs));
}

export const LB_SESSION = '(lb)';

/** Connects to the LB host if there is one and sets up the run's driver (a test may inject its own). */
export async function openLb(ctx: RunContext): Promise<void> {
  if (ctx.deps.lb) {
    ctx.lb = ctx.deps.lb;
    return;
  }
  const host = lbHost(ctx.inventory);
  let session: NodeSession | undefined;
  if (host && ctx.inventory.lb?.driver !== 'none') {
    session = await step(ctx, 'plan:connect', host, () => ctx.deps.transport.connect(host));
    ctx.sessions.set(LB_SESSION, session);
  }
  ctx.lb = createLb({ config: ctx.config, inventory: ctx.inventory, session, clock: ctx.deps });
}

/**
 * Undoes what the run changed in the load balancer's own files (nginx upstream);
 * a failure is a warning. Before the lock goes. The nodes still drained when the
 * run ends (set aside, or failed on their new release) stay out.
 */
export async function restoreLb(ctx: RunContext): Promise<void> {
  const out = ctx.inventory.hosts.filter((n) => ctx.drained.has(n.name));
  await ctx.lb
    .restore(out)
    .catch((error: unknown) =>
      ctx.deps.reporter.emit({ type: 'warn', message: `could not restore the load balancer: ${errorMessage(error)}` }),
    );
}

/**
 * Puts back every node this run drained and did not switch (after a failure), as it was before; the nodes
 * in `keep` stay drained.
 */
export async function undrainLeftovers(
  ctx: RunContext,
  phase: string,
  keep: readonly string[] = [],
): Promise<string[]> {
  const problems: string[] = [];
  // A node left with no release serves nothing: it stays out too.
  for (const name of [...ctx.drained].filter((n) => !keep.includes(n) && !ctx.empty.has(n))) {
    const node = ctx.inventory.hosts.find((n) => n.name === name)!;
    await undrainNode(ctx, phase, node, false, true).catch((error: unknown) => {
      const where = ctx.drained.has(name) ? 'still drained' : 'back in the load balancer but not serving';
      problems.push(`${name}: ${where}: ${errorMessage(error).split('\n')[0]}`);
    });
  }
  return problems;
}

/**
 * The groups a rollout takes. While nothing serves yet (a cold start: no node
 * up in the load balancer, or without one no node with a release) there is no
 * capacity to protect, so after the pre group every other node switches at
 * once; otherwise the inventory's groups.
 */
export function groupsFor(ctx: RunContext, groups: readonly NodeSpec[][]): NodeSpec[][] {
  const nodes = groups.flat();
  const serving =
    ctx.lb.kind === 'none'
      ? nodes.filter((n) => state(ctx, n).current)
      : behindLb(ctx, nodes).filter((n) => state(ctx, n).lb?.admin === 'ready' && state(ctx, n).lb?.up);
  if (serving.length > 0 || groups.length <= 1) return groups.map((g) => [...g]);
  const pre = ctx.inventory.pre;
  const first = groups[0]!;
  if (!pre || !first.some((n) => n.name === pre)) return [nodes];
  return [[...first], groups.slice(1).flat()].filter((g) => g.length > 0);
}
