// Plan, deploy and roll back, for both doors: what a person asked (a version, nodes, a reason...) and an
// opened run, mapped once to the engine's request.
import { chooseTargets, type RollbackRow, type RollbackTarget } from '../pipeline/phases/rollback-targets.js';
import { type RollbackOutcome, rollback } from '../pipeline/rollback.js';
import { type DeployOutcome, type DeployRequest, deploy, planDeploy } from '../pipeline/run.js';
import { passApprovals } from './approval-gate.js';
import type { OpenRun } from './compose.js';
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
  readonly retryFailed?: boolean;
  readonly adoptShared?: boolean;
}

/** What a rollback is asked to do (`rollback <env> --last|--to`, the dashboard's rollback form). */
export interface RollbackAsk {
  readonly target: RollbackTarget;
  readonly emergency?: boolean;
  readonly force?: boolean;
  readonly reason?: string;
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
  const { version, nodes, allowPoison, emergency, reason, retryFailed, adoptShared } = ask;
  const asked = { version, nodes, allowPoison, emergency, reason, retryFailed, adoptShared };
  return { ...requestOf(run), ...asked, secrets: run.secrets() };
}

/** Every step per node of the deploy; changes nothing. */
export function planRelease(run: OpenRun, ask: DeployAsk): Promise<Plan> {
  return planDeploy(deployRequest(run, ask), run.deps, run.source);
}

/** `signal`: a stop besides the run's own (the dashboard's stop button). */
export async function release(run: OpenRun, ask: DeployAsk, signal?: AbortSignal): Promise<DeployOutcome> {
  // An environment with approvals: a valid approval of this commit (used up here), or an emergency's review.
  const approved = await passApprovals(run, ask);
  const req = { ...deployRequest(run, ask), approved };
  return deploy(req, signal ? { ...run.deps, signal } : run.deps, run.source);
}

export function rollBack(run: OpenRun, ask: RollbackAsk, signal?: AbortSignal): Promise<RollbackOutcome> {
  const { target, emergency, force, reason, nodes, useCurrentConfig } = ask;
  const asked = { target, emergency, force, reason, nodes, useCurrentConfig };
  return rollback({ ...requestOf(run), ...asked }, signal ? { ...run.deps, signal } : run.deps);
}

/** What `rollback --last` or `--to` would do per node, read from the nodes; changes nothing. */
export function previewRollback(o: ObserveOptions, target: RollbackTarget): Promise<RollbackRow[]> {
  return withObserved(o, async ({ seen }) => chooseTargets(seen.ctx, seen.nodes, target, seen.unreachable));
}
