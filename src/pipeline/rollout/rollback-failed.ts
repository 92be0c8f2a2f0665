import { errorMessage, RelinkError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { nextStep, said } from '../../next.js';
import type { ReleaseFacts } from '../../template/scope.js';
import type { RunContext } from '../context.js';
import { journalEvent, record } from '../shared/record.js';
import { undrainLeftovers } from './drain.js';
import { nodesIn, revertSwitched } from './revert.js';
import type { Stop } from './rollout.js';

/**
 * A rolling rollback that stopped at a failure ends as a failed deploy does: every node it moved is put back
 * on the release it ran before (with that release's own settings), drained nodes go back into the pool, and
 * the release that failed as a target is marked bad on every node the rollback was for, so `rollback --last`
 * and the listings no longer offer it as a good one (`rollback --to` can still name it). Returns the error
 * the rollback ends with.
 */
export async function afterFailedRollback(
  ctx: RunContext,
  stopped: Stop,
  switched: readonly NodeSpec[],
  moved: readonly NodeSpec[],
  targetOf: (node: NodeSpec) => ReleaseFacts,
): Promise<RelinkError> {
  const env = ctx.config.env;
  const at = stopped.node.name;
  const cause = errorMessage(stopped.error).split('\n')[0] ?? '';
  const problems = switched.length
    ? await revertSwitched(ctx, switched, targetOf, {
        reason: 'rollback failed',
        phase: `putting back ${switched.length} node(s) the rollback moved`,
      })
    : [];
  // A node that did not come back runs who knows what: it stays out of the pool.
  const kept = switched.filter((n) => ctx.drained.has(n.name)).map((n) => n.name);
  problems.push(...(await undrainLeftovers(ctx, 'rollback', kept)));
  const marked = await markFailedTarget(ctx, moved, targetOf, `rollback to it failed on ${at}: ${cause}`);
  const names = switched.map((n) => n.name).join(', ');
  const rest = stopped.untouched.map((n) => n.name);
  const back = switched.length
    ? problems.length
      ? `Put back ${names}, but ${nodesIn(problems)} node(s) did not come back cleanly: ${problems.join('; ')}.`
      : `${names} ${switched.length > 1 ? 'are' : 'is'} back on the release each ran before.`
    : 'No node was switched.';
  const untouched = rest.length ? ` ${rest.join(', ')} were not touched.` : '';
  const out = kept.length
    ? ` ${kept.join(', ')} stay${kept.length > 1 ? '' : 's'} drained (out of the load balancer).`
    : '';
  const message = `rollback stopped: ${cause}. ${back}${untouched}${out}${marked}`;
  const logs = nextStep('logs', env, { node: at });
  const hint = problems.length
    ? said`check those nodes now: ${nextStep('status', env)}`
    : said`look at ${at} (${logs}); see the releases each node has: ${nextStep('releases', env)}`;
  return new RelinkError(ctx.deps.redactor.apply(message), { hint });
}

/**
 * An emergency rollback tries every node at once and leaves those that went to their target there; each
 * node that failed is put back on the release it ran before (no drain and no load balancer, as the
 * emergency itself; its smoke test still tells whether it came back), and the target is marked bad there.
 * Returns the lines of the error: one per node that failed, and what became of it.
 */
export async function afterFailedEmergency(
  ctx: RunContext,
  failed: readonly { node: NodeSpec; error: unknown }[],
  switched: readonly NodeSpec[],
  targetOf: (node: NodeSpec) => ReleaseFacts,
): Promise<string[]> {
  const lines = failed.map((f) => `${f.node.name}: ${errorMessage(f.error).split('\n')[0]}`);
  const back = switched.filter((n) => failed.some((f) => f.node === n));
  if (back.length === 0) return lines;
  const problems = await revertSwitched(ctx, back, targetOf, {
    reason: 'emergency rollback failed',
    phase: `putting back ${back.length} node(s) the emergency rollback failed on`,
  });
  const where = problems.length ? `not all came back: ${problems.join('; ')}` : 'back on the release each ran before';
  lines.push(`${back.map((n) => n.name).join(', ')}: ${where}`);
  const marked = await markFailedTarget(ctx, back, targetOf, 'emergency rollback to it failed');
  if (marked) lines.push(marked.trim());
  return lines;
}

/** Journals the target as bad on each node (best effort: a node that cannot be written to is said). */
async function markFailedTarget(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  targetOf: (node: NodeSpec) => ReleaseFacts,
  reason: string,
): Promise<string> {
  const versions = new Set<string>();
  const unmarked: string[] = [];
  await Promise.all(
    nodes.map(async (node) => {
      const { release, version, commit } = targetOf(node);
      const known = commit === 'unknown' ? {} : { commit };
      const fields = { release, ...(version === 'unknown' ? {} : { version }), ...known, reason };
      try {
        await record(ctx, node, journalEvent(ctx, node, 'marked_bad', fields));
        versions.add(version === 'unknown' ? release : version);
      } catch {
        unmarked.push(node.name);
      }
    }),
  );
  if (versions.size === 0) return '';
  const not = unmarked.length ? ` (not on ${unmarked.join(', ')}: journal not written)` : '';
  return ` ${[...versions].join(', ')} is marked bad${not}: it is no longer offered as a good release.`;
}
