import pLimit from 'p-limit';
import type { ResolvedHook } from '../../config/hooks.js';
import type { HookPoint } from '../../config/schema-hooks.js';
import { InterruptedError, RelinkError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { releaseDir } from '../../remote/paths.js';
import { commandEnv, type ReleaseFacts } from '../../template/scope.js';
import { runLocal } from '../../transport/local.js';
import { INTERRUPTED_EXIT, TIMEOUT_EXIT } from '../../transport/types.js';
import { state, step, type RunContext, userLimit } from '../context.js';
import { journalEvent, record } from '../shared/record.js';
import { runOnNode } from './activate.js';
import { firstOf, scheduleHooks, type ScheduledHook } from './hook-schedule.js';

export { DEPLOY_HOOKS, scheduleHooks, type ScheduledHook } from './hook-schedule.js';

/** A hook that failed: which, where, and how. */
export class HookError extends RelinkError {
  constructor(
    readonly point: HookPoint,
    readonly hook: string,
    message: string,
    /** Where the hook is written: `hooks.<point>`, or `backup` (the alias). */
    setting: string = `hooks.${point}`,
    /** The release that kept it (a node's copy), when it is not today's. */
    kept?: string,
  ) {
    super(message, {
      hint: kept
        ? `fix the hook "${hook}" (${setting} as ${kept} kept it), or run with --use-current-config to use today's`
        : `fix the hook "${hook}" (${setting} in deploy.config.ts), then run again`,
    });
    this.name = 'HookError';
  }
}

export interface HookOptions {
  /** An emergency rollback: only hooks marked `emergency`. */
  readonly emergency?: boolean;
  /** The release a hook acts on, per node (a rollback's nodes may have different targets); none: the machine. */
  readonly facts: (node?: NodeSpec) => ReleaseFacts;
  /** Where node hooks run: the release directory of their facts (default), or deployTo (onFailure). */
  readonly dir?: 'release' | 'deployTo';
  /** More RELINK_* variables (RELINK_ARTIFACT, RELINK_ERROR). */
  readonly more?: Readonly<Record<string, string>>;
  /**
   * The phase the hooks run in, the first part of their step names (`rollout:afterSwitch`, `build:beforeBuild`);
   * absent: a phase of their own, `hook` (`hook:migrate`), announced with a header when a hook runs.
   */
  readonly phase?: string;
}

/**
 * Runs the hooks of a point in order; the nodes of an `each` hook in parallel (rollout.parallel). Each run is
 * a step of the run (its log and report) and, on a node, a journal line there (hook_ok, hook_failed).
 * Throws a HookError at the first hook that failed (after every node of it finished).
 */
export async function runHooks(
  ctx: RunContext,
  point: HookPoint,
  nodes: readonly NodeSpec[],
  options: HookOptions,
): Promise<void> {
  const scheduled = scheduleHooks(ctx, point, nodes, options.emergency, releaseOf(options));
  if (scheduled.length && !options.phase) ctx.deps.reporter.emit({ type: 'phase', phase: `hook: ${point}` });
  for (const one of scheduled) await runScheduled(ctx, one, nodes, options);
}

/** The release node hooks act on, per node: where their hooks may come from (the settings it kept). */
const releaseOf = (options: HookOptions) => (node: NodeSpec) => options.facts(node).release;

async function runScheduled(
  ctx: RunContext,
  { point, hook, nodes: on, kept }: ScheduledHook,
  nodes: readonly NodeSpec[],
  options: HookOptions,
): Promise<void> {
  if (!on) return runLocalHook(ctx, point, hook, nodes, options);
  const limit = pLimit(ctx.config.rollout.parallel);
  const run = (node: NodeSpec) => runNodeHook(ctx, point, hook, node, options, kept);
  const results = await Promise.allSettled(on.map((node) => limit(() => run(node))));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Runs the hooks of a "before" point: a failure says what that left (`No node was moved.`). */
export async function runHooksBefore(
  ctx: RunContext,
  point: HookPoint,
  nodes: readonly NodeSpec[],
  options: HookOptions,
  left: string,
): Promise<void> {
  await runHooks(ctx, point, nodes, options).catch((error: unknown) => {
    if (!(error instanceof HookError)) throw error;
    throw new RelinkError(`${error.message}. ${left}`, { hint: error.hint });
  });
}

/** Runs one node hook on one node; `kept`: the release whose own settings it comes from. */
async function runNodeHook(
  ctx: RunContext,
  point: HookPoint,
  hook: ResolvedHook,
  node: NodeSpec,
  options: HookOptions,
  kept?: string,
): Promise<void> {
  const facts = options.facts(node);
  await step(ctx, `${options.phase ?? 'hook'}:${hook.name}`, node, async () => {
    const dir = options.dir === 'deployTo' ? ctx.layout.deployTo : releaseDir(ctx.layout, facts.release);
    const started = performance.now();
    const result = await runOnNode(ctx, node, dir, hook.command, facts, hook.timeoutMs, {
      RELINK_HOOK: point,
      ...options.more,
    });
    const why = failure(ctx, hook, result);
    const fields = { release: facts.release, version: facts.version, commit: facts.commit, hook: hook.name };
    const ms = Math.round(performance.now() - started);
    await record(ctx, node, journalEvent(ctx, node, why ? 'hook_failed' : 'hook_ok', { ...fields, ms, reason: why }));
    if (result.code === INTERRUPTED_EXIT && ctx.deps.signal?.aborted && !ctx.undoing)
      throw new InterruptedError(String(ctx.deps.signal.reason ?? 'signal'));
    const message = `${point} hook "${hook.name}" failed on ${node.name}: ${why}`;
    if (why)
      throw new HookError(point, hook.name, message, kept ? `hooks.${point}` : settingOf(ctx, point, hook), kept);
  });
}

async function runLocalHook(
  ctx: RunContext,
  point: HookPoint,
  hook: ResolvedHook,
  nodes: readonly NodeSpec[],
  options: HookOptions,
): Promise<void> {
  const facts = options.facts();
  const first = nodes.find((n) => n.name === ctx.inventory.pre) ?? firstOf(ctx, nodes);
  const previous = first ? (state(ctx, first).current ?? '') : '';
  const env = commandEnv(ctx.config, undefined, facts, {
    RELINK_PREVIOUS: previous,
    RELINK_HOOK: point,
    ...options.more,
  });
  await step(ctx, `${options.phase ?? 'hook'}:${hook.name}`, undefined, async () => {
    const result = await runLocal('sh', ['-c', hook.command], {
      cwd: ctx.config.root,
      env: { ...process.env, ...env },
      ...userLimit(ctx, hook.timeoutMs),
    });
    if (result.code === 130 && ctx.deps.signal?.aborted && !ctx.undoing)
      throw new InterruptedError(String(ctx.deps.signal.reason ?? 'signal'));
    const why = failure(ctx, hook, { ...result, code: result.code === 124 ? TIMEOUT_EXIT : result.code });
    const message = `${point} hook "${hook.name}" failed on this machine: ${why}`;
    if (why) throw new HookError(point, hook.name, message, settingOf(ctx, point, hook));
  });
}

/** Where a hook is written in deploy.config.ts: `backup` (the alias, the first beforeSwitch hook) or its point. */
function settingOf(ctx: RunContext, point: HookPoint, hook: ResolvedHook): string {
  return point === 'beforeSwitch' && ctx.config.backup && hook === ctx.config.hooks.beforeSwitch[0]
    ? 'backup'
    : `hooks.${point}`;
}

/** Why a hook's run failed ('' when it did not): its time limit, or its exit code and the end of its stderr. */
function failure(ctx: RunContext, hook: ResolvedHook, result: { code: number; stderr: string }): string | undefined {
  if (result.code === 0) return undefined;
  if (result.code === TIMEOUT_EXIT) return `did not finish within ${hook.timeoutMs} ms (hooks timeoutMs)`;
  const tail = ctx.deps.redactor.apply(result.stderr.trim().split('\n').slice(-3).join(' '));
  return `exit ${result.code}${tail ? `: ${tail}` : ''}`;
}

/**
 * Runs hooks whose failure must not change the run's outcome (afterRollout, afterRollback, onFailure): every
 * one is tried, and a failure is warned (and in the report as a failed step), never thrown.
 */
export async function runHooksWarned(
  ctx: RunContext,
  point: HookPoint,
  nodes: readonly NodeSpec[],
  options: HookOptions,
): Promise<void> {
  const warn = (error: unknown) => {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    ctx.deps.reporter.emit({ type: 'warn', message: `${message} (the run's outcome stands)` });
  };
  let scheduled: ScheduledHook[];
  try {
    scheduled = scheduleHooks(ctx, point, nodes, options.emergency, releaseOf(options));
  } catch (error) {
    return warn(error);
  }
  if (scheduled.length && !options.phase) ctx.deps.reporter.emit({ type: 'phase', phase: `hook: ${point}` });
  for (const one of scheduled) await runScheduled(ctx, one, nodes, options).catch(warn);
}
