// The canary's traffic steps (config `analysis.steps`, docs/analysis.md): at each step the load balancer's
// weights give the canary its share of the requests, then the analysis measures it; the weights go back as
// they were after the last step and on every exit path (here, and in restoreLb at the end of every run).
import { errorMessage, UsageError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { shareText, stepWeights, WEIGHT_RANGES } from '../../lb/weights.js';
import type { AnalysisSets } from '../../template/analysis-scope.js';
import type { ReleaseFacts } from '../../template/scope.js';
import { checkAborted, type RunContext, step } from '../context.js';
import { analyse } from './analysis.js';
import { behindLb } from './drain.js';

/** One step as `deploy plan` shows it: the share asked, the weights, the share they give. */
export interface PlannedStep {
  readonly percent: number;
  readonly canaryWeight: number;
  readonly othersWeight: number;
  readonly share: number;
}

/** Traffic steps need a load balancer that weights its servers: refused before anything changes (exit 2). */
export function refuseUnweighted(ctx: RunContext): void {
  const steps = ctx.config.analysis?.steps ?? [];
  const driver = ctx.inventory.lb?.driver ?? 'none';
  if (steps.length === 0 || WEIGHT_RANGES[driver]) return;
  const steps_ = steps.map((s) => `${s}%`).join(', ');
  throw new UsageError(
    `analysis.steps (${steps_}) gives the canary a share of the traffic through the load balancer's weights, ` +
      `but lb.driver ${driver} cannot weight its servers. Nothing was changed on any node.`,
    { hint: 'use lb.driver haproxy or nginx in the inventory, or remove analysis.steps from the config' },
  );
}

/** The steps' weights over `canary` servers against `others` (the plan counts every node behind the LB). */
export function planSteps(ctx: RunContext, canary: number, others: number): PlannedStep[] {
  const range = WEIGHT_RANGES[ctx.inventory.lb?.driver ?? 'none'];
  if (!range || canary < 1) return [];
  return (ctx.config.analysis?.steps ?? []).map((percent) => {
    const w = stepWeights(percent, canary, others, range);
    return { percent, canaryWeight: w.canary, othersWeight: w.others, share: w.share };
  });
}

/**
 * The canary's analysis in steps: per step, the weights, then `count` measurements. The servers counted are
 * the ones serving now (ready and up); the weights go back when the steps end, however they end.
 */
export async function analyseSteps(ctx: RunContext, sets: AnalysisSets, facts: ReleaseFacts): Promise<void> {
  const { lb, deps } = ctx;
  const range = WEIGHT_RANGES[lb.kind];
  const steps = ctx.config.analysis?.steps ?? [];
  const all = behindLb(ctx, ctx.inventory.hosts);
  const states = await lb.states(all);
  const serving = (n: NodeSpec) => states.get(n.name)?.admin === 'ready' && states.get(n.name)?.up;
  const canary = behindLb(ctx, sets.canary).filter(serving);
  const others = all.filter((n) => !canary.includes(n) && serving(n));
  if (!range || !lb.weigh || canary.length === 0 || others.length === 0) {
    const why = canary.length ? 'no other node serves' : 'the canary is not in the pool';
    deps.reporter.emit({ type: 'warn', message: `no traffic steps: ${why}; the canary takes its own share` });
    await analyse(ctx, 'canary', sets, facts);
    return;
  }
  const names = canary.map((n) => n.name).join(', ');
  try {
    for (const [i, percent] of steps.entries()) {
      checkAborted(ctx);
      const w = stepWeights(percent, canary.length, others.length, range);
      const on = `weight ${w.canary} against ${w.others} on ${others.length} other node(s)`;
      deps.reporter.emit({
        type: 'phase',
        phase: `traffic step ${i + 1}/${steps.length}: ${percent}% to ${names} (${on}: ${shareText(w.share)})`,
      });
      const weights = [
        ...canary.map((node) => ({ node, weight: w.canary })),
        ...others.map((node) => ({ node, weight: w.others })),
      ];
      await step(ctx, 'rollout:weights', undefined, () => lb.weigh!(weights));
      await analyse(ctx, `canary at ${percent}%`, sets, facts);
    }
  } finally {
    await restoreWeights(ctx);
  }
}

/** The weights back as they were; a failure is a warning (the end of the run tries again). Idempotent. */
export async function restoreWeights(ctx: RunContext): Promise<void> {
  const lb = ctx.lb;
  if (!lb.restoreWeights) return;
  await step(ctx, 'rollout:weights-back', undefined, () => lb.restoreWeights!()).catch((error: unknown) =>
    ctx.deps.reporter.emit({ type: 'warn', message: `could not put the weights back yet: ${errorMessage(error)}` }),
  );
}
