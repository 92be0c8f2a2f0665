import type { ResolvedConfig } from '../config/types.js';
import { EXIT, RelinkError } from '../errors.js';
import { filterNodes, rolloutGroups } from '../inventory/groups.js';
import type { Inventory, NodeSpec } from '../inventory/types.js';
import { acquireLocalLock, acquireRemoteLocks, ownerFor, releaseRemoteLocks, startHeartbeat } from '../gates/lock.js';
import { checkAborted, step, makeContext, type Artifact, type RunContext, type RunDeps, type VersionInfo } from './context.js';
import { distribute, renderAll } from './phases/distribute.js';
import { cleanup, closeOut } from './phases/finish.js';
import { describePlan, type Plan } from './phases/plan.js';
import { checkWritableAll, closeAll, connectAll, inspectAll } from './phases/preflight.js';
import { checkLb, openLb, restoreLb } from './rollout/drain.js';
import { releaseName } from '../remote/release-name.js';
import { rollout, RolloutError } from './rollout/rollout.js';
import type { ReleaseFacts } from '../template/scope.js';
import { windowGate } from '../gates/window.js';
import { Fanout } from '../log/reporter.js';
import type { Notice } from '../notify/messages.js';
import type { RunResult } from '../journal/events.js';
import { errorMessage } from '../errors.js';
import { runBackup } from './phases/backup.js';
import { Notifier } from '../notify/notifier.js';
import { renderReport, StepCollector, writeReport } from './lifecycle/report.js';
import { gate, type Finding } from '../gates/poison.js';

/** Where the code comes from: git and the build on a real run, fixed values in the pipeline tests. */
export interface Source {
  resolve(requested: string): Promise<VersionInfo>;
  build(version: VersionInfo): Promise<Artifact>;
  /** Commits in `to` that are not in `from`, newest first; empty when unknown. */
  log(from: string | undefined, to: string): Promise<{ sha: string; subject: string }[]>;
  /** The known bugs (poison records) in the history of a commit, and whether each is cured there. */
  check(commit: string): Promise<Finding[]>;
  /** Refuses an artifact with entries or links that would land outside the release dir. */
  inspect(artifact: Artifact): Promise<void>;
}

export interface DeployRequest {
  readonly config: ResolvedConfig;
  readonly inventory: Inventory;
  readonly version: string;
  readonly user: string;
  readonly runId: string;
  readonly stateDir: string;
  readonly secrets: Readonly<Record<string, string>>;
  readonly nodes?: readonly string[];
  /** Poison ids allowed to go out anyway (`--allow-poison`), with the reason. */
  readonly allowPoison?: readonly string[];
  readonly reason?: string;
  /** Outside the release windows: go ahead anyway (needs `reason`); journaled and counted. */
  readonly emergency?: boolean;
  /** Skips the local proper-lockfile lock (pipeline tests run many deploys in one process). */
  readonly localLock?: boolean;
}

export interface DeployOutcome {
  readonly release: string;
  readonly version: VersionInfo;
  readonly nodes: readonly string[];
  readonly ms: number;
  readonly artifact: Artifact;
}

interface Prepared {
  readonly findings: Finding[];
  readonly ctx: RunContext;
  readonly nodes: NodeSpec[];
  readonly groups: NodeSpec[][];
  readonly facts: ReleaseFacts;
  readonly version: VersionInfo;
}

