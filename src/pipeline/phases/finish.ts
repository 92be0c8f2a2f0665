import { errorMessage } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import type { RunResult } from '../../journal/events.js';
import { releaseRecords, releasesToRemove } from '../../journal/releases.js';
import { removeReleases } from '../../remote/release.js';
import { appendJournal } from '../../remote/journal.js';
import { thenReleaseLock } from '../../remote/lock.js';
import { execOk, limit, session, state, step, type RunContext } from '../context.js';
import { restoreLb } from '../rollout/drain.js';
import { journalEvent, record } from '../shared/record.js';
import type { ReleaseFacts } from '../../template/scope.js';
import type { Finding } from '../../gates/poison.js';
import type { Source } from '../shared/source.js';

/** Extra fields of the `run_finished` journal line. */
export interface OutcomeFields {
  readonly reason?: string;
  readonly emergency?: boolean;
  readonly allowedPoisons?: string[];
  /** Known bugs an emergency rollback landed on (its target had them without their fix). */
  readonly landedOnPoisons?: string[];
  readonly setAside?: string[];
  /** A deploy with --skip-analysis (the reason is in `reason`). */
  readonly analysisSkipped?: boolean;
  /** The announcement the deploy matched (deploy announce, a schedule's `announce`). */
  readonly announcement?: string;
  /** A deploy released by an approval: the request id, who asked and who approved (a schedule: its name). */
  readonly approval?: string;
  readonly requester?: string;
  readonly approver?: string;
  /** An emergency release past the approvals: the id of its review after the fact. */
  readonly review?: string;
}

/**
 * Ends a locked run on the nodes: the lock heartbeat stops, the load
 * balancer's own files are restored, then on every reachable node the run's
 * outcome is journaled (history and stats read it back) and this run's lock
 * released, in one round trip (the lock goes whether or not the journal line
 * was written); releaseRemoteLocks skips those nodes afterwards.
 */
export async function closeOut(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  stopHeartbeat: () => void,
  facts: Partial<ReleaseFacts>,
  result: RunResult,
  ms: number,
  extra: OutcomeFields = {},
): Promise<void> {
  stopHeartbeat();
  await restoreLb(ctx);
  await Promise.all(
    nodes
      .filter((node) => ctx.sessions.has(node.name))
      .map(async (node) => {
        const event = journalEvent(ctx, node, 'run_finished', {
          release: facts.release,
          version: facts.version,
          commit: facts.commit,
          result,
          command: ctx.command,
          ms: Math.round(ms),
          nodes: nodes.length,
          ...extra,
        });
        const outcome = await session(ctx, node)
          .exec(thenReleaseLock(ctx.layout, ctx.runId, appendJournal(ctx.layout, [event])), limit(ctx, 'journal', true))
          .catch((error: unknown) => ({ code: 255, stdout: '', stderr: errorMessage(error) }));
        // 255: the connection went; whether the lock went too is unknown, so releaseRemoteLocks tries again.
        if (outcome.code !== 255) ctx.unlocked.add(node.name);
        if (outcome.code === 0) state(ctx, node).events.push(event);
        else {
          const last = outcome.stderr.trim().split('\n').pop() ?? `exit ${outcome.code}`;
          ctx.deps.reporter.emit({
            type: 'warn',
            node: node.name,
            message: `could not journal the outcome: ${ctx.deps.redactor.apply(last)}`,
          });
        }
      }),
  );
}

/**
 * keepReleases cleanup on every node: failed and never-activated releases
 * first, then good ones beyond the newest `keepReleases`. Never `current`,
 * never the previous good release, never this run's release.
 */
export async function cleanup(ctx: RunContext, nodes: readonly NodeSpec[], protect: readonly string[]): Promise<void> {
  await Promise.all(
    nodes.map(async (node) => {
      const s = state(ctx, node);
      const records = releaseRecords(s.events);
      const current =
        [...s.events].reverse().find((e) => e.event === 'activated' || e.event === 'rolled_back')?.release ?? s.current;
      const onDisk = [...new Set([...s.onDisk, ...protect])];
      const remove = releasesToRemove(records, onDisk, current, ctx.config.keepReleases, protect);
      if (remove.length === 0) return;
      try {
        await step(
          ctx,
          'finish:cleanup',
          node,
          () => execOk(ctx, node, removeReleases(ctx.layout, remove), { kind: 'cleanup' }),
          () => `removed ${remove.length}`,
        );
        await record(
          ctx,
          node,
          ...remove.map((release) =>
            journalEvent(ctx, node, 'removed', { release, reason: `keepReleases ${ctx.config.keepReleases}` }),
          ),
        );
      } catch (error) {
        ctx.deps.reporter.emit({
          type: 'warn',
          node: node.name,
          message: `cleanup failed (the release itself is fine): ${errorMessage(error)}`,
        });
      }
    }),
  );
}

/** A known bug this release fixes, and the nodes of every environment that still run it without the fix. */
export interface NotYetFixed {
  readonly id: string;
  readonly comment: string;
  readonly ticket?: string;
  readonly nodes: readonly string[];
}

/**
 * The check after a hotfix: when the release carries the cure of known bugs, every environment and
 * node still running one of them without the cure, said and put in the report. A node that cannot be
 * read is said too; nothing here fails the release.
 */
export async function notYetFixed(
  ctx: RunContext,
  source: Source,
  findings: readonly Finding[],
): Promise<NotYetFixed[] | undefined> {
  const cured = findings.filter((f) => f.curedBy).map((f) => f.record);
  if (cured.length === 0 || !source.stillRunning) return undefined;
  const found = await source.stillRunning(cured).catch((error: unknown) => {
    const message = `cannot check where the bugs this release fixes still run: ${errorMessage(error)}`;
    ctx.deps.reporter.emit({ type: 'warn', message });
  });
  if (!found) return undefined;
  const out = cured.map((r) => ({
    id: r.id,
    comment: r.comment,
    ...(r.ticket ? { ticket: r.ticket } : {}),
    nodes: (found.affected.get(r.id) ?? []).map((n) => `${n.env}/${n.node} (${n.version ?? n.release})`),
  }));
  for (const bug of out.filter((b) => b.nodes.length)) {
    const where = bug.nodes.join(', ');
    const message = `this release fixes ${bug.id} (${bug.comment}); still running without the fix: ${where}`;
    ctx.deps.reporter.emit({ type: 'warn', message });
  }
  const down = found.unreachable.map((u) => `${u.env}/${u.node}`);
  if (down.length) ctx.deps.reporter.emit({ type: 'warn', message: `not checked (unreachable): ${down.join(', ')}` });
  return out;
}
