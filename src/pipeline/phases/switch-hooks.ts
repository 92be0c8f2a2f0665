import type { NodeSpec } from '../../inventory/types.js';
import type { ReleaseFacts } from '../../template/scope.js';
import type { RunContext } from '../context.js';
import { removeEverywhere } from '../distribution/distribute.js';
import { runHooksBefore } from '../rollout/hooks.js';

/**
 * The hooks between distribute and the first switch: afterDistribute, then beforeSwitch (a `backup` first of
 * them). If one fails, the new release is removed from every node and nothing was switched: the error names
 * the hook, and the run ends there.
 */
export async function hooksBeforeSwitch(ctx: RunContext, nodes: readonly NodeSpec[], facts: ReleaseFacts) {
  for (const point of ['afterDistribute', 'beforeSwitch'] as const) {
    const left = 'The new release was removed from every node; nothing was switched.';
    await runHooksBefore(ctx, point, nodes, { facts: () => facts }, left).catch(async (error: unknown) => {
      await removeEverywhere(ctx, nodes, facts.release);
      throw error;
    });
  }
}
