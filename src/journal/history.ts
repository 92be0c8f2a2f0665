import type { Dora } from './dora.js';
import type { JournalEvent, MergedBranches, RunResult } from './events.js';

/** One run, as merged from the `run_finished` records of every node that saw it. */
export interface RunRecord {
  readonly run: string;
  readonly env: string;
  /** When the run finished. */
  readonly ts: string;
  readonly user: string;
  readonly command: string;
  readonly kind: 'deploy' | 'rollback' | 'emergency-rollback';
  readonly version?: string;
  readonly release?: string;
  /** The commit of that release. */
  readonly commit?: string;
  readonly result: RunResult;
  readonly ms: number;
  readonly nodes: string[];
  readonly reason?: string;
  /** Known bugs released anyway with --allow-poison. */
  readonly allowedPoisons?: readonly string[];
  /** Known bugs an emergency rollback landed on. */
  readonly landedOnPoisons?: readonly string[];
  /** A deploy outside the release windows with --emergency. */
  readonly emergency?: boolean;
  /** A deploy released without its analysis (--skip-analysis; the reason in `reason`). */
  readonly analysisSkipped?: boolean;
  /** `deploy --branches`: the base and each branch merged, with its commit. */
  readonly merged?: MergedBranches;
  /** A deploy released by an approval: who asked and who approved; an emergency's review after the fact. */
  readonly requester?: string;
  readonly approver?: string;
  readonly review?: string;
}

/** A rollback's reason when none was given: `rollback --last`, `rollback --emergency --to v1.0.0`. */
const DEFAULT_REASON = /^rollback(?: --emergency)? (--last|--to \S+)$/;

/** Whether a run's reason is only the default one a rollback without --reason journals. */
export const isDefaultReason = (reason: string | undefined): boolean => DEFAULT_REASON.test(reason ?? '');

/**
 * The command line of a run, as journaled (`deploy prod v1.1.0`, `rollback prod --last`). Records
 * of rollbacks written before the command line was journaled say only `rollback`: their `--last`
 * or `--to X` comes from the default reason, else from the version the rollback went to.
 */
function commandLine(e: JournalEvent): string {
  const command = e.command ?? 'deploy';
  if (command !== 'rollback' && command !== 'rollback --emergency') return command;
  const spec = DEFAULT_REASON.exec(e.reason ?? '')?.[1] ?? `--to ${e.version ?? '?'}`;
  return `rollback ${e.env} ${spec}${command === 'rollback' ? '' : ' --emergency'}`;
}

function kindOf(e: JournalEvent): RunRecord['kind'] {
  if (e.command?.startsWith('rollback'))
    return e.emergency || e.command.includes('--emergency') ? 'emergency-rollback' : 'rollback';
  return 'deploy';
}

/**
 * Merges the journals of many nodes (and environments) into one row per run,
 * de-duplicated by run id, newest first. Any one node's journal is enough to
 * know a run happened: losing the deploy machine or a node loses nothing.
 */
export function mergeRuns(journals: Iterable<readonly JournalEvent[]>): RunRecord[] {
  const runs = new Map<string, RunRecord>();
  for (const events of journals) {
    for (const e of events) {
      if (e.event !== 'run_finished') continue;
      const key = `${e.env}\u0000${e.run}`;
      const seen = runs.get(key);
      if (seen) {
        if (!seen.nodes.includes(e.node)) seen.nodes.push(e.node);
        continue;
      }
      runs.set(key, {
        run: e.run,
        env: e.env,
        ts: e.ts,
        user: e.user,
        command: commandLine(e),
        kind: kindOf(e),
        version: e.version,
        release: e.release,
        commit: e.commit,
        result: e.result ?? 'failed',
        ms: e.ms ?? 0,
        nodes: [e.node],
        reason: e.reason,
        allowedPoisons: e.allowedPoisons,
        landedOnPoisons: e.landedOnPoisons,
        emergency: e.emergency,
        analysisSkipped: e.analysisSkipped,
        ...(e.merged ? { merged: holds(e.merged) } : {}),
        requester: e.requester,
        approver: e.approver,
        review: e.review,
      });
    }
  }
  return [...runs.values()].sort((a, b) => b.ts.localeCompare(a.ts) || b.run.localeCompare(a.run));
}

