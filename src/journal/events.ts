import { isBranchName, isCommit, isId, isReleaseName, isText, isTime, isVersion } from '../remote/node-values.js';

/** One line of `.relink/journal.jsonl` on a node. */
export interface JournalEvent {
  /** Record format version. */
  readonly v: 1;
  readonly ts: string;
  readonly run: string;
  readonly node: string;
  readonly env: string;
  readonly event: JournalEventName;
  /** The release the event is about (for run_finished: the release the run deployed or rolled back to). */
  readonly release?: string;
  readonly version?: string;
  readonly commit?: string;
  readonly user: string;
  /** Duration of the step, or of the whole run for run_finished. */
  readonly ms?: number;
  /** rolled_back: the release rolled back from; it is bad from then on. */
  readonly from?: string;
  readonly reason?: string;
  readonly result?: RunResult;
  /**
   * run_finished: the command line, `deploy prod v1.1.0`, `rollback prod --last --emergency` (older: `rollback`);
   * exec: the shell command line run on the node (redacted).
   */
  readonly command?: string;
  /** exec: the command's exit code on the node (124: timed out, 130: interrupted, 255: the connection was lost). */
  readonly code?: number;
  readonly nodes?: number;
  readonly emergency?: boolean;
  /** run_finished of a deploy released with nodes set aside (result `partial`): their names. */
  readonly setAside?: readonly string[];
  /** activated by `deploy --retry-failed`: the run whose set-aside nodes this one brings up (it undoes as one). */
  readonly retryOf?: string;
  /** run_finished: poison ids released anyway with --allow-poison (the reason is in `reason`). */
  readonly allowedPoisons?: readonly string[];
  /** run_finished of a deploy: the id of the announced plan it matched (`deploy announce`). */
  readonly announcement?: string;
  /** run_finished: poison ids an emergency rollback landed on (its target had them without their fix). */
  readonly landedOnPoisons?: readonly string[];
  /** run_finished of a deploy to an environment with approvals: the request id, who asked and who approved. */
  readonly approval?: string;
  readonly requester?: string;
  readonly approver?: string;
  /** run_finished of an emergency release past the approvals: its review after the fact. */
  readonly review?: string;
  /** hook_ok, hook_failed: the hook's name (config `hooks.<point>[].name`, by default its point). */
  readonly hook?: string;
  /** activated, run_finished of `deploy --branches`: the base and each branch merged onto it, with its commit. */
  readonly merged?: MergedBranches;
  /** analysis_passed, analysis_failed: each query's values against what they were held to. */
  readonly analysis?: readonly AnalysisEntry[];
  /** run_finished of a deploy with --skip-analysis (the reason is in `reason`). */
  readonly analysisSkipped?: boolean;
}

/** One query of an analysis, as journaled: the canary's value (null: no data), the baseline's, the bounds. */
export interface AnalysisEntry {
  readonly query: string;
  /** The canary's value (the worst of its series); null: no data. */
  readonly canary: number | null;
  /** The baseline's value; null: no data; absent: no comparison. */
  readonly baseline?: number | null;
  /** The absolute bound, as written (`< 0.01`). */
  readonly condition?: string;
  /** With a baseline: the most the canary may be (`baseline * maxRatio + margin`). */
  readonly allowed?: number;
  readonly ok: boolean;
}

/** A branch at the commit a merge took it from. */
export interface BranchAt {
  readonly name: string;
  readonly commit: string;
}

/** `deploy <env> --branches a,b [--base main]`: what the throwaway merge commit holds. */
export interface MergedBranches {
  readonly base: BranchAt;
  readonly branches: readonly BranchAt[];
}

export type JournalEventName =
  | 'unpacked'
  | 'activated'
  | 'smoke_ok'
  | 'smoke_failed'
  | 'rolled_back'
  | 'marked_bad'
  | 'removed'
  | 'run_finished'
  | 'lock_broken'
  /** A run found its deploy lock gone (removed, or taken by another run): it stopped before its next switch. */
  | 'lock_lost'
  | 'set_aside'
  | 'frozen'
  | 'unfrozen'
  /** `deploy exec`: a command run on the node by hand (who, what, its exit code; `release` with `--in current`). */
  | 'exec'
  /** A hook ran on the node (`hook` names it; `reason` says why it failed). */
  | 'hook_ok'
  | 'hook_failed'
  /** The analysis of a deploy's canary (or a later stage) passed or failed (`analysis`: each query's values). */
  | 'analysis_passed'
  | 'analysis_failed';

