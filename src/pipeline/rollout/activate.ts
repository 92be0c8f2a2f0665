import path from 'node:path/posix';
import { RelinkError, RemoteError } from '../../errors.js';
import { nextStep, said } from '../../next.js';
import type { NodeSpec } from '../../inventory/types.js';
import { releaseDir } from '../../remote/paths.js';
import { appendJournal } from '../../remote/journal.js';
import { JOURNAL_FAILED, KILL_AFTER_S, relinkAndJournal, runInRelease } from '../../remote/relink.js';
import { type ExecResult, TIMEOUT_EXIT } from '../../transport/types.js';
import type { Command } from '../../remote/tokens.js';
import { execOk, session, state, step, type RunContext, userLimit } from '../context.js';
import { guarded, lockRun } from '../phases/lock-guard.js';
import { journalEvent, record, type EventFields } from '../shared/record.js';
import { settingsOf } from '../shared/release-settings.js';
import { commandEnv, templateScope, type ReleaseFacts } from '../../template/scope.js';
import { renderTemplate } from '../../template/render.js';
import { restartService, stopService } from './service.js';

/** What the transport answers when the connection went away under a command. */
const CONNECTION_LOST = 255;

/**
 * Moves `current` on one node and journals it with the given event, in one round trip (`send`: with more
 * after it, switch.ts). `onMoved` runs as soon as `current` is known to have moved, even when journaling
 * then failed, so the caller can roll the node back.
 */
export async function relinkNode(
  ctx: RunContext,
  phase: string,
  node: NodeSpec,
  facts: ReleaseFacts,
  event: 'activated' | 'rolled_back',
  extra: EventFields = {},
  onMoved?: () => void,
  send: (command: Command) => Promise<unknown> = (command) =>
    execOk(ctx, node, command, { kind: 'relink', cleanup: true }),
): Promise<void> {
  const { release, version, commit } = facts;
  const entry = journalEvent(ctx, node, event, { release, version, commit, ...extra });
  const journal = appendJournal(ctx.layout, [entry]);
  const command = relinkAndJournal(ctx.layout, facts.release, ctx.runId, journal, lockRun(ctx, node));
  await step(ctx, `${phase}:relink`, node, async () => {
    try {
      // Only while the node's lock still names this run: else a LockLostError, and `current` did not move.
      // Never cut short by an interrupt: it takes milliseconds, and a cut one may have moved `current` unseen.
      await guarded(ctx, node, () => send(command));
    } catch (error) {
      if (!(error instanceof RemoteError)) throw error;
      // The connection went during the relink: `current` may have moved, so the node counts as switched
      // (putting it back on its release is harmless if it never moved).
      if (error.code === CONNECTION_LOST) onMoved?.();
      if (error.code !== JOURNAL_FAILED) throw error;
      onMoved?.();
      const last = error.stderr.trim().split('\n').pop() ?? '';
      throw new RelinkError(
        `${node.name}: current now points at ${facts.release}, but its journal could not be written: ${last}`,
        {
          hint: `check free disk and permissions under ${ctx.layout.state} on ${node.name}`,
        },
      );
    }
    onMoved?.();
    state(ctx, node).events.push(entry);
  });
}

/**
 * Restarts the app as the release says (shared/release-settings.ts): through its manager with `service` (which
 * starts it from `current`), else its restart command in the release dir, within its time limit.
 */
export async function restartNode(
  ctx: RunContext,
  phase: string,
  node: NodeSpec,
  facts: ReleaseFacts,
  ran?: () => Promise<ExecResult>,
): Promise<void> {
  const { restart, service } = settingsOf(ctx, node, facts.release);
  if (service) return step(ctx, `${phase}:restart`, node, () => restartService(ctx, node, service));
  if (!restart) return;
  await step(ctx, `${phase}:restart`, node, async () => {
    const dir = releaseDir(ctx.layout, facts.release);
    const result = await (ran?.() ?? runOnNode(ctx, node, dir, restart.command, facts, restart.timeoutMs));
    if (result.code === TIMEOUT_EXIT)
      throw new RelinkError(`${node.name}: restart did not finish within ${restart.timeoutMs} ms`, {
        hint: 'check the restart command, or raise restart.timeoutMs',
      });
    if (result.code !== 0) {
      const tail = ctx.deps.redactor.apply(result.stderr.trim().split('\n').slice(-5).join('\n  '));
      throw new RelinkError(`${node.name}: restart failed with exit code ${result.code}${tail ? `\n  ${tail}` : ''}`, {
        hint: appLog(ctx, node),
      });
    }
  });
}

/**
 * Stops the app: through its manager with `service` (which also takes it out of the node's boot), else the
 * configured stop command in the release dir the node's app runs from, within its time limit.
 */
export async function stopNode(ctx: RunContext, phase: string, node: NodeSpec, facts: ReleaseFacts): Promise<void> {
  const { stop, service } = settingsOf(ctx, node, facts.release);
  if (service) return step(ctx, `${phase}:stop`, node, () => stopService(ctx, node, service));
  if (!stop) return;
  await step(ctx, `${phase}:stop`, node, async () => {
    const dir = releaseDir(ctx.layout, facts.release);
    const result = await runOnNode(ctx, node, dir, stop.command, facts, stop.timeoutMs);
    if (result.code !== 0) {
      const tail = ctx.deps.redactor.apply(result.stderr.trim().split('\n').slice(-3).join('\n  '));
      const what =
        result.code === TIMEOUT_EXIT ? `did not finish within ${stop.timeoutMs} ms` : `exited ${result.code}`;
      throw new RelinkError(`${node.name}: stop ${what}${tail ? `\n  ${tail}` : ''}`, {
        hint: 'check the stop command in deploy.config.ts',
      });
    }
  });
}

