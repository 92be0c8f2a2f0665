// The analysis in `deploy plan`: where the rollout holds for it, and each query as it would go out.
import type { NodeSpec } from '../../inventory/types.js';
import { analysisScope, renderQuery } from '../../template/analysis-scope.js';
import type { ReleaseFacts } from '../../template/scope.js';
import type { RunContext } from '../context.js';
import { type AlertsPlan, formatAlertsPlan, planAlerts } from './alerts.js';
import { runsOf } from './analysis.js';
import { analysisStages, canaryIndex } from './analysis-stages.js';
import { behindLb } from './drain.js';
import { type PlannedStep, planSteps } from './weights.js';
import { shareText } from '../../lb/weights.js';

export interface AnalysisPlan {
  readonly prometheus: string;
  readonly intervalMs: number;
  readonly count: number;
  readonly failureLimit: number;
  readonly noData: 'fail' | 'pass';
  readonly stages: readonly { readonly afterGroup: number; readonly canary: readonly string[] }[];
  /** The canary's traffic steps (analysis.steps), with their weights over the nodes behind the LB. */
  readonly steps?: readonly PlannedStep[];
  readonly queries: readonly {
    readonly name: string;
    readonly condition?: string;
    readonly baseline?: string;
    readonly promql: string;
  }[];
  readonly alerts?: AlertsPlan;
}

/** The plan's analysis: undefined without config `analysis`. */
export function planAnalysis(
  ctx: RunContext,
  groups: readonly (readonly NodeSpec[])[],
  facts: ReleaseFacts,
): AnalysisPlan | undefined {
  const analysis = ctx.config.analysis;
  const stages = analysisStages(ctx, groups);
  if (!analysis || stages.length === 0) return undefined;
  const first = canaryIndex(ctx, groups);
  const canaryOf = (index: number) => groups.slice(first, index + 1).flat();
  const sets = { canary: canaryOf(stages[0]!), baseline: groups.slice(stages[0]! + 1).flat() };
  const scope = analysisScope(ctx.config, ctx.inventory, sets, 'canary', facts);
  // The baseline's release is what they run now: checked here, so that a bad variable fails the plan.
  const baselineScope = analysisScope(ctx.config, ctx.inventory, sets, 'baseline', runsOf(ctx, sets.baseline, facts));
  const canaryLb = behindLb(ctx, sets.canary);
  const others = behindLb(ctx, ctx.inventory.hosts).filter((n) => !canaryLb.includes(n));
  const steps = planSteps(ctx, canaryLb.length, others.length);
  return {
    prometheus: analysis.prometheus.url,
    intervalMs: analysis.intervalMs,
    count: analysis.count,
    failureLimit: analysis.failureLimit,
    noData: analysis.noData,
    stages: stages.map((index) => ({ afterGroup: index + 1, canary: canaryOf(index).map((n) => n.name) })),
    ...(steps.length ? { steps } : {}),
    queries: analysis.queries.map((q) => {
      if (q.baseline) renderQuery(q, baselineScope);
      const baseline = q.baseline ? `<= baseline * ${q.baseline.maxRatio} + ${q.baseline.margin}` : undefined;
      return { name: q.name, condition: q.condition, baseline, promql: renderQuery(q, scope) };
    }),
    ...planAlerts(analysis, scope),
  };
}

/** The plan's lines for the analysis. */
export function formatAnalysis(plan: AnalysisPlan | undefined): string[] {
  if (!plan) return [];
  const each = `${plan.count} × ${plan.intervalMs / 1000}s, ${plan.failureLimit} failure(s) tolerated`;
  return [
    `  analysis: ${plan.prometheus}, ${each}, no data: ${plan.noData}`,
    ...plan.stages.map(
      (s) => `    after group ${s.afterGroup}: ${s.canary.join(', ')} against the nodes not yet switched`,
    ),
    ...(plan.steps ?? []).map(
      (s, i, all) =>
        `    traffic step ${i + 1}/${all.length}: ${s.percent}% to the canary (weight ${s.canaryWeight} against ` +
        `${s.othersWeight} on the others: ${shareText(s.share)}), then ${plan.count} measurement(s)`,
    ),
    ...plan.queries.map((q) => {
      const held = [q.condition, q.baseline].filter(Boolean).join(', ');
      return `    ${q.name.padEnd(15)} ${held}: ${q.promql}`;
    }),
    ...formatAlertsPlan(plan.alerts),
  ];
}
