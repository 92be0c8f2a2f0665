import { errorMessage, UsageError } from '../errors.js';
import { mergedArgs } from '../gates/branches.js';
import type { NodeSpec } from '../inventory/types.js';
import { nextStep, said } from '../next.js';
import { type Artifact, checkAborted, makeContext, type RunDeps, step, type VersionInfo } from './context.js';
import { type LockedRequest, LockedRun } from './lifecycle/locked-run.js';
import { checkShared, missingError, readAllShared } from './phases/shared-check.js';
import { distribute } from './distribution/distribute.js';
import { cleanup, type NotYetFixed, notYetFixed } from './phases/finish.js';
import { announceGates, type GateRequest, passGates } from './phases/gates.js';
import { type AnnouncedRef, againstPlan, withAnnouncement } from './phases/announced.js';
import { joinFleet } from './phases/fleet.js';
import { ownerFor } from './phases/locks.js';
import { describePlan, type Plan } from './phases/plan.js';
import { closeAll } from './phases/preflight.js';
import { prepare } from './phases/prepare.js';
import { narrowed, readRetry } from './phases/retry.js';
import { warnNativeMismatch } from './phases/native.js';
import { look, startBuild } from './phases/start.js';
import { hooksBeforeSwitch } from './phases/switch-hooks.js';
import { DEPLOY_HOOKS, runHooks, runHooksWarned, scheduleHooks } from './rollout/hooks.js';
import { analysed } from './rollout/analysis-stages.js';
import { spending } from './rollout/budget.js';
import { groupsFor } from './rollout/drain.js';
import { afterFailedRollout } from './rollout/revert.js';
import { rollout, type RolloutPolicy } from './rollout/rollout.js';
import type { Source } from './shared/source.js';

export interface DeployRequest extends LockedRequest, GateRequest {
  readonly secrets: Readonly<Record<string, string>>;
  readonly nodes?: readonly string[];
  /** Only the nodes the newest partial deploy of this version set aside, onto that deploy's release. */
  readonly retryFailed?: boolean;
  /** Move the running release's copy of a shared entry that is no longer a link into shared/ (see shared-check). */
  readonly adoptShared?: boolean;
  /** The announced plan this deploy matched: journaled, and compared in the report. */
  readonly announcement?: AnnouncedRef;
}

