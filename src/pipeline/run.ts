import { errorMessage } from '../errors.js';
import { filterNodes, rolloutGroups } from '../inventory/groups.js';
import type { NodeSpec } from '../inventory/types.js';
import type { Finding } from '../gates/poison.js';
import { releaseName } from '../remote/release-name.js';
import type { ReleaseFacts } from '../template/scope.js';
import {
  type Artifact,
  checkAborted,
  makeContext,
  type RunContext,
  type RunDeps,
  step,
  type VersionInfo,
} from './context.js';
import { type LockedRequest, LockedRun } from './lifecycle/locked-run.js';
import { runBackup } from './phases/backup.js';
import { distribute, renderAll } from './phases/distribute.js';
import { cleanup } from './phases/finish.js';
import { type GateRequest, passGates } from './phases/gates.js';
import { ownerFor } from './phases/locks.js';
import { describePlan, type Plan } from './phases/plan.js';
import { closeAll, connectAll, inspectAll } from './phases/preflight.js';
import type { Source } from './phases/source.js';
import { checkLb, groupsFor, openLb } from './rollout/drain.js';
import { afterFailedRollout } from './rollout/revert.js';
import { rollout, type RolloutPolicy } from './rollout/rollout.js';

export type { Source } from './phases/source.js';

export interface DeployRequest extends LockedRequest, GateRequest {
  readonly secrets: Readonly<Record<string, string>>;
  readonly nodes?: readonly string[];
}

export interface DeployOutcome {
  readonly release: string;
  readonly version: VersionInfo;
  readonly nodes: readonly string[];
  readonly ms: number;
  readonly artifact: Artifact;
}

/** A deploy's rollout: drain each group, smoke-test every node, stop at the first failing group. */
const DEPLOY: RolloutPolicy = {
  phase: 'rollout',
  drain: true,
  smoke: true,
  continueOnFailure: false,
  interruptible: true,
  announce: true,
};

interface Prepared {
  readonly nodes: NodeSpec[];
  readonly groups: NodeSpec[][];
  readonly facts: ReleaseFacts;
  readonly version: VersionInfo;
  readonly findings: Finding[];
}

/** The plan phase: resolve the version, name the release, group the nodes, render templates, read the gate. */
async function prepare(ctx: RunContext, req: DeployRequest, source: Source): Promise<Prepared> {
  const { config, inventory } = req;
  const { reporter } = ctx.deps;
  const nodes = filterNodes(inventory.hosts, req.nodes);
  const detail = `${req.version} to ${nodes.length} node(s)`;
  reporter.emit({ type: 'run', runId: req.runId, env: config.env, command: 'deploy', detail });
  reporter.emit({ type: 'phase', phase: 'plan' });
  const version = await source.resolve(req.version);
  const { project, env } = config;
  const named = {
    project,
    env,
    version: version.version,
    branch: version.branch,
    time: ctx.deps.now(),
    author: req.user,
  };
  const facts: ReleaseFacts = {
    release: releaseName(named),
    version: version.version,
    commit: version.commit,
    branch: version.branch,
  };
  const groups = rolloutGroups(nodes, inventory.pre, inventory.groupSize);
  // Templates are rendered before any connection: a missing variable changes nothing anywhere.
  renderAll(ctx, nodes, facts, req.secrets);
  const findings = await source.check(version.commit);
  return { nodes, groups, facts, version, findings };
}

/** The build, started early; `cancel` stops it (and everything it started) when the run ends before needing it. */
function startBuild(ctx: RunContext, source: Source, version: VersionInfo) {
  const stop = new AbortController();
  const onAbort = () => stop.abort(ctx.deps.signal?.reason);
  ctx.deps.signal?.addEventListener('abort', onAbort, { once: true });
  const done = source.build(version, stop.signal).finally(() => ctx.deps.signal?.removeEventListener('abort', onAbort));
  done.catch(() => undefined);
  return {
    done,
    async cancel() {
      stop.abort('the run ended before its build was needed');
      await done.catch(() => undefined);
    },
  };
}

/**
 * Connects to every node and reads the load balancer; `deploy plan` also reads
 * the nodes (a deploy reads them, and checks deployTo is writable, in the
 * round trip of its lock). Changes nothing.
 */
async function look(ctx: RunContext, nodes: readonly NodeSpec[], mode: 'plan' | 'deploy'): Promise<void> {
  await connectAll(ctx, nodes);
  await openLb(ctx);
  if (mode === 'plan') await inspectAll(ctx, nodes);
  await checkLb(ctx, nodes);
}

/** `deploy plan`: resolves, connects and reads the nodes, and describes every step. Changes nothing. */
export async function planDeploy(req: DeployRequest, deps: RunDeps, source: Source): Promise<Plan> {
  const { runId, config, inventory, user } = req;
  const ctx = makeContext({ runId, command: `plan ${config.env} ${req.version}`, config, inventory, user, deps });
  const { nodes, groups, facts, version, findings } = await prepare(ctx, req, source);
  try {
    await look(ctx, nodes, 'plan');
    return await describePlan(ctx, groupsFor(ctx, groups), facts, version, source, findings);
  } finally {
    await closeAll(ctx);
  }
}

