// Which hooks of a point a run runs, and where: the one decision the plan lists and the run follows. Hooks on
// the deploy machine always come from the local config; hooks on a node come from the settings the release
// they act on kept on that node, when the run read them (a rollback, the undo of a failed deploy), else from
// the local config (docs/hooks.md, "Which hooks a rollback runs").
import { isNodeHookPoint } from '../../config/carried-hooks.js';
import type { ResolvedHook } from '../../config/hooks.js';
import type { HookPoint } from '../../config/schema-hooks.js';
import { UsageError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import type { RunContext } from '../context.js';
import { keptHooks } from '../shared/release-settings.js';

/** One hook as a run will run it: where (no nodes: the deploy machine) is decided here, for the plan and the run. */
export interface ScheduledHook {
  readonly point: HookPoint;
  readonly hook: ResolvedHook;
  /** The nodes it runs on (`each`: every node of the run; `once`: one); absent: on the deploy machine. */
  readonly nodes?: readonly NodeSpec[];
  /** The release whose own settings it comes from; absent: the local config. */
  readonly kept?: string;
}

/** The points a deploy runs, in order. */
export const DEPLOY_HOOKS = [
  'beforeBuild',
  'afterBuild',
  'afterDistribute',
  'beforeSwitch',
  'afterSwitch',
  'afterRollout',
  'onFailure',
] as const satisfies readonly HookPoint[];

/**
 * The hooks of a point that this run runs, and where: `local` on the deploy machine, `each` on every node of
 * the run, `once` on `node` (one of the run) or else the pre node, else the run's first node. In an emergency
 * rollback only hooks marked `emergency`; in a --retry-failed run not the once hooks before the switch, nor those
 * on a node it leaves out. The plan lists exactly this.
 *
 * `releaseOf`: the release the hooks act on, per node. When a node kept that release's settings and the run
 * read them, its node-side hooks are that release's own: the local config's `local` hooks run first, then the
 * node-side hooks, each from the copy of the node it runs on (nodes that agree share one step).
 */
export function scheduleHooks(
  ctx: RunContext,
  point: HookPoint,
  nodes: readonly NodeSpec[],
  emergency = false,
  releaseOf?: (node: NodeSpec) => string,
): ScheduledHook[] {
  // A --retry-failed run finishes another run's release: that run ran its once-per-run hooks before the switch,
  // and those on a node this run leaves out.
  const before = point === 'afterDistribute' || point === 'beforeSwitch';
  const outside = (hook: ResolvedHook) => Boolean(hook.node) && !nodes.some((n) => n.name === hook.node);
  const ranAlready = (hook: ResolvedHook) => Boolean(ctx.retryOf) && hook.on === 'once' && (before || outside(hook));
  const runs = (hook: ResolvedHook) => (!emergency || hook.emergency) && !ranAlready(hook);
  const today = ctx.config.hooks[point];
  const kept =
    releaseOf && isNodeHookPoint(point) && ctx.ownSettings.size > 0
      ? nodes.map((node) => {
          const release = releaseOf(node);
          const hooks = keptHooks(ctx, node, release);
          return hooks ? { release, list: hooks[point] ?? [] } : undefined;
        })
      : [];
  if (!kept.some(Boolean))
    return today.filter(runs).map((hook) => {
      if (hook.on === 'local') return { point, hook };
      if (hook.on === 'each') return { point, hook, nodes };
      return { point, hook, nodes: onceNode(ctx, point, hook, nodes) };
    });
  const local: ScheduledHook[] = today
    .filter((hook) => hook.on === 'local' && runs(hook))
    .map((hook) => ({ point, hook }));
  const first = nodes.find((n) => n.name === ctx.inventory.pre) ?? firstOf(ctx, nodes);
  const entries = new Map<string, ScheduledHook & { nodes: NodeSpec[] }>();
  for (const node of first ? [first, ...nodes.filter((n) => n !== first)] : nodes) {
    const own = kept[nodes.indexOf(node)];
    for (const hook of (own?.list ?? today.filter((h) => h.on !== 'local')).filter(runs)) {
      // A once hook comes from the copy of the node it runs on: a node's copy only shapes its own commands.
      if (hook.on === 'once' && onceNode(ctx, point, hook, nodes, own?.release)[0] !== node) continue;
      const id = JSON.stringify([hook.on, hook.command, hook.node, hook.name, hook.timeoutMs, hook.emergency]);
      const entry = entries.get(id) ?? { point, hook, nodes: [], ...(own ? { kept: own.release } : {}) };
      entry.nodes.push(node);
      entries.set(id, entry);
    }
  }
  return [...local, ...entries.values()];
}

function onceNode(
  ctx: RunContext,
  point: HookPoint,
  hook: ResolvedHook,
  nodes: readonly NodeSpec[],
  kept?: string,
): NodeSpec[] {
  if (!hook.node) {
    const first = nodes.find((n) => n.name === ctx.inventory.pre) ?? firstOf(ctx, nodes);
    return first ? [first] : [];
  }
  const named = nodes.find((n) => n.name === hook.node);
  if (named) return [named];
  const names = nodes.map((n) => n.name).join(', ');
  throw new UsageError(
    `hooks.${point} "${hook.name}" runs on ${hook.node}, which is not a node of this run (${names}). ` +
      'Nothing was changed.',
    {
      hint: kept
        ? `${kept} kept this hook: include ${hook.node} in the run, or run with --use-current-config`
        : `name one of ${names} in its "node", or include ${hook.node} in the run`,
    },
  );
}

/** The first of these nodes in the inventory's order (the plan and the run list them in other orders). */
export function firstOf(ctx: RunContext, nodes: readonly NodeSpec[]): NodeSpec | undefined {
  const host = ctx.inventory.hosts.find((h) => nodes.some((n) => n.name === h.name));
  return nodes.find((n) => n.name === host?.name) ?? nodes[0];
}