export const RUN_RESULTS = ['success', 'partial', 'failed', 'rolled_back', 'halted', 'interrupted'] as const;
export type RunResult = (typeof RUN_RESULTS)[number];

export interface ParsedJournal {
  readonly events: JournalEvent[];
  /** 1-based line numbers that were not valid records; they are skipped. */
  readonly corrupt: number[];
  /** Values that failed their check and were left out of their record (the record is kept). */
  readonly dropped: { readonly line: number; readonly field: string }[];
}

type Check = (value: unknown) => boolean;

const listOf =
  (check: Check): Check =>
  (value) =>
    Array.isArray(value) && value.length <= 10_000 && value.every(check);
const branchAt: Check = (value) =>
  typeof value === 'object' &&
  value !== null &&
  isBranchName((value as BranchAt).name) &&
  isCommit((value as BranchAt).commit);
const merged: Check = (value) =>
  typeof value === 'object' &&
  value !== null &&
  branchAt((value as MergedBranches).base) &&
  Array.isArray((value as MergedBranches).branches) &&
  (value as MergedBranches).branches.length <= 100 &&
  (value as MergedBranches).branches.every(branchAt);
const numberOrNull = (value: unknown) => value === null || (typeof value === 'number' && Number.isFinite(value));
const analysisEntry: Check = (value) => {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    isText(e.query) &&
    numberOrNull(e.canary) &&
    (e.baseline === undefined || numberOrNull(e.baseline)) &&
    (e.condition === undefined || isText(e.condition)) &&
    (e.allowed === undefined || numberOrNull(e.allowed)) &&
    typeof e.ok === 'boolean'
  );
};
const count: Check = (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** A record without one of these is not a record: the line is corrupt. */
const REQUIRED = {
  ts: isTime,
  run: isId,
  event: (value) => typeof value === 'string' && /^[a-z_]{1,40}$/.test(value),
  node: isText,
  env: isText,
  user: isText,
} satisfies Record<string, Check>;

/** One of these that fails its check is dropped from the record, which is kept. */
const OPTIONAL = {
  release: isReleaseName,
  from: isReleaseName,
  version: isVersion,
  commit: isCommit,
  ms: count,
  nodes: count,
  reason: isText,
  command: isText,
  code: count,
  result: (value) => (RUN_RESULTS as readonly unknown[]).includes(value),
  emergency: (value) => typeof value === 'boolean',
  setAside: listOf(isText),
  retryOf: isId,
  allowedPoisons: listOf(isId),
  landedOnPoisons: listOf(isId),
  approval: isId,
  requester: isText,
  approver: isText,
  review: isId,
  hook: isText,
  merged,
  announcement: isId,
  analysis: (value) => Array.isArray(value) && value.length <= 100 && value.every(analysisEntry),
  analysisSkipped: (value) => typeof value === 'boolean',
} satisfies Record<Exclude<keyof JournalEvent, 'v' | keyof typeof REQUIRED>, Check>;

/**
 * Parses journal text. A line that is not a record is skipped and reported, never fatal; a value
 * in a record that fails its check (a commit that is not a commit id, a release name relink would
 * not write) is left out and reported, so nothing from a node reaches a command line unchecked.
 */
export function parseJournal(text: string): ParsedJournal {
  const events: JournalEvent[] = [];
  const corrupt: number[] = [];
  const dropped: { line: number; field: string }[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      corrupt.push(index + 1);
      return;
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      corrupt.push(index + 1);
      return;
    }
    const fields = record as Record<string, unknown>;
    if (!Object.entries(REQUIRED).every(([field, check]) => check(fields[field]))) {
      corrupt.push(index + 1);
      return;
    }
    const event: Record<string, unknown> = { v: 1 };
    for (const field of Object.keys(REQUIRED)) event[field] = fields[field];
    for (const [field, check] of Object.entries(OPTIONAL) as [string, Check][]) {
      if (fields[field] === undefined) continue;
      if (check(fields[field])) event[field] = fields[field];
      else dropped.push({ line: index + 1, field });
    }
    events.push(event as unknown as JournalEvent);
  });
  return { events, corrupt, dropped };
}
