// The analysis' pure decisions: each query's value against its condition and the baseline, a measurement
// out of its queries, and the analysis out of its measurements. No I/O: the runner
// (pipeline/rollout/analysis.ts) and `deploy analyze` hand in what Prometheus answered.
import { type Condition, holds, parseCondition } from '../config/condition.js';
import type { AnalysisEntry } from '../journal/events.js';

/** One query as the config has it (analysis.queries[]). */
export interface AnalysisQuery {
  readonly name: string;
  readonly query: string;
  readonly condition?: string;
  readonly baseline?: { readonly maxRatio: number; readonly margin: number };
}

/** What Prometheus said for one query: the canary's values, the baseline's (absent: not asked), or an error. */
export interface Answer {
  readonly canary?: readonly number[];
  readonly baseline?: readonly number[];
  readonly error?: string;
}

/** One query judged once: the values taken, what they were held to, and whether they met it (as journaled). */
export interface QueryVerdict extends AnalysisEntry {
  /** Why it failed (or passed without a value), in words. */
  readonly why?: string;
}

/** The value a query's series come to: the worst for its condition (the lowest for `>`, else the highest). */
export function worst(values: readonly number[], condition?: Condition): number | null {
  if (values.length === 0) return null;
  return condition?.op.startsWith('>') ? Math.min(...values) : Math.max(...values);
}

/** One query's verdict from Prometheus' answer; `noData` says what a missing value counts as. */
export function judgeQuery(q: AnalysisQuery, answer: Answer, noData: 'fail' | 'pass'): QueryVerdict {
  const condition = q.condition ? parseCondition(q.condition) : undefined;
  const base = { query: q.name, condition: condition?.text };
  if (answer.error !== undefined) return { ...base, canary: null, ok: false, why: answer.error };
  const canary = worst(answer.canary ?? [], condition);
  const compared = q.baseline && answer.baseline !== undefined;
  const baseline = compared ? worst(answer.baseline ?? []) : undefined;
  const withBaseline = compared ? { baseline } : {};
  if (canary === null)
    return {
      ...base,
      canary,
      ...withBaseline,
      ok: noData === 'pass',
      why: `no data for the canary (noData: ${noData})`,
    };
  const failures: string[] = [];
  // The canary's own bound holds or not whatever the baseline says; `noData` decides only the comparison.
  if (condition && !holds(condition, canary)) failures.push(`${shown(canary)} is not ${condition.text}`);
  if (compared && baseline === null && noData === 'fail') failures.push(`no data for the baseline (noData: fail)`);
  let allowed: number | undefined;
  if (compared && q.baseline && baseline !== null && baseline !== undefined) {
    allowed = baseline * q.baseline.maxRatio + q.baseline.margin;
    if (!(canary <= allowed))
      failures.push(
        `${shown(canary)} is above ${shown(allowed)} (baseline ${shown(baseline)} × ${q.baseline.maxRatio})`,
      );
  }
  const judged = { ...base, canary, ...withBaseline, ...(allowed !== undefined ? { allowed } : {}) };
  return failures.length ? { ...judged, ok: false, why: failures.join('; ') } : { ...judged, ok: true };
}

/** One analysis as the report shows it: where it ran, how it ended, its last measurement. */
export interface AnalysisRecord {
  readonly stage: string;
  readonly canary: readonly string[];
  readonly result: 'passed' | 'failed' | 'skipped';
  readonly measurements: number;
  readonly failed: number;
  readonly verdicts: readonly QueryVerdict[];
}

/** Where an analysis stands after its measurements so far. */
export type Standing = 'passed' | 'failed' | 'going';

/** `failed` once more measurements failed than `failureLimit`; `passed` after `count` measurements; else going. */
export function standing(results: readonly boolean[], count: number, failureLimit: number): Standing {
  const failed = results.filter((ok) => !ok).length;
  if (failed > failureLimit) return 'failed';
  return results.length >= count ? 'passed' : 'going';
}

/** A number as the output shows it: up to 4 significant digits. */
export function shown(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'no data';
  if (!Number.isFinite(value)) return String(value);
  return Number(value.toPrecision(4)).toString();
}

/** One verdict in a line: `error-ratio 0.05 (< 0.01): FAILED, 0.05 is not < 0.01`. */
export function verdictLine(v: QueryVerdict): string {
  const held = [v.condition, v.allowed !== undefined ? `<= ${shown(v.allowed)} by the baseline` : undefined];
  const against = held.filter(Boolean).join(', ');
  const base = v.baseline !== undefined ? `, baseline ${shown(v.baseline)}` : '';
  const what = `${v.query} ${shown(v.canary)}${base}${against ? ` (${against})` : ''}`;
  return v.ok ? `${what}: ok${v.why ? `, ${v.why}` : ''}` : `${what}: FAILED, ${v.why}`;
}
