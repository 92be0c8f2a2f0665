// The shapes the operations answer with, as both doors show them: an environment read from its nodes
// (status, releases, locks, runs, rollback targets) and the release gate. Shapes named *Json are those
// of the CLI's --json output.
import type { PoisonRecord } from '../gates/poison.js';
import type { LockOwner } from '../gates/lock.js';
import type { RunRecord } from '../journal/history.js';
import type { ReleaseRow } from '../journal/view.js';
import type { LockRow, ReleasesRow, StatusRow } from './node-rows.js';
import type { Plan } from '../pipeline/phases/plan.js';
import type { RollbackRow, RollbackTarget } from '../pipeline/phases/rollback-targets.js';

export type { RollbackRow, RollbackTarget, Plan, PoisonRecord, RunRecord, ReleaseRow, LockOwner };
export type { LockRow, ReleasesRow, StatusRow };

// The --json shapes are derived from their zod schemas (shapes.ts), written once.
export type {
  CheckJson,
  ImpactJson,
  LocksJson,
  ReleasePlan,
  ReleasesJson,
  StatusJson,
  UpcomingJson,
} from './shapes.js';
import type { ImpactJson, LocksJson, ReleasesJson, StatusJson } from './shapes.js';

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
  /** What DORA's keys need beyond the runs: the config's change failure window, first commit times by run. */
  readonly dora?: { readonly changeFailureWindowMs: number; readonly firstCommitMs: ReadonlyMap<string, number> };
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
