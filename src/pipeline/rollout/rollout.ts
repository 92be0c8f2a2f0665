import { RelinkError, errorMessage } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { releaseRecords } from '../../journal/releases.js';
import { unlinkCurrent } from '../../remote/relink.js';
import { checkAborted, execOk, state, step, type RunContext } from '../context.js';
import { relinkNode, restartNode, smokeNode } from './activate.js';
import { drainGroup, undrainLeftovers, undrainNode } from './drain.js';
import { rolloutGroups } from '../../inventory/groups.js';
import { journalEvent, record } from '../phases/record.js';
import type { ReleaseFacts } from '../../template/scope.js';

export interface RolloutResult {
  readonly switched: NodeSpec[];
}

/** Failure of the rollout, with what was done about it. */
export class RolloutError extends RelinkError {
  constructor(
    message: string,
    readonly failedNode: string,
    readonly outcome: 'rolled_back' | 'halted' | 'interrupted',
    hint: string,
    exitCode?: 1 | 130,
  ) {
    super(message, { hint, exitCode });
    this.name = 'RolloutError';
  }
}

async function switchNode(ctx: RunContext, node: NodeSpec, facts: ReleaseFacts, switched: NodeSpec[]): Promise<void> {
  checkAborted(ctx);
  await relinkNode(ctx, 'rollout', node, facts, 'activated', {}, () => switched.push(node));
  await restartNode(ctx, 'rollout', node, facts);
  await smokeNode(ctx, 'rollout', node, facts);
  await undrainNode(ctx, 'rollout', node);
}

/**
 * Switches the nodes group by group (the `pre` node is the first group). A
 * failure anywhere rolls every node switched in this run back to what it ran
 * before, unless `onFailure` is `halt`.
 */
export async function rollout(ctx: RunContext, groups: readonly NodeSpec[][], facts: ReleaseFacts): Promise<RolloutResult> {
  const switched: NodeSpec[] = [];
  for (const [index, group] of groups.entries()) {
    ctx.deps.reporter.emit({ type: 'info', message: `group ${index + 1}/${groups.length}: ${group.map((n) => n.name).join(', ')}` });
    try {
      checkAborted(ctx);
      await drainGroup(ctx, 'rollout', group);
    } catch (error) {
      throw await handleFailure(ctx, group[0]!, error, switched, facts);
    }
    const results = await Promise.allSettled(group.map((node) => switchNode(ctx, node, facts, switched)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed === -1) continue;
    const error = (results[failed] as PromiseRejectedResult).reason as unknown;
    throw await handleFailure(ctx, group[failed]!, error, switched, facts);
  }
  return { switched };
}

async function handleFailure(ctx: RunContext, node: NodeSpec, error: unknown, switched: NodeSpec[], facts: ReleaseFacts): Promise<RolloutError> {
  const interrupted = ctx.deps.signal?.aborted ?? false;
  const cause = errorMessage(error);
  if (switched.length === 0) {
    const left = await undrainLeftovers(ctx, 'rollback');
    return new RolloutError(`${cause}. No node was switched.${left.length ? ` ${left.join('; ')}` : ''}`, node.name, interrupted ? 'interrupted' : 'rolled_back', 'fix the cause and deploy again', interrupted ? 130 : 1);
  }
  const names = switched.map((n) => n.name).join(', ');
  if (ctx.config.rollout.onFailure === 'halt' && !interrupted) {
    const out = ctx.drained.size ? ` ${[...ctx.drained].join(', ')} stay out of the load balancer.` : '';
    return new RolloutError(`${cause}. Halted as configured: ${names} stay on ${facts.release} for inspection.${out}`, node.name, 'halted', `when done: rollback ${ctx.config.env} --last`);
  }
  const problems = await rollBackSwitched(ctx, switched, facts);
  problems.push(...(await undrainLeftovers(ctx, 'rollback')));
  const summary = problems.length
    ? `Rolled back ${names}, but ${problems.length} node(s) did not come back cleanly: ${problems.join('; ')}`
    : `Rolled back ${names} to the release each ran before.`;
  return new RolloutError(`${cause}. ${summary}`, node.name, interrupted ? 'interrupted' : 'rolled_back', problems.length ? `check those nodes now: deploy status ${ctx.config.env}` : 'fix the cause, tag a new version and deploy it', interrupted ? 130 : 1);
}

/**
 * Puts each switched node back on the release it ran before this run, in
 * parallel: relink, restart, smoke. The release rolled back from is bad from
 * then on. A node with no earlier release loses its `current` link.
 */
export async function rollBackSwitched(ctx: RunContext, switched: readonly NodeSpec[], facts: ReleaseFacts): Promise<string[]> {
  ctx.deps.reporter.emit({ type: 'phase', phase: `rollback of ${switched.length} switched node(s)` });
  const problems: string[] = [];
  const note = (node: NodeSpec, error: unknown) => {
    const message = errorMessage(error).split('\n')[0] ?? '';
    problems.push(message.startsWith(`${node.name}:`) ? message : `${node.name}: ${message}`);
  };
  // In batches of the group size, so the serving pool never shrinks more than during the rollout.
  for (const batch of rolloutGroups(switched, undefined, ctx.inventory.groupSize)) {
    try {
      await drainGroup(ctx, 'rollback', batch);
    } catch (error) {
      ctx.deps.reporter.emit({ type: 'warn', message: `cannot drain ${batch.map((n) => n.name).join(', ')} (${errorMessage(error).split('\n')[0]}); rolling back without drain` });
    }
    await Promise.all(
      batch.map(async (node) => {
        const previous = state(ctx, node).current;
        try {
          if (!previous) {
            await step(ctx, 'rollback:unlink', node, () => execOk(ctx, node, unlinkCurrent(ctx.layout)));
            await record(ctx, node, journalEvent(ctx, node, 'rolled_back', { from: facts.release, reason: 'deploy failed; no earlier release' }));
            return;
          }
          const old = releaseRecords(state(ctx, node).events).get(previous);
          const back: ReleaseFacts = { release: previous, version: old?.version ?? 'unknown', commit: old?.commit ?? 'unknown', branch: '' };
          await relinkNode(ctx, 'rollback', node, back, 'rolled_back', { from: facts.release, reason: 'deploy failed' });
          await restartNode(ctx, 'rollback', node, back);
          await smokeNode(ctx, 'rollback', node, back);
        } catch (error) {
          note(node, error);
          return;
        }
        await undrainNode(ctx, 'rollback', node).catch((error: unknown) => note(node, error));
      }),
    );
  }
  return problems;
}
