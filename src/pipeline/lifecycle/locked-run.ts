import type { ResolvedConfig } from '../../config/types.js';
import { EXIT, errorMessage, failedCommand, RelinkError } from '../../errors.js';
import { acquireLocalLock } from '../../gates/lock.js';
import type { Inventory, NodeSpec } from '../../inventory/types.js';
import type { MergedBranches, RunResult } from '../../journal/events.js';
import { nextStep, said } from '../../next.js';
import { Broadcast } from '../../log/reporter.js';
import type { Notice } from '../../notify/messages.js';
import { Notifier } from '../../notify/notifier.js';
import type { ReleaseFacts } from '../../template/scope.js';
import { makeContext, type RunContext, type RunDeps } from '../context.js';
import { closeOut, type OutcomeFields } from '../phases/finish.js';
import { startHeartbeat } from '../phases/lock-guard.js';
import { acquireRemoteLocks, type LockOptions, ownerFor, releaseRemoteLocks } from '../phases/locks.js';
import { closeAll } from '../phases/preflight.js';
import { RolloutError } from '../rollout/revert.js';
import { restoreLb } from '../rollout/drain.js';
import { type ReportData, renderReport, StepCollector, writeReport } from './report.js';

/** What every locked run is asked with. */
export interface LockedRequest {
  readonly config: ResolvedConfig;
  readonly inventory: Inventory;
  readonly user: string;
  readonly runId: string;
  readonly stateDir: string;
  /** Skips the local proper-lockfile lock (pipeline tests run many runs in one process). */
  readonly localLock?: boolean;
  /** `deploy --branches`: what the merge commit holds (journaled). */
  readonly merged?: MergedBranches;
}

/** How a run ends on the nodes (the `run_finished` journal line): the release it is about, and extra fields. */
export interface Outcome {
  readonly facts: Partial<ReleaseFacts>;
  readonly fields?: OutcomeFields;
}

/** What a command says when its locked run ends: the report's own rows and the notice, for any result. */
export interface Closing {
  readonly report: Omit<ReportData, 'runId' | 'env' | 'user' | 'started' | 'finished' | 'result' | 'error' | 'steps'>;
  readonly notice: Omit<Notice, 'env' | 'runId' | 'user' | 'result'>;
}

/** The result a run ends with, from the error it failed with. */
export function resultOf(error: unknown): RunResult {
  if (error instanceof RolloutError) return error.outcome;
  return error instanceof RelinkError && error.exitCode === EXIT.interrupted ? 'interrupted' : 'failed';
}

/**
 * An interrupt is an interrupt in every phase: whatever a step failed with
 * once the run was told to stop (rsync's "received SIGINT", a killed build) is
 * reported as the interruption, exit 130, with how to resume.
 */
export function asInterrupt(error: unknown, signal: AbortSignal | undefined, resume: string): unknown {
  if (!signal?.aborted || error instanceof RolloutError) return error;
  const by = `interrupted by ${String(signal.reason ?? 'a signal')}`;
  const text = errorMessage(error);
  const message = text.startsWith(by) ? text : `${by}: ${text}`;
  return new RelinkError(message, { exitCode: EXIT.interrupted, hint: `to resume: ${resume}` });
}

/**
 * The one lifecycle of a run that changes nodes (deploy, rollback, emergency
 * rollback). It owns, on every exit path (success, failure, interrupt): the
 * local lock, the remote locks and their heartbeat, the load balancer's
 * restore, the close-out on every node (outcome journaled, lock released in
 * one round trip), the connections, the report and the notifications. A
 * command creates one, prepares with its context, then hands its phases to
 * `execute`.
 */
export class LockedRun {
  readonly steps = new StepCollector();
  readonly deps: RunDeps;
  readonly ctx: RunContext;
  readonly notifier: Notifier;
  readonly startedAt: Date;
  private readonly started = performance.now();
  private locked: readonly NodeSpec[] = [];
  private stopHeartbeat: () => void = () => undefined;
  private closed = false;
  private outcome: Outcome = { facts: {} };
  private ended: RunResult = 'success';
  private onFailed: (more: Record<string, string>) => Promise<void> = async () => undefined;

  /**
   * @param command what the journal and the lock owner record say this run is
   * @param resume the command that picks up where an interrupted run stopped
   */
  constructor(
    readonly req: LockedRequest,
    baseDeps: RunDeps,
    command: string,
    private readonly resume: string,
  ) {
    this.deps = { ...baseDeps, reporter: new Broadcast([baseDeps.reporter, this.steps]) };
    this.startedAt = this.deps.now();
    const { runId, config, inventory, user } = req;
    this.ctx = makeContext({ runId, command, config, inventory, user, deps: this.deps, merged: req.merged });
    this.notifier = new Notifier(config.notify, this.deps.reporter, this.deps.redactor);
  }

  /** Milliseconds since the run began. */
  elapsed(): number {
    return performance.now() - this.started;
  }

