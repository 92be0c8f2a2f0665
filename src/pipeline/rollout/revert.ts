import { errorMessage, RelinkError } from '../../errors.js';
import { rolloutGroups } from '../../inventory/groups.js';
import type { NodeSpec } from '../../inventory/types.js';
import { nextStep, type Said, said } from '../../next.js';
import { releaseRecords } from '../../journal/releases.js';
import type { ReleaseFacts } from '../../template/scope.js';
import { state, type RunContext } from '../context.js';
import { LockLostError, reclaimLocks } from '../phases/lock-guard.js';
import { SmokeSettingError } from './activate.js';
import { AnalysisError } from './analysis.js';
import { readOwnSettings } from '../shared/release-settings.js';
import { undrainLeftovers } from './drain.js';
import { type Move, rollout } from './rollout.js';

/** Failure of a deploy's rollout, with what was done about it. */
export class RolloutError extends RelinkError {
  constructor(
    message: string,
    readonly failedNode: string,
    readonly outcome: 'rolled_back' | 'halted' | 'interrupted',
    hint: Said,
    exitCode?: 1 | 130,
  ) {
    super(message, { hint, exitCode });
    this.name = 'RolloutError';
  }
}

/** How many nodes a list of `node: problem` lines is about (a node can have two: its put-back, then its drain). */
export function nodesIn(problems: readonly string[]): number {
  return new Set(problems.map((line) => line.slice(0, line.indexOf(':')))).size;
}

/**
 * What a deploy does when its rollout stopped at `node`: with nothing
 * switched, put drained nodes back; with `onFailure: halt`, leave the switched
 * nodes for inspection; otherwise put every switched node back on the release
 * it ran before. Returns the error the deploy ends with.
 */
export async function afterFailedRollout(
  ctx: RunContext,
  node: NodeSpec,
  error: unknown,
  switched: readonly NodeSpec[],
  facts: ReleaseFacts,
): Promise<RolloutError> {
  const interrupted = ctx.deps.signal?.aborted ?? false;
  const cause = errorMessage(error);
  const outcome = interrupted ? 'interrupted' : 'rolled_back';
  const code = interrupted ? 130 : 1;
  const env = ctx.config.env;
  const resume = said`interrupted: to resume, ${nextStep('deploy', env, undefined, [facts.version])} again`;
  if (switched.length === 0) {
    const left = await undrainLeftovers(ctx, 'rollback', [...ctx.setAside.keys()]);
    const rest = left.length ? ` ${left.join('; ')}` : '';
    const hint = interrupted
      ? resume
      : error instanceof LockLostError || error instanceof SmokeSettingError || error instanceof AnalysisError
        ? error.hint!
        : 'fix the cause and deploy again';
    return new RolloutError(`${cause}. No node was switched.${rest}`, node.name, outcome, hint, code);
  }
  const names = switched.map((n) => n.name).join(', ');
  if (ctx.config.rollout.onFailure === 'halt' && !interrupted) {
    const out = ctx.drained.size ? ` ${[...ctx.drained].join(', ')} stay out of the load balancer.` : '';
    const message = `${cause}. Halted as configured: ${names} stay on ${facts.release} for inspection.${out}`;
    const done = said`when done: ${nextStep('rollback', env, { last: true })}`;
    return new RolloutError(message, node.name, 'halted', done);
  }
  const problems = await revertSwitched(ctx, switched, facts);
  problems.push(...(await undrainLeftovers(ctx, 'rollback', [...ctx.setAside.keys()])));
  const summary = problems.length
    ? `Rolled back ${names}, but ${nodesIn(problems)} node(s) did not come back cleanly: ${problems.join('; ')}`
    : `Rolled back ${names} to the release each ran before.`;
  const hint = problems.length
    ? said`check those nodes now: ${nextStep('status', env)}`
    : interrupted
      ? resume
      : error instanceof LockLostError || error instanceof SmokeSettingError || error instanceof AnalysisError
        ? error.hint!
        : 'fix the cause, tag a new version and deploy it';
  return new RolloutError(`${cause}. ${summary}`, node.name, outcome, hint, code);
}

/**
 * Puts each switched node back on the release it ran before this run: the
 * same rollout, in batches of the group size (so the serving pool never
 * shrinks more than during the deploy), going on past failures. Each release
 * goes back with the settings it kept on its node (shared/release-settings.ts).
 * The release rolled back from is bad from then on. A node with no earlier
 * release loses its `current` link. Returns one line per node that did not come back.
 */
export async function revertSwitched(
  ctx: RunContext,
  switched: readonly NodeSpec[],
  facts: ReleaseFacts | ((node: NodeSpec) => ReleaseFacts),
  options: { keepOut?: boolean; phase?: string; reason?: string } = {},
): Promise<string[]> {
  // The rollout below does not let an interrupt cut its commands short (interruptible: false), and restores
  // that afterwards: a failure budget's put-back inside a forward rollout leaves the rest of it interruptible.
  const title = options.phase ?? `rollback of ${switched.length} switched node(s)`;
  ctx.deps.reporter.emit({ type: 'phase', phase: title });
  const leaving = (node: NodeSpec) => (typeof facts === 'function' ? facts(node) : facts);
  const reason = options.reason ?? 'deploy failed';
  const previousOf = (node: NodeSpec): Move => {
    const previous = state(ctx, node).current;
    const from = leaving(node);
    if (!previous) {
      const fields = { from: from.release, reason: `${reason}; no earlier release` };
      return { event: 'rolled_back', fields, leaving: from };
    }
    const old = releaseRecords(state(ctx, node).events).get(previous);
    const to = { release: previous, version: old?.version ?? 'unknown', commit: old?.commit ?? 'unknown', branch: '' };
    return { to, event: 'rolled_back', fields: { from: from.release, reason } };
  };
  // After a lost lock: a node whose lock another run holds now is not touched; a removed one is taken again.
  const reclaimed = await reclaimLocks(ctx, switched);
  const back = reclaimed.nodes.flatMap((node) => {
    const release = state(ctx, node).current;
    return release ? [{ node, release }] : [];
  });
  await readOwnSettings(ctx, back);
  const batches = rolloutGroups(reclaimed.nodes, undefined, ctx.inventory.groupSize);
  const policy = { phase: 'rollback', drain: true, switchUndrained: true, smoke: true, undo: true } as const;
  const keepOut = options.keepOut ?? false;
  const result = await rollout(ctx, batches, previousOf, {
    ...policy,
    keepOut,
    continueOnFailure: true,
    interruptible: false,
  });
  const failed = result.failures.map(({ node, error }) => {
    const message = errorMessage(error).split('\n')[0] ?? '';
    return message.startsWith(`${node.name}:`) ? message : `${node.name}: ${message}`;
  });
  return [...reclaimed.problems, ...failed];
}
