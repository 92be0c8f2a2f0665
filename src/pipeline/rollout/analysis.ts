// The analysis stage of a deploy (config `analysis`, docs/analysis.md): after the canary is switched and back
// in the pool (and after each group `afterGroups` names), the queries are measured `count` times, `intervalMs`
// apart, while the rest of the fleet waits; more failed measurements than `failureLimit` fail the rollout as
// a failed smoke test does. What each query measured is said in the run's output, journaled on the canary's
// nodes and kept for the report.
import { RelinkError } from '../../errors.js';
import { printable } from '../../log/listing.js';
import {
  type AnalysisQuery,
  type AnalysisRecord,
  judgeQuery,
  type QueryVerdict,
  standing,
  verdictLine,
} from '../../gates/analysis.js';
import type { NodeSpec } from '../../inventory/types.js';
import { nextStep, type Said, said } from '../../next.js';
import { releaseRecords } from '../../journal/releases.js';
import { type AnalysisSets, analysisScope, renderQuery, type SetRuns } from '../../template/analysis-scope.js';
import type { ReleaseFacts } from '../../template/scope.js';
import { checkAborted, type RunContext, state } from '../context.js';
import { journalEvent, record } from '../shared/record.js';
import { alertsCheck } from './alerts.js';

type Analysis = NonNullable<RunContext['config']['analysis']>;

/** An analysis that failed: the rollout stops here and every switched node goes back. */
export class AnalysisError extends RelinkError {
  constructor(
    message: string,
    readonly verdicts: readonly QueryVerdict[],
    hint?: Said,
  ) {
    super(message, { hint });
    this.name = 'AnalysisError';
  }
}

/**
 * What the nodes of a set run now (the most of them): for the baseline, the release before this run's;
 * `fallback` when none of them runs anything that could be read.
 */
export function runsOf<T extends SetRuns | undefined>(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  fallback: T,
): SetRuns | T {
  const counted = new Map<string, number>();
  for (const n of nodes) {
    const current = state(ctx, n).current;
    if (current) counted.set(current, (counted.get(current) ?? 0) + 1);
  }
  const release = [...counted].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!release) return fallback;
  const version = nodes.map((n) => releaseRecords(state(ctx, n).events).get(release)?.version).find(Boolean);
  return { release, version: version ?? 'unknown' };
}

/** Asks Prometheus for every query once, for both sets; one verdict per query. */
export async function measure(
  ctx: RunContext,
  analysis: Analysis,
  sets: AnalysisSets,
  runs: { readonly canary: SetRuns; readonly baseline: SetRuns },
): Promise<QueryVerdict[]> {
  const ask = ctx.deps.prometheus;
  if (!ask) throw new Error('no Prometheus client in this run');
  const { config, inventory } = ctx;
  const deadline = { timeoutMs: analysis.prometheus.timeoutMs, signal: ctx.undoing ? undefined : ctx.deps.signal };
  const scope = (measured: 'canary' | 'baseline') => analysisScope(config, inventory, sets, measured, runs[measured]);
  const one = async (q: AnalysisQuery) => {
    const canaryQuery = renderQuery(q, scope('canary'));
    const baselineQuery = q.baseline && sets.baseline.length ? renderQuery(q, scope('baseline')) : undefined;
    try {
      const [canary, baseline] = await Promise.all([
        ask(analysis.prometheus, canaryQuery, deadline),
        baselineQuery === undefined ? undefined : ask(analysis.prometheus, baselineQuery, deadline),
      ]);
      return judgeQuery(q, { canary, baseline }, analysis.noData);
    } catch (error) {
      checkAborted(ctx);
      // An error can carry what the server answered: no control character reaches a terminal or the journal.
      const why = printable(ctx.deps.redactor.apply((error as Error).message.split('\n')[0] ?? '').slice(0, 300));
      return judgeQuery(q, { error: why }, analysis.noData);
    }
  };
  return Promise.all([...analysis.queries.map(one), ...alertsCheck(ctx, analysis, scope('canary'), deadline.signal)]);
}

