import { RemoteError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { deadlineMs } from '../../remote/deadlines.js';
import { releaseDir } from '../../remote/paths.js';
import { KILL_AFTER_S, relinkThenRun, runInRelease, SWITCHED, unlinkCurrent } from '../../remote/relink.js';
import { render, type Command } from '../../remote/tokens.js';
import { commandEnv, type ReleaseFacts } from '../../template/scope.js';
import { type ExecResult, TIMEOUT_EXIT } from '../../transport/types.js';
import { checkAborted, execOk, session, state, step, type RunContext, userLimit } from '../context.js';
import { checkLock, guarded, lockRun } from '../phases/lock-guard.js';
import { journalEvent, record } from '../shared/record.js';
import { settingsOf } from '../shared/release-settings.js';
import { relinkNode, restartNode, smokeNode, stopNode } from './activate.js';
import { behindLb } from './drain.js';
import { runHooks } from './hooks.js';
import type { Move, RolloutPolicy } from './rollout-types.js';

/**
 * One node of a group: relink and restart (one round trip), afterSwitch hooks, smoke test. `atSmoke` is
 * called when the node reaches its smoke test (the rollout may then drain the next group). Putting the node
 * back into the load balancer is the group's (rollout.ts), all its nodes at once.
 */
export async function switchNode(
  ctx: RunContext,
  node: NodeSpec,
  move: Move,
  policy: RolloutPolicy,
  switched: NodeSpec[],
  atSmoke: () => void = () => undefined,
): Promise<void> {
  if (policy.interruptible) checkAborted(ctx);
  if (!policy.undo) await checkLock(ctx);
  const to = move.to;
  if (!to) {
    await step(ctx, `${policy.phase}:unlink`, node, () =>
      guarded(ctx, node, () =>
        execOk(ctx, node, unlinkCurrent(ctx.layout, lockRun(ctx, node)), { kind: 'relink', cleanup: true }),
      ),
    );
    await record(ctx, node, journalEvent(ctx, node, move.event, move.fields));
    switched.push(node);
    await leaveEmpty(ctx, policy.phase, node, move.leaving);
    atSmoke();
    return;
  }
  // The emergency rollback keeps its own two commands per node.
  const together = policy.phase !== 'emergency';
  await relinkRestart(ctx, policy.phase, node, to, move, () => switched.push(node), together);
  // A failing afterSwitch hook fails the node like a failed smoke test (in an emergency: only hooks marked so).
  const emergency = policy.phase === 'emergency';
  await runHooks(ctx, 'afterSwitch', [node], { facts: () => to, emergency, phase: policy.phase });
  atSmoke();
  if (policy.smoke) await smokeNode(ctx, policy.phase, node, to);
}

/**
 * Moves `current` (journaled) and restarts the app in one round trip: the relink step ends as soon as the
 * node prints SWITCHED, the restart step when the command ends. A release restarted through a `service`
 * manager, or with no restart command, keeps the relink alone.
 */
async function relinkRestart(
  ctx: RunContext,
  phase: string,
  node: NodeSpec,
  to: ReleaseFacts,
  move: Move,
  onMoved: () => void,
  together: boolean,
): Promise<void> {
  let moved = false;
  const once = () => {
    if (!moved) onMoved();
    moved = true;
  };
  const { restart, service } = settingsOf(ctx, node, to.release);
  if (!together || service || !restart) {
    await relinkNode(ctx, phase, node, to, move.event, move.fields, once);
    return restartNode(ctx, phase, node, to);
  }
  let done: Promise<ExecResult> | undefined;
  let began = 0;
  const send = (relink: Command) =>
    new Promise<void>((resolve, reject) => {
      const dir = releaseDir(ctx.layout, to.release);
      const env = commandEnv(ctx.config, node, to, { RELINK_PREVIOUS: state(ctx, node).current ?? '' });
      const command = relinkThenRun(relink, runInRelease(dir, restart.command, env, restart.timeoutMs));
      const switched = () => {
        began ||= performance.now();
        resolve();
      };
      let out = '';
      const ms = deadlineMs(ctx.config.ssh, 'relink') + restart.timeoutMs + (KILL_AFTER_S + 5) * 1000;
      const onStdout = (chunk: string) => {
        out += chunk;
        if (out.includes(SWITCHED)) switched();
      };
      done = session(ctx, node).exec(command, { ...userLimit(ctx, ms), onStdout });
      done.then((result) => {
        if (result.stdout.includes(SWITCHED) || result.code === 0) return switched();
        // Cut short (timeout, interrupt) with no word of the relink: `current` may have moved.
        if (result.code === TIMEOUT_EXIT || result.code === 130) once();
        const shown = ctx.deps.redactor.apply(render(relink, { redact: true }));
        reject(new RemoteError(node.name, shown, result.code, ctx.deps.redactor.apply(result.stderr)));
      }, reject);
    });
  await relinkNode(ctx, phase, node, to, move.event, move.fields, once, send);
  await restartNode(ctx, phase, node, to, async () => {
    const result = await done!;
    // 124: `timeout` stopped it with SIGTERM; 137: it ignored that and was killed.
    const overran = result.code === 124 || (result.code === 137 && performance.now() - began >= restart.timeoutMs);
    return overran ? { ...result, code: TIMEOUT_EXIT } : result;
  });
}

/**
 * A node left with no release (the undo of its first deploy) must serve nothing: its app is stopped with the
 * `stop` setting or through its `service` manager, and it is kept out of the load balancer (drained now if it
 * was not, and left so at the end).
 * Without `stop`, the warning names what may still run there.
 */
async function leaveEmpty(ctx: RunContext, phase: string, node: NodeSpec, leaving?: ReleaseFacts): Promise<void> {
  ctx.empty.add(node.name);
  let stopped = false;
  const { stop, service } = leaving ? settingsOf(ctx, node, leaving.release) : ctx.config;
  const canStop = Boolean(stop || service);
  if (canStop && leaving) {
    stopped = await stopNode(ctx, phase, node, leaving).then(
      () => true,
      () => false,
    );
  }
  const pooled = ctx.lb.kind !== 'none' && behindLb(ctx, [node]).length > 0;
  if (pooled && !ctx.drained.has(node.name)) {
    ctx.drained.add(node.name);
    await step(ctx, `${phase}:drain`, node, () => ctx.lb.drain(node)).catch(() => undefined);
  }
  if (stopped) return;
  const what = leaving ? `the app started from ${leaving.release}` : 'the app this run started';
  const why = service
    ? 'stopping its service failed'
    : stop
      ? 'its stop command failed'
      : 'no `stop` or `service` is configured';
  const out = pooled ? '; it stays out of the load balancer' : '';
  ctx.deps.reporter.emit({
    type: 'warn',
    node: node.name,
    message: `${node.name} has no release now, but ${what} may still run there (${why})${out}`,
  });
}