export interface DeployOutcome {
  readonly release: string;
  readonly version: VersionInfo;
  readonly nodes: readonly string[];
  readonly ms: number;
  readonly artifact: Artifact;
  /** Nodes set aside within rollout.maxFailures, with why: the run exits EXIT.partial. */
  readonly setAside: readonly { readonly node: string; readonly reason: string }[];
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

/** `deploy plan`: resolves, connects and reads the nodes, and describes every step. Changes nothing. */
export async function planDeploy(req: DeployRequest, deps: RunDeps, source: Source): Promise<Plan> {
  const { runId, config, inventory, user } = req;
  const ctx = makeContext({ runId, command: `plan ${config.env} ${req.version}`, config, inventory, user, deps });
  const { nodes, groups, facts, version, findings } = await prepare(ctx, req, source);
  try {
    await look(ctx, nodes, 'plan');
    const refusal = missingError(ctx, await readAllShared(ctx, nodes), req.adoptShared);
    if (refusal) throw refusal;
    const named = req.nodes?.length ? await joinFleet(ctx, nodes, facts) : facts;
    return await describePlan(ctx, groupsFor(ctx, groups), named, version, source, findings, req.adoptShared);
  } finally {
    await closeAll(ctx);
  }
}

/**
 * `deploy <env> <version>`: plan, gates, build, distribute, the hooks before the switch, rollout, finish (the
 * hooks of docs/hooks.md at their points), inside the one locked-run lifecycle (locks, close-out, report and
 * notifications on every exit path).
 */
export async function deploy(req: DeployRequest, deps: RunDeps, source: Source): Promise<DeployOutcome> {
  const env = req.config.env;
  if (req.retryFailed && req.nodes?.length)
    throw new UsageError('--retry-failed picks its nodes itself (the ones the last partial deploy set aside)', {
      hint: said`leave out --node: ${nextStep('deploy', env, { 'retry-failed': true }, [req.version])}`,
    });
  const asked = req.merged ? mergedArgs(req.merged) : req.version;
  const line = `deploy ${env} ${asked}${req.retryFailed ? ' --retry-failed' : ''}`;
  const run = new LockedRun(req, deps, line, line);
  const { ctx } = run;
  const { reporter } = run.deps;
  let { nodes, groups, facts, version, findings } = await prepare(ctx, req, source);
  const gates = withAnnouncement(passGates(ctx, req, version.version, findings), req.announcement);
  run.about({ facts, fields: gates.fields });
  let plan: Plan | undefined;
  let hotfix: NotYetFixed[] | undefined;
  // The budget is of the nodes the run was for (a retry: the nodes it retries).
  let count = nodes.length;
  const budget = spending(ctx, () => count);
  // A failed run that held its locks: the onFailure hooks, on the nodes it reached, once the undo is done.
  run.whenFailed((more) => runHooksWarned(ctx, 'onFailure', reached(), { facts: () => facts, dir: 'deployTo', more }));

  const phases = async (): Promise<DeployOutcome> => {
    // A hook's node is one of the run's (else bad input, before anything runs).
    for (const point of DEPLOY_HOOKS) scheduleHooks(ctx, point, nodes);
    // The build runs on this machine while the nodes are connected, checked and locked; it is awaited after.
    const build = startBuild(ctx, source, version, () =>
      runHooks(ctx, 'beforeBuild', nodes, { facts: () => facts, phase: 'build' }),
    );
    let rolling: NodeSpec[][];
    let cold = false;
    try {
      if (req.retryFailed) {
        const retry = await readRetry(ctx, nodes, version);
        ({ nodes, groups } = only(retry.nodes));
        count = nodes.length;
        facts = { ...facts, release: retry.release };
        ctx.retryOf = retry.run;
        run.about({ facts, fields: gates.fields });
        reporter.emit({ type: 'info', message: `retrying ${retry.nodes.join(', ')} of run ${retry.run}` });
      }
      await look(ctx, nodes, 'deploy', budget.spare('connect'));
      build.connected();
      ({ nodes, groups } = only(nodes.filter((n) => !ctx.setAside.has(n.name)).map((n) => n.name)));
      checkAborted(ctx);
      announceGates(ctx, gates);
      await run.lock(nodes, ownerFor(ctx, { version: version.version }), { inspect: true, writable: true });
      await checkShared(ctx, nodes, req, () => run.abandon());
      if (req.nodes?.length && !req.retryFailed) {
        facts = await joinFleet(ctx, nodes, facts);
        run.about({ facts, fields: gates.fields });
      }
      rolling = groupsFor(ctx, groups);
      cold = rolling.length < groups.length;
      plan = await describePlan(ctx, rolling, facts, version, source, findings, req.adoptShared);
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
    const built = artifact.platform ? ` for ${artifact.platform}` : '';
    reporter.emit({ type: 'info', message: `artifact ${size}${built}${artifact.cached ? ' (cached)' : ''}` });
    await warnNativeMismatch(ctx, nodes, artifact);
    await runHooks(ctx, 'afterBuild', nodes, {
      facts: () => facts,
      phase: 'build',
      more: { RELINK_ARTIFACT: artifact.file },
    });
    checkAborted(ctx);

    reporter.emit({ type: 'phase', phase: 'distribute' });
    await distribute(ctx, nodes, artifact, facts, req.secrets, budget.spare('distribute'));
    checkAborted(ctx);
    rolling = rolling.map((g) => g.filter((n) => !ctx.setAside.has(n.name))).filter((g) => g.length > 0);

    await hooksBeforeSwitch(
      ctx,
      nodes.filter((n) => !ctx.setAside.has(n.name)),
      facts,
    );
    checkAborted(ctx);

    reporter.emit({ type: 'phase', phase: 'rollout' });
    if (cold) {
      reporter.emit({ type: 'info', message: 'nothing serves yet: after the pre node, every node switches at once' });
    }
    const policy = { ...DEPLOY, budget: budget.rollout(facts), ...analysed(ctx, rolling, facts, req.skipAnalysis) };
    const rolled = await rollout(ctx, rolling, () => ({ to: facts, event: 'activated' }), policy);
    if (rolled.stopped)
      throw await afterFailedRollout(ctx, rolled.stopped.node, rolled.stopped.error, rolled.switched, facts);
    const setAside = await budget.settle(facts, gates.fields, (o) => run.about(o));
    const released = nodes.filter((n) => !ctx.setAside.has(n.name));
    await runHooksWarned(ctx, 'afterRollout', released, { facts: () => facts });
    hotfix = await notYetFixed(ctx, source, findings);

    reporter.emit({ type: 'phase', phase: 'finish' });
    const ms = run.elapsed();
    await cleanup(ctx, released, [facts.release]);
    await run.succeed(setAside.length ? 'partial' : 'success');
    const took = `${(ms / 1000).toFixed(1)}s: ${facts.release}`;
    reporter.emit({ type: 'info', message: `deployed ${version.version} to ${of()} of ${env} in ${took}` });
    if (setAside.length) reporter.emit({ type: 'warn', message: budget.summary(version.version) });
    return { release: facts.release, version, nodes: released.map((n) => n.name), ms, artifact, setAside };
  };

  /** How many nodes run the release, of how many the run was for. */
  const of = () => {
    const out = ctx.setAside.size;
    const released = nodes.filter((n) => !ctx.setAside.has(n.name)).length;
    return out ? `${released} of ${released + out} node(s)` : `${released} node(s)`;
  };

  /** The run's nodes this run is connected to. */
  const reached = () => nodes.filter((n) => ctx.sessions.has(n.name));

  /** The run's nodes narrowed to these names, and their groups. */
  const only = (names: readonly string[]) => narrowed(req.inventory, names);

  function notice(event: 'start' | 'success' | 'failure', title: string, text: string) {
    const { runId, user } = req;
    return { event, title, text, env, runId, version: version.version, release: facts.release, user };
  }

  return run.execute(phases, (result, failure) => {
    const ok = result === 'success' || result === 'partial';
    const previous = plan?.nodes.find((n) => n.currentVersion)?.currentVersion;
    const last = nextStep('rollback', env, { last: true });
    const afterHalt = result === 'halted' ? said`${last} after inspection` : ['no node runs this release'];
    const undo = run.deps.phrase(
      ok ? said`${last}${previous ? `    # back to ${previous}` : ''}` : ['# nothing to undo: ', ...afterHalt],
    );
    const why = run.deps.redactor.apply(errorMessage(failure).split('\n')[0] ?? '');
    const partial = result === 'partial' ? budget.report(version.version) : undefined;
    const aside = partial ? `, ${partial.nodes.length} node(s) SET ASIDE: ${partial.retry}` : '';
    const title = `${env}: ${version.version} ${ok ? `deployed${aside}` : `FAILED (${result})`}`;
    return {
      report: {
        command: `deploy ${env} ${asked}`,
        version: version.version,
        release: facts.release,
        commit: version.commit,
        commits: plan?.commits,
        bugfixes: plan?.bugfixes,
        openPoisons: plan?.openPoisons,
        notYetFixed: hotfix,
        allowedPoisons: gates.allowed,
        emergency: gates.emergency ? { reason: req.reason } : undefined,
        approval: req.approved,
        rollbackCommand: undo,
        setAside: partial,
        announcement: againstPlan(req.announcement, { ...version, started: run.startedAt }),
        merged: req.merged,
        analysis: ctx.analyses,
      },
      notice: {
        // Nodes set aside need someone: the notice goes where failures go.
        ...notice(ok && !partial ? 'success' : 'failure', title, ok ? `${facts.release} runs on ${of()}` : why),
      },
    };
  });
}
