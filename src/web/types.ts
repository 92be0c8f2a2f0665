// What the dashboard reads and does, as one interface: the real one reads the nodes (source.ts,
// actions.ts), the HTTP tests hand in a fake. Shapes named *Json are those of the CLI's --json output.
import type { PoisonRecord } from '../gates/poison.js';
import type { LockOwner } from '../gates/lock.js';
import type { RunRecord } from '../journal/history.js';
import type { ReleaseRow } from '../journal/view.js';
import type { LockRow, ReleasesRow, StatusRow } from '../pipeline/phases/node-rows.js';
import type { Plan } from '../pipeline/phases/plan.js';
import type { RollbackRow, RollbackTarget } from '../pipeline/phases/rollback-targets.js';

export type { RollbackRow, RollbackTarget, Plan, PoisonRecord, RunRecord, ReleaseRow, LockOwner };
export type { LockRow, ReleasesRow, StatusRow };

export interface StatusJson {
  readonly env: string;
  readonly drift: boolean;
  readonly nodes: readonly StatusRow[];
}
export interface ReleasesJson {
  readonly env: string;
  readonly deployTo: string;
  readonly nodes: readonly ReleasesRow[];
}
export interface LocksJson {
  readonly env: string;
  readonly nodes: readonly LockRow[];
}
/** `deploy check <rev> --json`. */
export interface CheckJson {
  readonly rev: string;
  readonly commit: string;
  readonly healthy: boolean;
  readonly open: readonly PoisonRecord[];
  readonly cured: readonly { id: string; curedBy?: string; how?: string }[];
}
/** One record of `deploy impact <id> --json`. */
export interface ImpactJson {
  readonly id: string;
  readonly poison: string;
  readonly affected: readonly { env: string; node: string; release: string; version?: string; commit: string }[];
  readonly unreachable: readonly { env: string; node: string }[];
}

/** Everything the pages show of one environment, read from its nodes at `readAt`. */
export interface EnvView {
  readonly env: string;
  readonly readAt: string;
  /** The config or inventory could not be loaded: nothing else is known. */
  readonly problem?: string;
  /** Where now stands against the release windows. */
  readonly window: string;
  readonly pre?: string;
  readonly status: StatusJson;
  readonly releases: ReleasesJson;
  readonly locks: LocksJson;
  /** From the nodes' journals, newest first (`deploy history <env> --json`). */
  readonly runs: readonly RunRecord[];
  /** What `rollback --last` would do per node, and the versions `--to` can reach on every reachable node. */
  readonly rollback: { readonly last: readonly RollbackRow[]; readonly to: readonly string[] };
  /** Nodes whose journal had lines that are not records. */
  readonly corrupt: readonly { node: string; lines: number }[];
}

/** The release gate: every poison record and which nodes run each without its cure. */
export interface GateView {
  readonly readAt: string;
  /** The repository could not be fetched: the records are those fetched last. */
  readonly offline?: string;
  readonly records: readonly PoisonRecord[];
  readonly malformed: readonly string[];
  readonly impact: readonly ImpactJson[];
}

/** One line of a run log (`.relink/logs/<run>.jsonl`), as the pages and the event stream carry it. */
export interface RunLine {
  readonly time: string;
  readonly kind: 'run' | 'phase' | 'step' | 'info' | 'warn';
  readonly step?: string;
  readonly node?: string;
  readonly status?: 'start' | 'ok' | 'fail' | 'skip';
  readonly ms?: number;
  readonly detail?: string;
  readonly message?: string;
  readonly phase?: string;
  readonly command?: string;
  readonly env?: string;
}

/** A run with a log on this machine (from the dashboard or the CLI). */
export interface LocalRun {
  readonly run: string;
  readonly env: string;
  readonly command: string;
  readonly started: string;
  readonly live: boolean;
  /** From the report, or how the dashboard saw it end. */
  readonly result?: string;
  readonly user?: string;
  readonly error?: string;
}

export interface RunDetail extends LocalRun {
  readonly lines: readonly RunLine[];
  /** The Markdown report, when the run wrote one on this machine. */
  readonly report?: string;
  /** Whether the dashboard started it (and so can stop it). */
  readonly fromWeb: boolean;
}

export type RunEnd = { readonly end: true; readonly result: string; readonly error?: string };

export interface RunStore {
  list(env?: string, limit?: number): LocalRun[];
  get(run: string): RunDetail | undefined;
  /** Every line of the run so far, then each new one as it is written, then its end. */
  follow(run: string, signal: AbortSignal): AsyncIterable<RunLine | RunEnd>;
  /** How many run logs are being read for followers now (all followers of a run share one). */
  tailCount?(): number;
}

export interface DeployForm {
  readonly version: string;
  readonly emergency?: boolean;
  readonly reason?: string;
  readonly allowPoison?: readonly string[];
}

export interface RollbackForm {
  readonly target: RollbackTarget;
  readonly emergency?: boolean;
  readonly force?: boolean;
  readonly reason?: string;
}

/** The actions, each through the CLI's own pipeline, gates and journal; `who` is the journal's user. */
export interface Actions {
  planDeploy(env: string, version: string, who: string): Promise<Plan>;
  deploy(env: string, form: DeployForm, who: string): Promise<string>;
  previewRollback(env: string, target: RollbackTarget): Promise<RollbackRow[]>;
  rollback(env: string, form: RollbackForm, who: string): Promise<string>;
  freeze(env: string, message: string, who: string): Promise<string>;
  unfreeze(env: string, run: string, who: string): Promise<string[]>;
  describeCommit(rev: string): Promise<{ commit: string; subject: string }>;
  poison(commit: string, message: string, ticket: string | undefined, who: string): Promise<PoisonRecord>;
  cure(id: string, fix: string, who: string): Promise<PoisonRecord>;
  /** Asks a run the dashboard started to stop (as Ctrl-C would); false when it is not one of its own. */
  stop(run: string): boolean;
}

export interface StateSource {
  readonly project: string;
  environments(): readonly string[];
  env(name: string, fresh?: boolean): Promise<EnvView>;
  gate(fresh?: boolean): Promise<GateView>;
  check(rev: string): Promise<CheckJson>;
  tags(): Promise<string[]>;
  readonly runs: RunStore;
  readonly actions: Actions;
}