/** What a merge held, with only the fields relink writes (a journal line may carry more). */
function holds(m: MergedBranches): MergedBranches {
  const at = (b: { name: string; commit: string }) => ({ name: b.name, commit: b.commit });
  return { base: at(m.base), branches: m.branches.map(at) };
}

/** `30d`, `12h`, `90m`, `2w` -> milliseconds. */
export function parseSince(text: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration such as 30d, 12h or 90m`);
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export interface Stats {
  readonly deploys: number;
  readonly successes: number;
  readonly failures: number;
  /** Deploys stopped by the operator (Ctrl-C, SIGTERM): neither a success nor a failure. */
  readonly interrupted: number;
  readonly rollbacks: number;
  readonly rollbacksNormal: number;
  readonly rollbacksEmergency: number;
  readonly rollbacksFailed: number;
  /** Successful deploys over deploys that ran to an end (interrupted ones left out), 0..1; null with none. */
  readonly successRate: number | null;
  /** Of deploy runs, in ms. */
  readonly medianMs: number | null;
  readonly p95Ms: number | null;
  /** Mean time from a failed deploy to the next successful run in that environment, in ms. */
  readonly mttrMs: number | null;
  readonly lastSuccess: string | null;
  readonly lastFailure: string | null;
  /** Successes that set nodes aside within rollout.maxFailures (result `partial`). */
  readonly partial: number;
  /** Deploys and rollbacks that went out onto a known bug allowed by --allow-poison. */
  readonly poisonOverrides: number;
  /** Deploys outside the release windows with --emergency. */
  readonly emergencyReleases: number;
  /** Deploys released without their analysis (--skip-analysis). */
  readonly analysisSkips: number;
  /** DORA's four keys of one environment (`deploy stats`; journal/dora.ts). */
  readonly dora?: Dora;
}

/** Counts over the runs of one or more environments. */
export function computeStats(runs: readonly RunRecord[]): Stats {
  const deploys = runs.filter((r) => r.kind === 'deploy');
  // A release that went out with nodes set aside (rollout.maxFailures) went out: a success, counted apart too.
  const released = (r: RunRecord) => r.result === 'success' || r.result === 'partial';
  const ok = deploys.filter(released);
  const stopped = deploys.filter((r) => r.result === 'interrupted');
  const failed = deploys.filter((r) => !released(r) && r.result !== 'interrupted');
  const decided = ok.length + failed.length;
  const rollbacks = runs.filter((r) => r.kind !== 'deploy');
  const durations = deploys.map((r) => r.ms).sort((a, b) => a - b);
  const chronological = [...runs].sort((a, b) => a.ts.localeCompare(b.ts));
  const recoveries: number[] = [];
  for (const failure of failed) {
    const next = chronological.find((r) => r.env === failure.env && r.ts > failure.ts && released(r));
    if (next) recoveries.push(Date.parse(next.ts) - Date.parse(failure.ts));
  }
  const latest = (xs: readonly RunRecord[]) => (xs.length ? xs.reduce((a, b) => (a.ts > b.ts ? a : b)).ts : null);
  return {
    deploys: deploys.length,
    successes: ok.length,
    partial: deploys.filter((r) => r.result === 'partial').length,
    failures: failed.length,
    interrupted: stopped.length,
    rollbacks: rollbacks.length,
    rollbacksNormal: rollbacks.filter((r) => r.kind === 'rollback').length,
    rollbacksEmergency: rollbacks.filter((r) => r.kind === 'emergency-rollback').length,
    rollbacksFailed: rollbacks.filter((r) => r.result !== 'success').length,
    successRate: decided ? ok.length / decided : null,
    medianMs: percentile(durations, 50) ?? null,
    p95Ms: percentile(durations, 95) ?? null,
    mttrMs: recoveries.length ? recoveries.reduce((a, b) => a + b, 0) / recoveries.length : null,
    lastSuccess: latest(ok),
    lastFailure: latest(failed),
    poisonOverrides: runs.filter((r) => r.allowedPoisons?.length).length,
    emergencyReleases: deploys.filter((r) => r.emergency).length,
    analysisSkips: deploys.filter((r) => r.analysisSkipped).length,
  };
}
