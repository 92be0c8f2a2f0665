import type { ResolvedConfig } from '../config/types.js';
import { EXIT, LockError, RelinkError, errorMessage } from '../errors.js';
import { acquireLocalLock, acquireRemoteLocks, breakForeignLocks, describeOwner, ownerFor, releaseRemoteLocks, startHeartbeat } from '../gates/lock.js';
import { filterNodes, rolloutGroups } from '../inventory/groups.js';
import type { Inventory, NodeSpec } from '../inventory/types.js';
import { matchReleases, previousGood, releaseRecords } from '../journal/releases.js';
import { makeContext, state, type RunContext, type RunDeps } from './context.js';
import { relinkNode, restartNode, smokeNode } from './rollout/activate.js';
import { closeOut } from './phases/finish.js';
import { closeAll, connectEach, inspectAll } from './phases/preflight.js';
import { checkLb, drainGroup, openLb, restoreLb, undrainLeftovers, undrainNode } from './rollout/drain.js';
import type { ReleaseFacts } from '../template/scope.js';
import { Fanout } from '../log/reporter.js';
import { Notifier } from '../notify/notifier.js';
import { renderReport, StepCollector, writeReport } from './lifecycle/report.js';

export type RollbackTarget = { readonly kind: 'last' } | { readonly kind: 'to'; readonly spec: string };

export interface RollbackRequest {
  readonly config: ResolvedConfig;
  readonly inventory: Inventory;
  readonly user: string;
  readonly runId: string;
  readonly stateDir: string;
  readonly target: RollbackTarget;
  /** Every node at once: relink and restart only, no smoke gate, no drain. */
  readonly emergency?: boolean;
  /** Roll back the nodes that can, break a lock held by another run. */
  readonly force?: boolean;
  readonly reason?: string;
  readonly nodes?: readonly string[];
  readonly localLock?: boolean;
}

/** One row of the per-node rollback table. */
export interface RollbackRow {
  readonly node: string;
  readonly current?: string;
  readonly currentVersion?: string;
  readonly target?: ReleaseFacts;
  /** Why this node cannot be rolled back; absent when it can. */
  readonly problem?: string;
}

export interface RollbackOutcome {
  readonly rows: readonly RollbackRow[];
  readonly moved: readonly string[];
  readonly ms: number;
}

/** Chooses each node's target from its own journal and checks that the release is on disk. */
export function chooseTargets(ctx: RunContext, nodes: readonly NodeSpec[], target: RollbackTarget, unreachable: ReadonlyMap<string, string>): RollbackRow[] {
  return nodes.map((node): RollbackRow => {
    const down = unreachable.get(node.name);
    if (down) return { node: node.name, problem: `unreachable: ${down}` };
    const s = state(ctx, node);
    const records = releaseRecords(s.events);
    const current = s.current;
    const currentVersion = current ? records.get(current)?.version : undefined;
    const chosen = target.kind === 'last' ? previousGood(records, current) : matchReleases(records, target.spec)[0];
    if (!chosen) {
      const problem = target.kind === 'last' ? 'no previous good release in the journal' : `no release "${target.spec}" that passed a smoke test here`;
      return { node: node.name, current, currentVersion, problem };
    }
    const facts: ReleaseFacts = { release: chosen.name, version: chosen.version ?? 'unknown', commit: chosen.commit ?? 'unknown', branch: '' };
    if (!s.onDisk.includes(chosen.name)) return { node: node.name, current, currentVersion, target: facts, problem: `${chosen.name} is not on disk (removed by hand?)` };
    return { node: node.name, current, currentVersion, target: facts };
  });
}

export function formatRows(rows: readonly RollbackRow[]): string {
  const width = Math.max(4, ...rows.map((r) => r.node.length));
  return rows
    .map((r) => {
      const from = r.currentVersion ?? (r.current ? r.current : '(none)');
      const to = r.target ? `${r.target.version} (${r.target.release})` : '-';
      return `  ${r.node.padEnd(width)}  ${from.padEnd(10)} -> ${to}${r.problem ? `   !! ${r.problem}` : r.target?.release === r.current ? '   (already there)' : ''}`;
    })
    .join('\n');
}

/**
 * `rollback <env> --last | --to X [--emergency]`: no git, no build, no
 * upload. Every node goes back to a release already on its disk; the release
 * rolled back from is marked bad so the next `--last` goes further back.
 */