/**
 * `deploy <env> <version>`: plan, gates, build, distribute, backup, rollout,
 * finish, inside the one locked-run lifecycle (locks, close-out, report and
 * notifications on every exit path).
 */
export async function deploy(req: DeployRequest, deps: RunDeps, source: Source): Promise<DeployOutcome> {
  const env = req.config.env;
  const run = new LockedRun(req, deps, `deploy ${env} ${req.version}`, `deploy ${env} ${req.version}`);
  const { ctx } = run;
  const { reporter } = run.deps;
  const { nodes, groups, facts, version, findings } = await prepare(ctx, req, source);
  const gates = passGates(ctx, req, version.version, findings);
  run.about({ facts, fields: gates.fields });
  let plan: Plan | undefined;

  const phases = async (): Promise<DeployOutcome> => {
    // The build runs on this machine while the nodes are connected, checked and locked; it is awaited after.
    const build = startBuild(ctx, source, version);
    let rolling: NodeSpec[][];
    try {
      await look(ctx, nodes, 'deploy');
      checkAborted(ctx);
      await run.lock(nodes, ownerFor(ctx, { version: version.version }), { inspect: true, writable: true });
      rolling = groupsFor(ctx, groups);
      plan = await describePlan(ctx, rolling, facts, version, source, findings);
      const what = `${version.version} (${facts.release})`;
      const started = `${req.user} started deploy ${env} ${what} on ${nodes.length} node(s)`;
      await run.notifier.send(notice('start', `${env}: deploying ${version.version}`, started));
      checkAborted(ctx);
    } catch (error) {
      await build.cancel();
      throw error;
    }

    reporter.emit({ type: 'phase', phase: 'build (started with the connections)' });
    const artifact = await step(ctx, 'build:artifact', undefined, () => build.done);
    await step(ctx, 'build:inspect', undefined, () => source.inspect(artifact));
    const size = `${(artifact.bytes / 1e6).toFixed(1)} MB sha256 ${artifact.sha256.slice(0, 16)}…`;
    reporter.emit({ type: 'info', message: `artifact ${size}${artifact.cached ? ' (cached)' : ''}` });
    checkAborted(ctx);

    reporter.emit({ type: 'phase', phase: 'distribute' });
    await distribute(ctx, nodes, artifact, facts, req.secrets);
    checkAborted(ctx);

    if (req.config.backup) {
      reporter.emit({ type: 'phase', phase: 'backup' });
      await runBackup(ctx, nodes, facts);
      checkAborted(ctx);
    }

    reporter.emit({ type: 'phase', phase: 'rollout' });
    if (rolling.length < groups.length) {
      reporter.emit({ type: 'info', message: 'nothing serves yet: after the pre node, every node switches at once' });
    }
    const rolled = await rollout(ctx, rolling, () => ({ to: facts, event: 'activated' }), DEPLOY);
    if (rolled.stopped)
      throw await afterFailedRollout(ctx, rolled.stopped.node, rolled.stopped.error, rolled.switched, facts);

    reporter.emit({ type: 'phase', phase: 'finish' });
    const ms = run.elapsed();
    await cleanup(ctx, nodes, [facts.release]);
    await run.succeed();
    const took = `${(ms / 1000).toFixed(1)}s: ${facts.release}`;
    reporter.emit({
      type: 'info',
      message: `deployed ${version.version} to ${nodes.length} node(s) of ${env} in ${took}`,
    });
    return { release: facts.release, version, nodes: nodes.map((n) => n.name), ms, artifact };
  };

  function notice(event: 'start' | 'success' | 'failure', title: string, text: string) {
    return {
      event,
      title,
      text,
      env,
      runId: req.runId,
      version: version.version,
      release: facts.release,
      user: req.user,
    };
  }

  return run.execute(phases, (result, failure) => {
    const ok = result === 'success';
    const previous = plan?.nodes.find((n) => n.currentVersion)?.currentVersion;
    const afterHalt = result === 'halted' ? `rollback ${env} --last after inspection` : 'no node runs this release';
    const undo = ok
      ? `rollback ${env} --last${previous ? `    # back to ${previous}` : ''}`
      : `# nothing to undo: ${afterHalt}`;
    const why = run.deps.redactor.apply(errorMessage(failure).split('\n')[0] ?? '');
    const title = `${env}: ${version.version} ${ok ? 'deployed' : `FAILED (${result})`}`;
    return {
      report: {
        command: `deploy ${env} ${req.version}`,
        version: version.version,
        release: facts.release,
        commit: version.commit,
        commits: plan?.commits,
        bugfixes: plan?.bugfixes,
        openPoisons: plan?.openPoisons,
        allowedPoisons: gates.allowed,
        emergency: gates.emergency ? { reason: req.reason } : undefined,
        rollbackCommand: undo,
      },
      notice: {
        ...notice(ok ? 'success' : 'failure', title, ok ? `${facts.release} runs on ${nodes.length} node(s)` : why),
      },
    };
  });
}
