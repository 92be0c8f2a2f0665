import { errorMessage } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import type { RunResult } from '../journal/events.js';
import { releaseRecords, releasesToRemove } from '../journal/releases.js';
import { removeReleases } from '../remote/release.js';
import { execOk, state, step, type RunContext } from './context.js';
import { journalEvent, record } from './record.js';
import type { ReleaseFacts } from './scope.js';

/** Writes the run's outcome to every reachable node's journal; history and stats read it back. */
export async function recordOutcome(ctx: RunContext, nodes: readonly NodeSpec[], facts: Partial<ReleaseFacts>, result: RunResult, ms: number, extra: { reason?: string; emergency?: boolean; allowedPoisons?: string[] } = {}): Promise<void> {
  await Promise.all(
    nodes
      .filter((node) => ctx.sessions.has(node.name))
      .map((node) =>
        record(
          ctx,
          node,
          journalEvent(ctx, node, 'run_finished', { release: facts.release, version: facts.version, commit: facts.commit, result, command: ctx.command, ms: Math.round(ms), nodes: nodes.length, ...extra }),
        ).catch((error: unknown) => ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: `could not journal the outcome: ${errorMessage(error)}` })),
      ),
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
      const current = [...s.events].reverse().find((e) => e.event === 'activated' || e.event === 'rolled_back')?.release ?? s.current;
      const onDisk = [...new Set([...s.onDisk, ...protect])];
      const remove = releasesToRemove(records, onDisk, current, ctx.config.keepReleases, protect);
      if (remove.length === 0) return;
      try {
        await step(ctx, 'finish:cleanup', node, () => execOk(ctx, node, removeReleases(ctx.layout, remove)), () => `removed ${remove.length}`);
        await record(ctx, node, ...remove.map((release) => journalEvent(ctx, node, 'removed', { release, reason: `keepReleases ${ctx.config.keepReleases}` })));
      } catch (error) {
        ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: `cleanup failed (the release itself is fine): ${errorMessage(error)}` });
      }
    }),
  );
}