async function prepare(req: DeployRequest, deps: RunDeps, source: Source, command: string): Promise<Prepared> {
  const nodes = filterNodes(req.inventory.hosts, req.nodes);
  const ctx = makeContext({ runId: req.runId, command, config: req.config, inventory: req.inventory, user: req.user, deps });
  deps.reporter.emit({ type: 'run', runId: req.runId, env: req.config.env, command: 'deploy', detail: `${req.version} to ${nodes.length} node(s)` });
  deps.reporter.emit({ type: 'phase', phase: 'plan' });
  const version = await source.resolve(req.version);
  const release = releaseName({ project: req.config.project, env: req.config.env, version: version.version, branch: version.branch, time: deps.now(), author: req.user });
  const facts: ReleaseFacts = { release, version: version.version, commit: version.commit, branch: version.branch };
  const groups = rolloutGroups(nodes, req.inventory.pre, req.inventory.groupSize);
  // Templates are rendered before any connection: a missing variable changes nothing anywhere.
  renderAll(ctx, nodes, facts, req.secrets);
  const findings = await source.check(version.commit);
  return { ctx, nodes, groups, facts, version, findings };
}

/** `deploy plan`: resolves, connects and reads the nodes, and describes every step. Changes nothing. */
export async function planDeploy(req: DeployRequest, deps: RunDeps, source: Source): Promise<Plan> {
  const { ctx, nodes, groups, facts, version, findings } = await prepare(req, deps, source, `plan ${req.config.env} ${req.version}`);
  try {
    await connectAll(ctx, nodes);
    await openLb(ctx);
    await inspectAll(ctx, nodes);
    await checkLb(ctx, nodes);
    return await describePlan(ctx, groups, facts, version, source, findings);
  } finally {
    await closeAll(ctx);
  }
}

/**
 * `deploy <env> <version>`: plan, gates, build, distribute, backup, rollout,
 * finish. Locks are released and connections closed on every exit path; the
 * report is written and notifications sent whatever the outcome.
 */
