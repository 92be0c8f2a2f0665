import { errorMessage, EXIT, RelinkError } from '../errors.js';
import { describeOwner } from '../gates/lock.js';
import { filterNodes, rolloutGroups } from '../inventory/groups.js';
import type { NodeSpec } from '../inventory/types.js';
import { type Flags, nextStep, said } from '../next.js';
import { type RunDeps, state } from './context.js';
import { type LockedRequest, LockedRun } from './lifecycle/locked-run.js';
import { connectEach } from './phases/preflight.js';
import {
  chooseTargets,
  formatRows,
  noSuchRelease,
  refusalOf,
  type RollbackRow,
  type RollbackTarget,
} from './phases/rollback-targets.js';
import { bugsOfTargets, judgeRollback, type KnownBugs } from './phases/rollback-gate.js';
import { readOwnSettings } from './shared/release-settings.js';
import { checkLb, openLb } from './rollout/drain.js';
import { runHooksBefore, runHooksWarned } from './rollout/hooks.js';
import { afterFailedEmergency, afterFailedRollback } from './rollout/rollback-failed.js';
import { type Move, rollout, type RolloutPolicy } from './rollout/rollout.js';

export type { RollbackRow, RollbackTarget } from './phases/rollback-targets.js';
export { chooseTargets, formatRows } from './phases/rollback-targets.js';

export interface RollbackRequest extends LockedRequest {
  readonly target: RollbackTarget;
  /** Every node at once: relink and restart only, no smoke gate, no drain. */
  readonly emergency?: boolean;
  /** Roll back the nodes that can, break a lock held by another run. */
  readonly force?: boolean;
  readonly reason?: string;
  /** Known bugs the target release may have anyway (with `reason`): journaled and counted. */
  readonly allowPoison?: readonly string[];
  readonly nodes?: readonly string[];
  /** Restart, stop and smoke-test with the local config, not the settings each release kept on its nodes. */
  readonly useCurrentConfig?: boolean;
}

export interface RollbackOutcome {
  readonly rows: readonly RollbackRow[];
  readonly moved: readonly string[];
  readonly ms: number;
}

/** A rollback: the deploy's rollout (drain, smoke, group by group), stopping at the first failure. */
const ROLLING: RolloutPolicy = {
  phase: 'rollback',
  drain: true,
  smoke: true,
  continueOnFailure: false,
  interruptible: false,
};
/** The emergency button: every node at once, no drain, no smoke gate; every node is tried. */
const EMERGENCY: RolloutPolicy = {
  phase: 'emergency',
  drain: false,
  smoke: false,
  continueOnFailure: true,
  interruptible: false,
};

/**
 * `rollback <env> --last | --to X [--emergency]`: no build, no upload. Every
 * node goes back to a release already on its disk, through the same rollout as
 * a deploy; the release rolled back from is marked bad so the next `--last`
 * goes further back. `bugs` is the release gate's view of the targets (the
 * repository's poison records; never a reason to fail when they cannot be read).
 */