/**
 * Runs one analysis stage: `count` measurements, `intervalMs` apart (and before the first), stopping at the
 * first failure past `failureLimit`. Throws AnalysisError when it fails, InterruptedError when interrupted.
 */
export async function analyse(
  ctx: RunContext,
  stage: string,
  sets: AnalysisSets,
  facts: ReleaseFacts,
): Promise<AnalysisRecord> {
  const analysis = ctx.config.analysis!;
  const { reporter } = ctx.deps;
  const names = sets.canary.map((n) => n.name);
  // A baseline that runs nothing yet (a first release) has nothing to compare with: the bounds alone judge.
  const before = runsOf(ctx, sets.baseline, undefined);
  if (!before) sets = { canary: sets.canary, baseline: [] };
  const baselineNames = sets.baseline.map((n) => n.name).join(', ') || 'none';
  const took = `${analysis.count} × ${analysis.intervalMs / 1000}s`;
  reporter.emit({
    type: 'phase',
    phase: `analysis (${stage}: ${names.join(', ')}; baseline ${baselineNames}; ${took})`,
  });
  const runs = { canary: { release: facts.release, version: facts.version }, baseline: before ?? facts };
  const results: boolean[] = [];
  let verdicts: QueryVerdict[] = [];
  let worst: QueryVerdict[] = [];
  let now = standing(results, analysis.count, analysis.failureLimit);
  while (now === 'going') {
    await pause(ctx, analysis.intervalMs);
    verdicts = await measure(ctx, analysis, sets, runs);
    checkAborted(ctx);
    const ok = verdicts.every((v) => v.ok);
    results.push(ok);
    if (!ok) worst = verdicts;
    const at = `analysis ${results.length}/${analysis.count}`;
    for (const v of verdicts) reporter.emit({ type: v.ok ? 'info' : 'warn', message: `${at}: ${verdictLine(v)}` });
    now = standing(results, analysis.count, analysis.failureLimit);
  }
  const failed = results.filter((ok) => !ok).length;
  const shown = now === 'failed' ? worst : verdicts;
  const done: AnalysisRecord = {
    stage,
    canary: names,
    result: now,
    measurements: results.length,
    failed,
    verdicts: shown,
  };
  ctx.analyses = [...(ctx.analyses ?? []), done];
  const summary = `${failed} of ${results.length} measurement(s) failed, ${analysis.failureLimit} tolerated`;
  const lines = shown.map(verdictLine).join('; ');
  const event = now === 'passed' ? 'analysis_passed' : 'analysis_failed';
  const entries = shown.map(({ query, canary, baseline, condition, allowed, ok }) => ({
    query,
    canary,
    ...(baseline !== undefined ? { baseline } : {}),
    ...(condition ? { condition } : {}),
    ...(allowed !== undefined ? { allowed } : {}),
    ok,
  }));
  const fields = { release: facts.release, version: facts.version, reason: `${summary}: ${lines}`, analysis: entries };
  await Promise.all(sets.canary.map((node) => record(ctx, node, journalEvent(ctx, node, event, fields))));
  if (now === 'failed') {
    const bad = shown.filter((v) => !v.ok).map(verdictLine);
    const env = ctx.config.env;
    const hint = said`fix the cause, tag a new version and deploy it; the queries now: ${nextStep('analyze', env)}`;
    throw new AnalysisError(`analysis of ${names.join(', ')} failed (${summary}): ${bad.join('; ')}`, shown, hint);
  }
  reporter.emit({ type: 'info', message: `analysis passed on ${names.join(', ')}: ${summary}` });
  return done;
}

/** Waits `ms`, ending at once when the run is interrupted. */
async function pause(ctx: RunContext, ms: number): Promise<void> {
  checkAborted(ctx);
  const signal = ctx.deps.signal;
  if (!signal) return ctx.deps.sleep(ms);
  let stop: () => void = () => undefined;
  const aborted = new Promise<void>((resolve) => {
    stop = resolve;
    signal.addEventListener('abort', stop, { once: true });
  });
  try {
    await Promise.race([ctx.deps.sleep(ms), aborted]);
  } finally {
    signal.removeEventListener('abort', stop);
  }
  checkAborted(ctx);
}
