// DORA's four keys of one environment, from its runs as the journals tell them, each with its band.
// The names are those of the field (deployment_frequency, lead_time_for_changes, change_failure_rate,
// time_to_restore_service); the bands' thresholds are in DORA_BANDS, and the reference prints them.
import type { RunResult } from './events.js';

/** What the keys need of a run (history.ts' RunRecord has it). */
interface RunRecord {
  readonly run: string;
  /** When it finished. */
  readonly ts: string;
  readonly kind: 'deploy' | 'rollback' | 'emergency-rollback';
  readonly result: RunResult;
}

export type Band = 'elite' | 'high' | 'medium' | 'low';

export interface DoraKey {
  /** null: nothing to measure in the window (no deploy, no failure, no known commit time). */
  readonly value: number | null;
  readonly unit: 'deploys/day' | 'hours' | 'ratio';
  readonly band: Band | null;
}

export interface Dora {
  readonly deployment_frequency: DoraKey;
  readonly lead_time_for_changes: DoraKey;
  readonly change_failure_rate: DoraKey;
  readonly time_to_restore_service: DoraKey;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The bands, after the DORA reports (State of DevOps 2019-2023), made contiguous: a value in the first band
 * whose bound it meets. Frequency (successful deploys): at least one a day is elite, one a week high, one in 30
 * days medium. Lead time for changes: at most a day elite, a week high, 30 days medium. Change failure rate: at
 * most 5% elite, 10% high, 15% medium. Time to restore service: at most an hour elite, a day high, a week
 * medium. Anything else is low.
 */
export const DORA_BANDS = {
  deployment_frequency: { elite: 1, high: 1 / 7, medium: 1 / 30 },
  lead_time_for_changes: { elite: 24, high: 7 * 24, medium: 30 * 24 },
  change_failure_rate: { elite: 0.05, high: 0.1, medium: 0.15 },
  time_to_restore_service: { elite: 1, high: 24, medium: 7 * 24 },
} as const;

/** The band of a value: `higher` when more is better (frequency), else less is better. */
function band(value: number | null, bounds: { elite: number; high: number; medium: number }, higher = false) {
  if (value === null) return null;
  const meets = (bound: number) => (higher ? value >= bound : value <= bound);
  if (meets(bounds.elite)) return 'elite';
  if (meets(bounds.high)) return 'high';
  if (meets(bounds.medium)) return 'medium';
  return 'low';
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface DoraOptions {
  /** The window the runs were taken from (`--since`), in ms: frequency is deploys per day over it. */
  readonly spanMs: number;
  /** A deploy rolled back within this long after it finished is a change failure (stats.changeFailureWindowMs). */
  readonly changeFailureWindowMs: number;
  /** Run id -> when the first commit of that deploy's release was made (ms since the epoch), where known. */
  readonly firstCommitMs?: ReadonlyMap<string, number>;
}

const released = (r: RunRecord) => r.result === 'success' || r.result === 'partial';

/**
 * The four keys over the runs of one environment. A change failure is a deploy that failed, or that went out and
 * was rolled back (a rollback run that succeeded) within the window and before the next deploy; interrupted
 * deploys count neither way. Restore: from a change failure's end (the failed run, or the deploy rolled back)
 * to the next run that put a release out (a deploy or a rollback).
 */
export function computeDora(runs: readonly RunRecord[], o: DoraOptions): Dora {
  const chronological = [...runs].sort((a, b) => a.ts.localeCompare(b.ts) || a.run.localeCompare(b.run));
  const deploys = chronological.filter((r) => r.kind === 'deploy' && r.result !== 'interrupted');
  const ok = deploys.filter(released);
  const after = (r: RunRecord) => chronological.filter((x) => x.ts > r.ts);
  const rolledBack = (d: RunRecord) => {
    const later = after(d);
    const nextDeploy = later.find((x) => x.kind === 'deploy' && x.result !== 'interrupted');
    return later.some(
      (x) =>
        x.kind !== 'deploy' &&
        released(x) &&
        Date.parse(x.ts) - Date.parse(d.ts) <= o.changeFailureWindowMs &&
        (!nextDeploy || x.ts <= nextDeploy.ts),
    );
  };
  const failures = deploys.filter((d) => !released(d) || rolledBack(d));
  const restores: number[] = [];
  for (const f of failures) {
    const next = after(f).find(released);
    if (next) restores.push(Date.parse(next.ts) - Date.parse(f.ts));
  }
  const leads: number[] = [];
  for (const d of ok) {
    const first = o.firstCommitMs?.get(d.run);
    if (first !== undefined) leads.push(Math.max(0, Date.parse(d.ts) - first));
  }
  const frequency = o.spanMs > 0 ? ok.length / (o.spanMs / DAY) : null;
  const rate = deploys.length ? failures.length / deploys.length : null;
  const hours = (ms: number | null) => (ms === null ? null : ms / HOUR);
  const lead = hours(median(leads));
  const restore = hours(median(restores));
  return {
    deployment_frequency: {
      value: frequency,
      unit: 'deploys/day',
      band: band(frequency, DORA_BANDS.deployment_frequency, true),
    },
    lead_time_for_changes: { value: lead, unit: 'hours', band: band(lead, DORA_BANDS.lead_time_for_changes) },
    change_failure_rate: { value: rate, unit: 'ratio', band: band(rate, DORA_BANDS.change_failure_rate) },
    time_to_restore_service: { value: restore, unit: 'hours', band: band(restore, DORA_BANDS.time_to_restore_service) },
  };
}
