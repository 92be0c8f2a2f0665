// `deploy analyze <env>`: the queries of config `analysis` against the fleet as it is now (no release, no lock):
// each query's value for the canary (the pre node when it takes traffic, else the first group) and for the
// baseline (the other nodes in the pool), and whether its bounds hold. To check the queries before they gate
// a release.
import { UsageError } from '../errors.js';
import type { AlertsVerdict } from '../gates/alerts.js';
import { rolloutGroups } from '../inventory/groups.js';
import { planAlerts } from '../pipeline/rollout/alerts.js';
import { canaryIndex } from '../pipeline/rollout/analysis-stages.js';
import { measure, runsOf } from '../pipeline/rollout/analysis.js';
import { analysisScope, renderQuery } from '../template/analysis-scope.js';
import { loadProject } from './compose.js';
import { withObserved } from './observed.js';
import type { AnalyzeJson } from './shapes.js';

export async function analyzeEnv(env: string, config: string | undefined): Promise<AnalyzeJson> {
  // Refused before any node is read.
  if (!(await loadProject(env, config)).config.analysis)
    throw new UsageError(`${env} has no analysis to run`, {
      hint: 'add an analysis section to deploy.config.ts (docs/analysis.md)',
    });
  return withObserved({ env, config, command: 'analyze' }, async ({ run, seen }) => {
    const analysis = run.config.analysis!;
    const { ctx } = seen;
    const { inventory } = run;
    const groups = rolloutGroups(inventory.hosts, inventory.pre, inventory.groupSize);
    const index = canaryIndex(ctx, groups);
    const outOfPool = (name: string) => name === inventory.pre && !inventory.preInPool;
    const canary = groups[index] ?? [];
    const baseline = groups
      .flat()
      .filter((n) => !canary.includes(n) && !outOfPool(n.name) && !inventory.lb?.exclude?.includes(n.name));
    const sets = { canary, baseline };
    const unknown = { release: 'unknown', version: 'unknown' };
    const runs = { canary: runsOf(ctx, canary, unknown), baseline: runsOf(ctx, baseline, unknown) };
    const verdicts = await measure(ctx, analysis, sets, runs);
    const scope = (measured: 'canary' | 'baseline') =>
      analysisScope(run.config, inventory, sets, measured, runs[measured]);
    const alerts = analysis.alerts ? (verdicts.at(-1) as AlertsVerdict) : undefined;
    const queries = analysis.queries.map((q, i) => ({
      ...verdicts[i]!,
      promql: renderQuery(q, scope('canary')),
      ...(q.baseline && baseline.length ? { baselinePromql: renderQuery(q, scope('baseline')) } : {}),
    }));
    const set = (nodes: typeof canary, r: typeof unknown) => ({ nodes: nodes.map((n) => n.name), ...r });
    return {
      env,
      ok: verdicts.every((v) => v.ok),
      canary: set(canary, runs.canary),
      baseline: set(baseline, runs.baseline),
      queries,
      ...(alerts ? { alerts: alertsJson(planAlerts(analysis, scope('canary')).alerts!, alerts) } : {}),
    };
  });
}

/** The alerts check as `deploy analyze --json` shows it. */
function alertsJson(plan: NonNullable<ReturnType<typeof planAlerts>['alerts']>, v: AlertsVerdict) {
  const { source, url, matchers } = plan;
  return {
    source,
    url,
    matchers: [...matchers],
    ok: v.ok,
    count: v.canary,
    firing: v.firing.map((a) => ({ alertname: a.alertname, labels: { ...a.labels } })),
    ...(v.why ? { why: v.why } : {}),
  };
}
