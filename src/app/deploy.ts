// Plan, deploy and roll back, for both doors: what a person asked (a version, nodes, a reason...) and an
// opened run, mapped once to the engine's request.
import { UsageError } from '../errors.js';
import { chooseTargets, type RollbackRow, type RollbackTarget } from '../pipeline/phases/rollback-targets.js';
import { type RollbackOutcome, rollback } from '../pipeline/rollback.js';
import { type DeployOutcome, type DeployRequest, deploy, planDeploy } from '../pipeline/run.js';
import { allowBranches, type BranchesAsk, mergeBranches } from './branches.js';
import type { AnnouncedRef } from '../pipeline/phases/announced.js';
import { announcedFor } from './announce-records.js';
import { passApprovals } from './approval-gate.js';
import type { OpenRun } from './compose.js';
import { openMirror, projectRepo } from './repo.js';
import { gateRecords, rollbackBugs, rollbackWithBugs } from './known-bugs.js';
import { GitRecords } from '../transport/git.js';
import { impactOfAll } from './impact.js';
import type { PoisonRecord } from './poison.js';
import type { Source } from '../pipeline/shared/source.js';
import { type ObserveOptions, withObserved } from './observed.js';
import type { Plan } from './views.js';

export type { DeployOutcome, RollbackOutcome, RollbackTarget };
export { formatPlan } from '../pipeline/phases/plan.js';
export { resultOf } from '../pipeline/lifecycle/locked-run.js';

/** What a deploy is asked to do (`deploy <env> <version>`, the dashboard's deploy form). */
export interface DeployAsk {
  readonly version: string;
  readonly nodes?: readonly string[];
  readonly allowPoison?: readonly string[];
  readonly emergency?: boolean;
  readonly reason?: string;
  /** Release without the analysis (config `analysis`); needs `reason`, journaled. */
  readonly skipAnalysis?: boolean;
  readonly retryFailed?: boolean;
  readonly adoptShared?: boolean;
  /** The announced plan the deploy carries; release() looks it up when not given. */
  readonly announcement?: AnnouncedRef;
}

/** What a rollback is asked to do (`rollback <env> --last|--to`, the dashboard's rollback form). */
export interface RollbackAsk {
  readonly target: RollbackTarget;
  readonly emergency?: boolean;
  readonly force?: boolean;
  readonly reason?: string;
  /** Known bugs of the target to roll back onto anyway (with `reason`). */
  readonly allowPoison?: readonly string[];
  readonly nodes?: readonly string[];
  /** Restart, stop and smoke-test with the local config, not the settings each release kept. */
  readonly useCurrentConfig?: boolean;
}

/** The part of every request that comes from the opened run. */
function requestOf(run: OpenRun) {
  const { config, inventory, user, runId, stateDir } = run;
  return { config, inventory, user, runId, stateDir };
}

export function deployRequest(run: OpenRun, ask: DeployAsk): DeployRequest {
  const { version, nodes, allowPoison, emergency, reason, retryFailed, adoptShared, announcement, skipAnalysis } = ask;
  const asked = {
    version,
    nodes,
    allowPoison,
    emergency,
    reason,
    retryFailed,
    adoptShared,
    announcement,
    skipAnalysis,
  };
  return { ...requestOf(run), ...asked, secrets: run.secrets() };
}

/** Every step per node of the deploy; changes nothing. */
export function planRelease(run: OpenRun, ask: DeployAsk): Promise<Plan> {
  return planDeploy(deployRequest(run, ask), run.deps, run.source);
}

/** `signal`: a stop besides the run's own (the dashboard's stop button). */
/** The check after a hotfix reads every environment of the project, through the operations. */
function checkingHotfixes(run: OpenRun): Source {
  const git = new GitRecords(run.mirror);
  const stillRunning = (records: readonly PoisonRecord[]) => impactOfAll(git, records, run.config.root, run.configPath);
  return { ...run.source, stillRunning };
}

export async function release(run: OpenRun, ask: DeployAsk, signal?: AbortSignal): Promise<DeployOutcome> {
  // An environment with approvals: a valid approval of this commit (used up here), or an emergency's review.
  const approved = await passApprovals(run, ask);
  const announced = ask.announcement ?? (await announcedFor(run, ask.version));
  const req = { ...deployRequest(run, { ...ask, announcement: announced }), approved };
  return deploy(req, signal ? { ...run.deps, signal } : run.deps, checkingHotfixes(run));
}

/**
 * `deploy <env> --branches a,b [--base main]` (the dashboard's branch picker): the branches, fetched, merged onto
 * the base in a throwaway commit, deployed as any version is; a conflict refuses before anything is built.
 */
export async function releaseBranches(
  run: OpenRun,
  ask: Omit<DeployAsk, 'version' | 'retryFailed'> & BranchesAsk,
  signal?: AbortSignal,
): Promise<DeployOutcome> {
  allowBranches(run.config);
  if (run.config.approvals)
    throw new UsageError(`${run.config.env} requires approvals: branches go to environments without them`, {
      hint: 'merge the branches and tag a release, then request its approval',
    });
  const warn = (message: string) => run.deps.reporter.emit({ type: 'warn', message });
  const mirror = openMirror(run.stateDir, run.config.repo);
  const synced = await mirror.sync();
  if (synced.offline)
    warn(`cannot fetch ${run.config.repo} (${synced.reason ?? 'unreachable'}); merging the branches fetched last`);
  const { merged, version } = await mergeBranches(run.config, mirror, ask, warn);
  const req = { ...deployRequest(run, { ...ask, version: version.version }), merged };
  const source = { ...checkingHotfixes(run), resolve: async () => version };
  return deploy(req, signal ? { ...run.deps, signal } : run.deps, source);
}

export function rollBack(run: OpenRun, ask: RollbackAsk, signal?: AbortSignal): Promise<RollbackOutcome> {
  const { target, emergency, force, reason, nodes, useCurrentConfig, allowPoison } = ask;
  const asked = { target, emergency, force, reason, nodes, useCurrentConfig, allowPoison };
  const warn = (message: string) => run.deps.reporter.emit({ type: 'warn', message });
  const bugs = rollbackBugs(run.mirror, warn, emergency);
  return rollback({ ...requestOf(run), ...asked }, signal ? { ...run.deps, signal } : run.deps, bugs);
}

/** What `rollback --last` or `--to` would do per node, read from the nodes; changes nothing. */
export async function previewRollback(o: ObserveOptions, target: RollbackTarget): Promise<RollbackRow[]> {
  const { mirror } = await projectRepo(o.config);
  const gate = gateRecords(mirror, () => undefined);
  const rows = await withObserved(o, async ({ seen }) => chooseTargets(seen.ctx, seen.nodes, target, seen.unreachable));
  return rollbackWithBugs(rows, await gate);
}