export async function rollback(req: RollbackRequest, baseDeps: RunDeps): Promise<RollbackOutcome> {
  const started = performance.now();
  const startedAt = baseDeps.now();
  const steps = new StepCollector();
  const deps: RunDeps = { ...baseDeps, reporter: new Fanout([baseDeps.reporter, steps]) };
  const notifier = new Notifier(req.config.notify, deps.reporter, deps.redactor);
  let failure: unknown;
  const spec = req.target.kind === 'last' ? '--last' : `--to ${req.target.spec}`;
  const command = `rollback${req.emergency ? ' --emergency' : ''}`;
  const nodes = filterNodes(req.inventory.hosts, req.nodes);
  const ctx = makeContext({ runId: req.runId, command, config: req.config, inventory: req.inventory, user: req.user, deps });
  deps.reporter.emit({ type: 'run', runId: req.runId, env: req.config.env, command, detail: `${spec} on ${nodes.length} node(s)` });
  const releaseLocal = req.localLock === false ? async () => undefined : await acquireLocalLock(req.stateDir, req.config.env);
  let locked: NodeSpec[] = [];
  let stopHeartbeat = () => undefined as void;
  let rows: RollbackRow[] = [];
  let moved: NodeSpec[] = [];
  try {
    const failures = await connectEach(ctx, nodes);
    const reachable = nodes.filter((n) => ctx.sessions.has(n.name));
    // An emergency rollback never touches the load balancer: it must work while the LB is broken.
    if (!req.emergency) await openLb(ctx);
    await inspectAll(ctx, reachable);
    const held = reachable.find((n) => state(ctx, n).lock && !req.force);
    if (held) {
      throw new LockError(`deploy lock on ${req.config.env} is held (${held.name}) by ${describeOwner(state(ctx, held).lock, deps.now(), req.config.lock.ttlMs)}`, {
        hint: `wait for that run to finish; to roll back anyway: rollback ${req.config.env} ${spec} --force (breaks the lock, journaled)`,
      });
    }
    rows = chooseTargets(ctx, nodes, req.target, new Map(failures.map((f) => [f.node.name, errorMessage(f.error).split('\n')[0]!])));
    const targets = new Set(rows.filter((r) => r.target && !r.problem).map((r) => r.target!.release));
    const problems = rows.filter((r) => r.problem);
    const disagree = targets.size > 1;
    if ((problems.length || disagree) && !req.force) {
      const why = problems.length ? `${problems.length} node(s) cannot be rolled back` : 'the nodes would go to different releases';
      throw new RelinkError(`rollback refused: ${why}. Nothing was changed.\n${formatRows(rows)}`, {
        hint: `pick a release every node has (rollback ${req.config.env} --to <version>), or roll back only the nodes that can: add --force`,
      });
    }
    deps.reporter.emit({ type: 'info', message: `rollback ${spec} on ${req.config.env}:\n${formatRows(rows)}` });
    const movable = rows.filter((r) => r.target && !r.problem && r.target.release !== r.current);
    moved = nodes.filter((n) => movable.some((r) => r.node === n.name));
    if (moved.length === 0) {
      deps.reporter.emit({ type: 'info', message: 'nothing to roll back: every node that can already runs its target' });
      return { rows, moved: [], ms: performance.now() - started };
    }
    if (req.force) await breakForeignLocks(ctx, reachable, `${command} --force by ${req.user}`);
    const owner = ownerFor(ctx);
    await acquireRemoteLocks(ctx, reachable, owner);
    locked = reachable;
    stopHeartbeat = startHeartbeat(ctx, reachable, owner);
    const targetOf = (node: NodeSpec) => movable.find((r) => r.node === node.name)!;
    const reason = req.reason ?? `${command} ${spec}`;
    const back = async (node: NodeSpec, phase: string, smoke: boolean) => {
      const row = targetOf(node);
      await relinkNode(ctx, phase, node, row.target!, 'rolled_back', { from: row.current, reason, emergency: req.emergency || undefined });
      await restartNode(ctx, phase, node, row.target!);
      if (smoke) {
        await smokeNode(ctx, phase, node, row.target!);
        await undrainNode(ctx, phase, node);
      }
    };
    if (req.emergency) {
      deps.reporter.emit({ type: 'phase', phase: 'emergency rollback: every node at once, no smoke gate, no drain' });
      const results = await Promise.allSettled(moved.map((node) => back(node, 'emergency', false)));
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${moved[i]!.name}: ${errorMessage(r.reason).split('\n')[0]}`] : []));
      if (failed.length) throw new RelinkError(`emergency rollback failed on ${failed.length} node(s):\n  ${failed.join('\n  ')}`, { hint: `check those nodes now: deploy status ${req.config.env}` });
    } else {
      await checkLb(ctx, moved).catch((error: unknown) => {
        throw new RelinkError(errorMessage(error), { hint: `the load balancer is needed to drain nodes; without it: rollback ${req.config.env} ${spec} --emergency (may drop requests)` });
      });
      deps.reporter.emit({ type: 'phase', phase: 'rollback' });
      const done: string[] = [];
      for (const group of rolloutGroups(moved, req.inventory.pre, req.inventory.groupSize)) {
        const results = await Promise.allSettled([drainGroup(ctx, 'rollback', group)]).then(async ([drain]) =>
          drain.status === 'rejected' ? [drain] : Promise.allSettled(group.map((node) => back(node, 'rollback', true))),
        );
        const failedAt = results.findIndex((r) => r.status === 'rejected');
        if (failedAt !== -1) {
          const left = await undrainLeftovers(ctx, 'rollback');
          const rest = moved.filter((n) => !done.includes(n.name) && !group.includes(n)).map((n) => n.name);
          throw new RelinkError(
            `rollback stopped: ${errorMessage((results[failedAt] as PromiseRejectedResult).reason).split('\n')[0]}. ` +
              `${done.length ? `${done.join(', ')} run the target; ` : ''}${rest.length ? `${rest.join(', ')} were not touched.` : ''}${left.length ? ` ${left.join('; ')}` : ''}`,
            { hint: `look at ${group[failedAt]!.name} (deploy logs ${req.config.env} --node ${group[failedAt]!.name}), then rollback ${req.config.env} --to <version> or --emergency` },
          );
        }
        done.push(...group.map((n) => n.name));
      }
    }
    const ms = performance.now() - started;
    await closeOut(ctx, reachable, stopHeartbeat, movable[0]!.target!, 'success', ms, { reason, emergency: req.emergency || undefined });
    deps.reporter.emit({ type: 'info', message: `rolled back ${moved.map((n) => n.name).join(', ')} in ${(ms / 1000).toFixed(2)}s` });
    return { rows, moved: moved.map((n) => n.name), ms };
  } catch (error) {
    failure = error;
    if (locked.length) {
      const row = rows.find((r) => r.target);
      await closeOut(ctx, locked, stopHeartbeat, row?.target ?? {}, error instanceof RelinkError && error.exitCode === EXIT.interrupted ? 'interrupted' : 'failed', performance.now() - started, {
        reason: errorMessage(error).split('\n')[0],
        emergency: req.emergency || undefined,
      });
    }
    throw error;
  } finally {
    stopHeartbeat();
    await restoreLb(ctx);
    if (locked.length) await releaseRemoteLocks(ctx, locked);
    await closeAll(ctx);
    await releaseLocal();
    if (locked.length) {
      const target = rows.find((r) => r.target && !r.problem)?.target;
      const from = rows.find((r) => r.currentVersion)?.currentVersion;
      const result = failure ? 'failed' : 'success';
      const report = renderReport({
        runId: req.runId,
        command: `${command} ${req.config.env} ${spec}`,
        env: req.config.env,
        user: req.user,
        started: startedAt,
        finished: deps.now(),
        result,
        error: failure ? deps.redactor.apply(errorMessage(failure)) : undefined,
        version: target?.version,
        release: target?.release,
        commit: target?.commit,
        emergency: req.emergency ? { reason: req.reason } : undefined,
        steps: steps.steps,
        rollbackCommand: from ? `rollback ${req.config.env} --to ${from}    # back to where this rollback started` : '# nothing to undo',
      });
      writeReport(req.stateDir, req.runId, report);
      await notifier.send(
        {
          event: 'rollback',
          title: `${req.config.env}: ${command} ${failure ? 'FAILED' : `to ${target?.version ?? '?'}`}`,
          text: failure ? deps.redactor.apply(errorMessage(failure).split('\n')[0] ?? '') : `${req.user} rolled back ${moved.map((n) => n.name).join(', ')} from ${from ?? '?'} to ${target?.version ?? '?'}${req.reason ? `: ${req.reason}` : ''}`,
          env: req.config.env,
          runId: req.runId,
          version: target?.version,
          release: target?.release,
          user: req.user,
          result,
        },
        report,
      );
    }
  }
}
