// What the dashboard reads and does, as one interface: the real one reads the nodes (source.ts,
// actions.ts), the HTTP tests hand in a fake. Shapes named *Json are those of the CLI's --json output.
import type {
  CheckJson,
  EnvView,
  GateView,
  ImpactJson,
  LockOwner,
  LockRow,
  LocksJson,
  Plan,
  PoisonRecord,
  ReleasePlan,
  ReleaseRow,
  ReleasesJson,
  ReleasesRow,
  RollbackRow,
  RollbackTarget,
  RunRecord,
  StatusJson,
  StatusRow,
  UpcomingJson,
} from '../app/views.js';

export type { RollbackRow, RollbackTarget, Plan, PoisonRecord, RunRecord, ReleaseRow, LockOwner };
export type { LockRow, ReleasesRow, StatusRow };
export type { ApprovalsJson };
export type { CheckJson, EnvView, GateView, ImpactJson, LocksJson, ReleasesJson, StatusJson };
export type { ReleasePlan, UpcomingJson };

export type { BranchPicker, BranchTip } from '../app/branches.js';
import type { BranchPicker } from '../app/branches.js';
export type { NodeMatches } from '../app/logs.js';
import type { NodeMatches } from '../app/logs.js';

/** A line of a run log, a run with a log on this machine, and one with its lines: as /api/runs answers them. */
export type { LocalRun, RunDetail, RunLine } from '../app/shapes.js';
import type { LocalRun, RunDetail, RunLine } from '../app/shapes.js';
import type {
  ApprovalsJson,
  JsonOf,
  approvalRequestJson,
  approvedJson,
  signOffJson,
  standingJson,
} from '../app/shapes.js';

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
  /** Release without the analysis (config `analysis`; needs `reason`, journaled). */
  readonly skipAnalysis?: boolean;
  readonly reason?: string;
  readonly allowPoison?: readonly string[];
}

/** The branch picker's form: the branches ticked, merged onto `base` (default: the repository's default branch). */
export interface BranchesForm {
  readonly branches: readonly string[];
  readonly base?: string;
}

export interface RollbackForm {
  readonly target: RollbackTarget;
  readonly emergency?: boolean;
  readonly force?: boolean;
  readonly reason?: string;
  /** Known bugs of the target to roll back onto anyway (needs `reason`). */
  readonly allowPoison?: readonly string[];
}

/** Approvals (environments with `approvals`): requests, approvals signed by this dashboard, reviews, schedules. */
export interface ApprovalActions {
  approvals(): Promise<ApprovalsJson>;
  /** Whether the deploy button makes a request (no approval releases this deploy by `who` now). */
  needsRequest(env: string, version: string, who: string): Promise<boolean>;
  request(env: string, version: string, who: string): Promise<JsonOf<typeof approvalRequestJson>>;
  /** Approves; with `andDeploy` the deploy starts at once, as the approver. */
  approve(id: string, who: string, andDeploy: boolean): Promise<JsonOf<typeof approvedJson>>;
  signReview(id: string, who: string): Promise<JsonOf<typeof signOffJson>>;
  standing(name: string, who: string): Promise<JsonOf<typeof standingJson>>;
}

/** The actions, each through the CLI's own pipeline, gates and journal; `who` is the journal's user. */
export interface Actions extends ApprovalActions {
  planDeploy(env: string, version: string, who: string): Promise<Plan>;
  deploy(env: string, form: DeployForm, who: string): Promise<string>;
  /** `deploy <env> --branches`: merges and deploys; a conflict refuses before the run starts. */
  deployBranches(env: string, form: BranchesForm, who: string): Promise<string>;
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
  /** The announced releases still to come (deploy announce, a schedule's announce), soonest first. */
  upcoming(fresh?: boolean): Promise<UpcomingJson>;
  check(rev: string): Promise<CheckJson>;
  tags(): Promise<string[]>;
  /** The branch picker of an environment (none where it takes tags only). */
  branches(env: string): Promise<BranchPicker>;
  /** `deploy logs <env> --grep`: the newest matching lines of every node. */
  searchLogs(env: string, needle: string, max: number): Promise<NodeMatches[]>;
  readonly runs: RunStore;
  readonly actions: Actions;
}
