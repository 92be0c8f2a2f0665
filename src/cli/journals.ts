import type { JournalEvent } from '../journal/events.js';

/** The journals of an environment's reachable nodes (history, stats); unreachable nodes are warned about. */
export async function journals(
  env: string,
  config?: string,
): Promise<{ events: JournalEvent[][]; unreachable: string[] }> {
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const { state } = await import('../pipeline/context.js');
  const run = await openRun({ env, config, command: 'history', quiet: true, runLog: false });
  const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps);
  try {
    const { printable } = await import('../log/listing.js');
    for (const [node, why] of seen.unreachable) {
      process.stderr.write(`warning: ${env}/${node} unreachable, its journal is not counted: ${printable(why)}\n`);
    }
    return {
      events: seen.nodes.filter((n) => !seen.unreachable.has(n.name)).map((n) => state(seen.ctx, n).events),
      unreachable: [...seen.unreachable.keys()],
    };
  } finally {
    await seen.close();
    await run.close();
  }
}

export const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`);