export async function rollback(req: RollbackRequest, deps: RunDeps, bugs?: KnownBugs): Promise<RollbackOutcome> {
  const env = req.config.env;
  const spec = req.target.kind === 'last' ? '--last' : `--to ${req.target.spec}`;
  const command = `rollback${req.emergency ? ' --emergency' : ''}`;
  // The journal, the lock owner and the resume hint all name the command line: `rollback prod --last`.
  const line = `rollback ${env} ${spec}${req.emergency ? ' --emergency' : ''}`;
  // The same target in a next step: `--last`, or `--to X`.
  const to: Flags = req.target.kind === 'last' ? { last: true } : { to: req.target.spec };
  const run = new LockedRun(req, deps, line, line);
  const { ctx } = run;
  const { reporter } = run.deps;
  const nodes = filterNodes(req.inventory.hosts, req.nodes);
  reporter.emit({ type: 'run', runId: req.runId, env, command, detail: `${spec} on ${nodes.length} node(s)` });
  let rows: RollbackRow[] = [];
  let moved: NodeSpec[] = [];
  let poisons: ReturnType<typeof judgeRollback> | undefined;

  const phases = async (): Promise<RollbackOutcome> => {
    const failures = await connectEach(ctx, nodes);
    const reachable = nodes.filter((n) => ctx.sessions.has(n.name));
    // An emergency rollback never touches the load balancer: it must work while the LB is broken.
    if (!req.emergency) await openLb(ctx);
    // Targets are chosen from state read under the lock, in the same round trip as the lock. A lock left
    // by a dead run is taken over only with --force: the rollback says whose it is first.
    const reason = req.reason ?? `${command} ${spec}`;
    const force = req.force ? `${command} --force by ${req.user}` : undefined;
    // Past a freeze only as an emergency, forced: the retry says both, whichever of them this run had.
    const retry = nextStep('rollback', env, { ...to, emergency: true, force: true });
    const takeOver = nextStep('rollback', env, { ...to, force: true });
    const hint = (frozen: boolean) =>
      frozen
        ? said`${env} is frozen. To roll back anyway (the freeze stays): ${retry}`
        : said`wait for that run to finish; to roll back anyway: ${takeOver} (takes the lock over, journaled)`;
    const { frozen } = await run.lock(reachable, undefined, { inspect: true, force, hint, takeOverDead: false });
    const unreachable = new Map(failures.map((f) => [f.node.name, errorMessage(f.error).split('\n')[0]!]));
    rows = chooseTargets(ctx, nodes, req.target, unreachable);
    // A node refused for a trust decision (an unknown or changed host key) is bad input, not a failure.
    const untrusted = failures.some((f) => f.error instanceof RelinkError && f.error.exitCode === EXIT.usage);
    const refusal = noSuchRelease(rows, req.target, env) ?? refusalOf(rows, env, Boolean(req.force), untrusted);
    if (refusal) {
      await run.abandon();
      throw refusal;
    }
    reporter.emit({ type: 'info', message: `rollback ${spec} on ${env}:\n${formatRows(rows)}` });
    const movable = rows.filter((r) => r.target && !r.problem && r.target.release !== r.current);
    // The release gate, on the releases the nodes go back to: refused before anything moved.
    const found = bugs
      ? await bugsOfTargets(
          movable.map((r) => r.target!),
          bugs,
        )
      : [];
    try {
      poisons = judgeRollback(found, req, env);
    } catch (error) {
      await run.abandon();
      throw error;
    }
    for (const message of poisons.warnings) reporter.emit({ type: 'warn', message });
    moved = nodes.filter((n) => movable.some((r) => r.node === n.name));
    if (moved.length === 0) {
      await run.abandon();
      reporter.emit({ type: 'info', message: 'nothing to roll back: every node that can already runs its target' });
      return { rows, moved: [], ms: run.elapsed() };
    }
    if (frozen.length) warnFrozen(frozen);
    const fields = { reason, emergency: req.emergency || undefined, ...poisons.fields };
    run.about({ facts: movable[0]!.target!, fields });
    const targetOf = (node: NodeSpec) => movable.find((r) => r.node === node.name)!.target!;
    const moveOf = (node: NodeSpec): Move => {
      const row = movable.find((r) => r.node === node.name)!;
      return { to: row.target!, event: 'rolled_back', fields: { from: row.current, ...fields } };
    };
    // Each release goes back (and, should this fail, the one left comes back) with the settings it kept.
    ctx.currentConfigOnly = req.useCurrentConfig;
    const current = (node: NodeSpec) => state(ctx, node).current;
    await readOwnSettings(ctx, [
      ...moved.map((node) => ({ node, release: targetOf(node).release })),
      ...moved.flatMap((node) => (current(node) ? [{ node, release: current(node)!, standby: true }] : [])),
    ]);
    // Hooks act on a node's target (on this machine, and on a node that does not move (onFailure): the first
    // one's); an emergency runs only hooks marked so.
    const moves = (n?: NodeSpec) => n && movable.some((r) => r.node === n.name);
    const hooks = {
      facts: (n?: NodeSpec) => (moves(n) ? moveOf(n!).to : movable[0]!.target)!,
      emergency: req.emergency,
    };
    run.whenFailed((more) => runHooksWarned(ctx, 'onFailure', reachable, { ...hooks, dir: 'deployTo', more }));
    await runHooksBefore(ctx, 'beforeRollback', moved, hooks, 'No node was moved.');

    if (req.emergency) {
      reporter.emit({ type: 'phase', phase: 'emergency rollback: every node at once, no smoke gate, no drain' });
      const { failures: failed, switched } = await rollout(ctx, [moved], moveOf, EMERGENCY);
      if (failed.length) {
        const lines = await afterFailedEmergency(ctx, failed, switched, targetOf);
        throw new RelinkError(`emergency rollback failed on ${failed.length} node(s):\n  ${lines.join('\n  ')}`, {
          hint: said`check those nodes now: ${nextStep('status', env)}`,
        });
      }
    } else {
      await checkLb(ctx, moved).catch((error: unknown) => {
        const withoutLb = nextStep('rollback', env, { ...to, emergency: true });
        throw new RelinkError(errorMessage(error), {
          hint: said`the load balancer is needed to drain nodes; without it: ${withoutLb} (may drop requests)`,
        });
      });
      reporter.emit({ type: 'phase', phase: 'rollback' });
      const groups = rolloutGroups(moved, req.inventory.pre, req.inventory.groupSize);
      const rolled = await rollout(ctx, groups, moveOf, ROLLING);
      if (rolled.stopped) throw await afterFailedRollback(ctx, rolled.stopped, rolled.switched, moved, targetOf);
    }
    await runHooksWarned(ctx, 'afterRollback', moved, hooks);
    const ms = run.elapsed();
    await run.succeed();
    reporter.emit({
      type: 'info',
      message: `rolled back ${moved.map((n) => n.name).join(', ')} in ${(ms / 1000).toFixed(2)}s`,
    });
    return { rows, moved: moved.map((n) => n.name), ms };
  };

  /** A freeze outlives a forced rollback: say so, with who froze and how to lift it. */
  function warnFrozen(frozen: readonly NodeSpec[]): void {
    const who = describeOwner(state(ctx, frozen[0]!).lock, run.deps.now(), req.config.lock.ttlMs);
    const names = frozen.map((n) => n.name).join(', ');
    const until = said`deploys are refused until: ${nextStep('unlock', env)}`;
    reporter.emit({ type: 'warn', message: `${env} stays frozen (${names}: ${who}); ${run.deps.phrase(until)}` });
  }

  return run.execute(phases, (result, failure) => {
    const target = rows.find((r) => r.target && !r.problem && !r.untouched)?.target;
    const movedRow = rows.find((r) => moved.some((n) => n.name === r.node));
    const from = (movedRow ?? rows.find((r) => r.currentVersion))?.currentVersion;
    const failed = result !== 'success';
    const names = moved.map((n) => n.name).join(', ');
    const because = req.reason ? `: ${req.reason}` : '';
    const landed = poisons?.landsOn.length ? `; lands on known bug(s) without their fix: ${describe(poisons)}` : '';
    const text = failed
      ? run.deps.redactor.apply(errorMessage(failure).split('\n')[0] ?? '')
      : `${req.user} rolled back ${names} from ${from ?? '?'} to ${target?.version ?? '?'}${because}${landed}`;
    return {
      report: {
        command: `${command} ${env} ${spec}`,
        version: target?.version,
        release: target?.release,
        commit: target?.commit,
        emergency: req.emergency ? { reason: req.reason } : undefined,
        allowedPoisons: poisons?.allowed,
        openPoisons: poisons?.records.length ? poisons.records : undefined,
        rollbackCommand: from
          ? run.deps.phrase(said`${nextStep('rollback', env, { to: from })}    # back to where this rollback started`)
          : '# nothing to undo',
      },
      notice: {
        event: 'rollback',
        title: `${env}: ${command} ${failed ? 'FAILED' : `to ${target?.version ?? '?'}`}`,
        text,
        version: target?.version,
        release: target?.release,
      },
    };
  });
}

const describe = (p: { records: readonly { id: string; comment: string }[] }) =>
  p.records.map((r) => `${r.id} (${r.comment})`).join(', ');