/** Proves the release works on the node: HTTP check from here, or a command on the node, with retries. */
export async function smokeNode(ctx: RunContext, phase: string, node: NodeSpec, facts: ReleaseFacts): Promise<void> {
  const { smoke } = settingsOf(ctx, node, facts.release);
  if (!smoke) {
    await record(
      ctx,
      node,
      journalEvent(ctx, node, 'smoke_ok', {
        release: facts.release,
        version: facts.version,
        commit: facts.commit,
        reason: 'no smoke test configured',
      }),
    );
    return;
  }
  const started = performance.now();
  try {
    await step(ctx, `${phase}:smoke`, node, async () => {
      let last: SmokeResult = { problem: '' };
      for (let attempt = 1; attempt <= smoke.retries; attempt++) {
        last = await smokeCheck(ctx, node, facts);
        if (last.problem === '') return;
        if (attempt < smoke.retries) await ctx.deps.sleep(smoke.intervalMs);
      }
      const message = `${node.name}: smoke test failed after ${smoke.retries} attempts: ${last.problem}`;
      if (last.setting) throw new SmokeSettingError(message, last.setting);
      throw new RelinkError(message, { hint: appLog(ctx, node) });
    });
  } catch (error) {
    await record(
      ctx,
      node,
      journalEvent(ctx, node, 'smoke_failed', {
        release: facts.release,
        version: facts.version,
        commit: facts.commit,
        ms: Math.round(performance.now() - started),
      }),
    );
    throw error;
  }
  await record(
    ctx,
    node,
    journalEvent(ctx, node, 'smoke_ok', {
      release: facts.release,
      version: facts.version,
      commit: facts.commit,
      ms: Math.round(performance.now() - started),
    }),
  );
}

/**
 * A smoke test that failed on a check the config decides (the body it expects): the app answered, so the
 * next step is the setting, not a new version.
 */
export class SmokeSettingError extends RelinkError {
  constructor(message: string, setting: string) {
    super(message, {
      hint: `the app answered, but not what ${setting} in deploy.config.ts expects: fix that setting (or the app)`,
    });
    this.name = 'SmokeSettingError';
  }
}

/** One smoke attempt: '' when healthy, otherwise what was wrong, and the setting that decided it if one did. */
interface SmokeResult {
  readonly problem: string;
  readonly setting?: string;
}

/** One smoke attempt; returns '' when healthy, otherwise what was wrong. Also the health column of `deploy status`. */
export async function smokeAttempt(ctx: RunContext, node: NodeSpec, facts: ReleaseFacts): Promise<string> {
  return (await smokeCheck(ctx, node, facts)).problem;
}

async function smokeCheck(ctx: RunContext, node: NodeSpec, facts: ReleaseFacts): Promise<SmokeResult> {
  const smoke = settingsOf(ctx, node, facts.release).smoke!;
  if (smoke.command) {
    const dir = path.join(ctx.layout.releases, facts.release);
    const result = await runOnNode(ctx, node, dir, smoke.command, facts, smoke.timeoutMs);
    const tail = result.stderr.trim().split('\n').pop() ?? '';
    return { problem: result.code === 0 ? '' : `command exited ${result.code}: ${tail}` };
  }
  const scope = templateScope(ctx.config, ctx.inventory, node, facts);
  const url = renderTemplate(smoke.url!, scope, 'smoke.url');
  const expected = smoke.expectBody === undefined ? '' : renderTemplate(smoke.expectBody, scope, 'smoke.expectBody');
  try {
    const response = await ctx.deps.probe(url, smoke.timeoutMs);
    if (response.status !== smoke.expectStatus)
      return { problem: `GET ${url} answered ${response.status}, expected ${smoke.expectStatus}` };
    if (!response.body.includes(expected))
      return { problem: `GET ${url}: body does not contain "${expected}"`, setting: 'smoke.expectBody' };
    return { problem: '' };
  } catch (error) {
    const { cause, message } = error as Error;
    return { problem: `GET ${url}: ${cause instanceof Error ? cause.message : message}` };
  }
}

/**
 * Runs a user command (restart, stop, smoke, a hook) in a dir on the node with the release's facts in its
 * environment, and RELINK_PREVIOUS: the release `current` pointed at on the node when the run began ('' for
 * none). Its time limit is enforced on the node (`timeout -k`), so a hung command and its children are killed
 * there; the connection waits a little longer than that. A timed-out command answers TIMEOUT_EXIT.
 */
export async function runOnNode(
  ctx: RunContext,
  node: NodeSpec,
  dir: string,
  command: string,
  facts: ReleaseFacts,
  timeoutMs: number,
  more: Readonly<Record<string, string>> = {},
): Promise<ExecResult> {
  const started = performance.now();
  const env = commandEnv(ctx.config, node, facts, { RELINK_PREVIOUS: state(ctx, node).current ?? '', ...more });
  const remote = runInRelease(dir, command, env, timeoutMs);
  const result = await session(ctx, node).exec(remote, userLimit(ctx, timeoutMs + (KILL_AFTER_S + 5) * 1000));
  // 124: `timeout` stopped it with SIGTERM; 137: it ignored that and was killed.
  const overran = result.code === 124 || (result.code === 137 && performance.now() - started >= timeoutMs);
  return overran ? { ...result, code: TIMEOUT_EXIT } : result;
}

/** Where to look when a node's app did not come up: its log. */
function appLog(ctx: RunContext, node: NodeSpec) {
  return said`see the app log on ${node.name}: ${nextStep('logs', ctx.config.env, { node: node.name })}`;
}
