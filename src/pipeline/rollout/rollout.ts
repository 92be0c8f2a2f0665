import type { NodeSpec } from '../../inventory/types.js';
import type { RunContext } from '../context.js';
import type { Move, RolloutPolicy, RolloutResult } from './rollout-types.js';
import { switchGroups } from './schedule.js';

export type { Failure, Move, RolloutBudget, RolloutPolicy, RolloutResult, Stop } from './rollout-types.js';

/**
 * The one way nodes change release: group by group (the `pre` node is the
 * first group), each group drained together, then per node relink and restart
 * (one round trip), afterSwitch hooks and smoke test, then the group back into
 * the pool; the next group may drain meanwhile (schedule.ts). Deploy,
 * rollback, the undo of a failed deploy and the emergency rollback are all
 * this, with other targets and another policy.
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