export async function deploy(req: DeployRequest, baseDeps: RunDeps, source: Source): Promise<DeployOutcome> {
  const started = performance.now();
  const startedAt = baseDeps.now();
  const steps = new StepCollector();
  const deps: RunDeps = { ...baseDeps, reporter: new Fanout([baseDeps.reporter, steps]) };
  const { ctx, nodes, groups, facts, version, findings } = await prepare(req, deps, source, `deploy ${req.config.env} ${req.version}`);
  const env = req.config.env;

  deps.reporter.emit({ type: 'phase', phase: 'gates' });
  const { allowed } = gate(version.version, findings, req.allowPoison ?? [], req.reason);
  if (allowed.length) deps.reporter.emit({ type: 'warn', message: `releasing with known bugs allowed by --allow-poison ${allowed.join(', ')}: ${req.reason}` });
  const window = windowGate(env, req.config.windows, req.config.timezone, deps.now(), { on: Boolean(req.emergency), reason: req.reason }, `deploy ${env} ${req.version}`);
  const emergency = req.emergency && window && !window.inside;
  if (emergency) deps.reporter.emit({ type: 'warn', message: `outside the release windows: emergency release (${req.reason})` });
  const extra = { ...(allowed.length ? { allowedPoisons: allowed } : {}), ...(allowed.length || emergency ? { reason: req.reason } : {}), ...(emergency ? { emergency: true } : {}) };

  const notifier = new Notifier(req.config.notify, deps.reporter, deps.redactor);
  const notice = (event: Notice['event'], title: string, text: string, result?: string): Notice => ({ event, title, text, env, runId: req.runId, version: version.version, release: facts.release, user: req.user, result });
  const releaseLocal = req.localLock === false ? async () => undefined : await acquireLocalLock(req.stateDir, env);
  let locked = false;
  let stopHeartbeat = () => undefined as void;
  let plan: Plan | undefined;
  let failure: unknown;
  let result: RunResult = 'success';
  try {
    await connectAll(ctx, nodes);
    await openLb(ctx);
    await inspectAll(ctx, nodes);
    await checkLb(ctx, nodes);
    await checkWritableAll(ctx, nodes);
    checkAborted(ctx);
    const owner = ownerFor(ctx, { version: version.version });
    await acquireRemoteLocks(ctx, nodes, owner);
    locked = true;
    stopHeartbeat = startHeartbeat(ctx, nodes, owner);
    plan = await describePlan(ctx, groups, facts, version, source, findings);
    await notifier.send(notice('start', `${env}: deploying ${version.version}`, `${req.user} started deploy ${env} ${version.version} (${facts.release}) on ${nodes.length} node(s)`));
    checkAborted(ctx);

    deps.reporter.emit({ type: 'phase', phase: 'build' });
    const artifact = await source.build(version);
    await step(ctx, 'build:inspect', undefined, () => source.inspect(artifact));
    deps.reporter.emit({ type: 'info', message: `artifact ${(artifact.bytes / 1e6).toFixed(1)} MB sha256 ${artifact.sha256.slice(0, 16)}…${artifact.cached ? ' (cached)' : ''}` });
    checkAborted(ctx);

    deps.reporter.emit({ type: 'phase', phase: 'distribute' });
    await distribute(ctx, nodes, artifact, facts, req.secrets);
    checkAborted(ctx);

    if (req.config.backup) {
      deps.reporter.emit({ type: 'phase', phase: 'backup' });
      await runBackup(ctx, nodes, facts);
      checkAborted(ctx);
    }

    deps.reporter.emit({ type: 'phase', phase: 'rollout' });
    await rollout(ctx, groups, facts);

    deps.reporter.emit({ type: 'phase', phase: 'finish' });
    const ms = performance.now() - started;
    await cleanup(ctx, nodes, [facts.release]);
    await closeOut(ctx, nodes, stopHeartbeat, facts, 'success', ms, extra);
    deps.reporter.emit({ type: 'info', message: `deployed ${version.version} to ${nodes.length} node(s) of ${env} in ${(ms / 1000).toFixed(1)}s: ${facts.release}` });
    return { release: facts.release, version, nodes: nodes.map((n) => n.name), ms, artifact };
  } catch (error) {
    failure = error;
    result = error instanceof RolloutError ? error.outcome : error instanceof RelinkError && error.exitCode === EXIT.interrupted ? 'interrupted' : 'failed';
    if (locked) await closeOut(ctx, nodes, stopHeartbeat, facts, result, performance.now() - started, { ...extra, reason: errorMessage(error).split('\n')[0] });
    throw error;
  } finally {
    stopHeartbeat();
    await restoreLb(ctx);
    if (locked) await releaseRemoteLocks(ctx, nodes);
    await closeAll(ctx);
    await releaseLocal();
    if (locked) {
      const previous = plan?.nodes.find((n) => n.currentVersion)?.currentVersion;
      const report = renderReport({
        runId: req.runId,
        command: `deploy ${env} ${req.version}`,
        env,
        user: req.user,
        started: startedAt,
        finished: deps.now(),
        result,
        error: failure ? deps.redactor.apply(errorMessage(failure)) : undefined,
        version: version.version,
        release: facts.release,
        commit: version.commit,
        commits: plan?.commits,
        bugfixes: plan?.bugfixes,
        openPoisons: plan?.openPoisons,
        allowedPoisons: allowed,
        emergency: emergency ? { reason: req.reason } : undefined,
        steps: steps.steps,
        rollbackCommand: result === 'success' ? `rollback ${env} --last${previous ? `    # back to ${previous}` : ''}` : `# nothing to undo: ${result === 'halted' ? `rollback ${env} --last after inspection` : 'no node runs this release'}`,
      });
      const file = writeReport(req.stateDir, req.runId, report);
      deps.reporter.emit({ type: 'info', message: `report: ${file} (deploy report ${req.runId})` });
      const ok = result === 'success';
      await notifier.send(
        notice(ok ? 'success' : 'failure', `${env}: ${version.version} ${ok ? 'deployed' : `FAILED (${result})`}`, ok ? `${facts.release} runs on ${nodes.length} node(s)` : deps.redactor.apply(errorMessage(failure).split('\n')[0] ?? ''), result),
        report,
      );
    }
  }
}
