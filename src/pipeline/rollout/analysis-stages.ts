// Where a deploy's analysis runs (config `analysis`): after the canary's group (the pre node when it takes
// traffic, else the first group), and after each group `afterGroups` names. Each is a boundary of the rollout
// (the group is wholly back in the pool, the next one untouched) and the rollout holds there for it.
import type { NodeSpec } from '../../inventory/types.js';
import type { ReleaseFacts } from '../../template/scope.js';
import type { RunContext } from '../context.js';
import { analyse } from './analysis.js';
import type { RolloutPolicy } from './rollout-types.js';
import { analyseSteps } from './weights.js';

type Groups = readonly (readonly NodeSpec[])[];

/** The index of the canary's group: the pre node's when it takes traffic, else the first other group. */
export function canaryIndex(ctx: RunContext, groups: Groups): number {
  const { pre, preInPool } = ctx.inventory;
  const first = groups[0];
  const outOfPool = Boolean(pre && !preInPool && first?.length === 1 && first[0]!.name === pre);
  return outOfPool && groups.length > 1 ? 1 : 0;
}

/** The indexes of the groups after which the analysis runs, in order. */
export function analysisStages(ctx: RunContext, groups: Groups): number[] {
  const analysis = ctx.config.analysis;
  if (!analysis || groups.length === 0) return [];
  const canary = canaryIndex(ctx, groups);
  const named = analysis.afterGroups.map((g) => g - 1).filter((i) => i > canary && i < groups.length);
  return [...new Set([canary, ...named])].sort((a, b) => a - b);
}

/**
 * The rollout policy's part for the analysis: its stages as boundaries, and the hold that measures there.
 * Empty without an `analysis`, or with `skip` (--skip-analysis, said and journaled by the gates).
 */
export function analysed(
  ctx: RunContext,
  groups: Groups,
  facts: ReleaseFacts,
  skip?: boolean,
): Pick<RolloutPolicy, 'boundary' | 'hold'> {
  const stages = analysisStages(ctx, groups);
  if (stages.length === 0) return {};
  if (skip) {
    const canary = groups[stages[0]!]!.map((n) => n.name);
    const skipped = { stage: 'canary', canary, result: 'skipped', measurements: 0, failed: 0, verdicts: [] } as const;
    ctx.analyses = [...(ctx.analyses ?? []), skipped];
    return {};
  }
  const first = canaryIndex(ctx, groups);
  const pre = ctx.inventory.pre;
  return {
    boundary: (index) => stages.includes(index),
    hold: async (index) => {
      // Everything switched since the canary's group, that serves: against the nodes not switched yet.
      const canary = groups
        .slice(first, index + 1)
        .flat()
        .filter((n) => !ctx.setAside.has(n.name) && !(n.name === pre && !ctx.inventory.preInPool));
      const baseline = groups.slice(index + 1).flat();
      if (canary.length === 0) {
        const message = `no analysis after group ${index + 1}: every node of it was set aside`;
        ctx.deps.reporter.emit({ type: 'warn', message });
        return;
      }
      const stage = index === first ? 'canary' : `after group ${index + 1}`;
      // The canary's traffic steps (analysis.steps): an analysis at each share of the traffic.
      if (index === first && ctx.config.analysis?.steps.length) return analyseSteps(ctx, { canary, baseline }, facts);
      await analyse(ctx, stage, { canary, baseline }, facts);
    },
  };
}