  /** Whether this run holds remote locks (and so will journal, report and notify when it ends). */
  get isLocked(): boolean {
    return this.locked.length > 0;
  }

  /** What the run is about, for the journal line that ends it on every node (kept up to date by the command). */
  about(outcome: Outcome): void {
    this.outcome = outcome;
  }

  /**
   * Takes the remote lock on the nodes (with `inspect`, reading their state in
   * the same round trip) and keeps its heartbeat going until the run ends.
   */
  async lock(nodes: readonly NodeSpec[], owner = ownerFor(this.ctx), options: LockOptions = {}) {
    const got = await acquireRemoteLocks(this.ctx, nodes, owner, options);
    this.locked = nodes;
    // A node under a freeze (rollback --force) has no lock of this run to refresh: its relinks check the freeze.
    this.stopHeartbeat = startHeartbeat(
      this.ctx,
      nodes.filter((n) => !got.frozen.includes(n)),
      owner,
    );
    return got;
  }

  /**
   * What runs when the run fails while it holds its locks (the onFailure hooks), after the undo and before the
   * close-out, with RELINK_RESULT and RELINK_ERROR (redacted, first line). It never changes the outcome.
   */
  whenFailed(work: (more: Record<string, string>) => Promise<void>): void {
    this.onFailed = work;
  }

  /** Lets the locks go without ending the run on the nodes: it changed nothing (a refusal, nothing to do). */
  async abandon(): Promise<void> {
    this.stopHeartbeat();
    await releaseRemoteLocks(this.ctx, this.locked);
    this.locked = [];
  }

  /** Ends the run on the nodes as a success (`partial`: with nodes set aside): outcome journaled, locks released. */
  async succeed(result: 'success' | 'partial' = 'success'): Promise<void> {
    this.ended = result;
    await this.close(result);
  }

  private async close(result: RunResult, reason?: string): Promise<void> {
    if (this.closed || !this.isLocked) return;
    this.closed = true;
    // The reason quotes the error; journalEvent redacts it on its way to every node.
    const fields = { ...this.outcome.fields, ...(reason ? { reason } : {}) };
    await closeOut(this.ctx, this.locked, this.stopHeartbeat, this.outcome.facts, result, this.elapsed(), fields);
  }

  /**
   * Runs the command's phases under the local lock; whatever happens, ends
   * the run cleanly and, when it held remote locks, writes the report and
   * sends the notification that `closing` describes for the result.
   */
  async execute<T>(phases: () => Promise<T>, closing: (result: RunResult, failure: unknown) => Closing): Promise<T> {
    const { req } = this;
    const releaseLocal =
      req.localLock === false ? async () => undefined : await acquireLocalLock(req.stateDir, req.config.env);
    let result: RunResult = 'success';
    let failure: unknown;
    try {
      const value = await phases();
      result = this.ended;
      return value;
    } catch (thrown) {
      const error = asInterrupt(thrown, this.deps.signal, this.resume);
      this.ctx.undoing = true;
      failure = error;
      result = resultOf(error);
      const why = errorMessage(error).split('\n')[0] ?? '';
      const more = { RELINK_RESULT: result, RELINK_ERROR: this.deps.redactor.apply(why) };
      if (this.isLocked && !this.closed) await this.onFailed(more).catch(() => undefined);
      await this.close(result, why);
      throw error;
    } finally {
      this.ctx.undoing = true;
      this.stopHeartbeat();
      await restoreLb(this.ctx);
      if (this.isLocked) await releaseRemoteLocks(this.ctx, this.locked);
      await closeAll(this.ctx);
      await releaseLocal();
      if (this.isLocked) await this.tell(result, failure, closing(result, failure));
    }
  }

  private async tell(result: RunResult, failure: unknown, closing: Closing): Promise<void> {
    const { req, deps } = this;
    const command = failedCommand(failure);
    const error =
      failure === undefined ? undefined : `${errorMessage(failure)}${command ? `\ncommand: ${command}` : ''}`;
    // Step details and the error quote remote output: the report and the notice go through the redactor whole.
    const report = deps.redactor.apply(
      renderReport({
        ...closing.report,
        runId: req.runId,
        env: req.config.env,
        user: req.user,
        started: this.startedAt,
        finished: deps.now(),
        result,
        error,
        steps: this.steps.steps,
        groups: this.steps.groups,
        sentBytes: deps.transport.sentBytes?.(),
      }),
    );
    const file = writeReport(req.stateDir, req.runId, report);
    const shown = said`report: ${file} (${nextStep('report', undefined, undefined, [req.runId])})`;
    deps.reporter.emit({ type: 'info', message: deps.phrase(shown) });
    const notice = deps.redactor.applyDeep({
      ...closing.notice,
      env: req.config.env,
      runId: req.runId,
      user: req.user,
      result,
    });
    await this.notifier.send(notice, report);
  }
}
