import { UsageError } from '../../errors.js';
import { filterNodes, rolloutGroups } from '../../inventory/groups.js';
import type { Inventory, NodeSpec } from '../../inventory/types.js';
import type { JournalEvent } from '../../journal/events.js';
import { nextStep, said } from '../../next.js';
import { type RunContext, state } from '../context.js';
import { closeAll, connectEach, inspectAll } from './preflight.js';

/** What `deploy <env> <version> --retry-failed` picks up: the newest partial deploy of that version. */
export interface RetryTarget {
  /** The run that set the nodes aside; the retry's activations name it, so `rollback --last` undoes both. */
  readonly run: string;
  readonly version: string;
  readonly commit?: string;
  readonly release: string;
  /** The nodes it set aside that do not run its release yet. */
  readonly nodes: readonly string[];
}

/**
 * From the nodes' journals: the newest deploy of `version` (any version when
 * not given) that ended `partial` and that no other run (a deploy, a
 * rollback) has followed since, and those of its set-aside nodes that have
 * not been brought up to its release since. A retry belongs to the run it
 * retries (`retryOf`).
 */
export function findRetry(
  journals: ReadonlyMap<string, readonly JournalEvent[]>,
  version?: string,
): RetryTarget | undefined {
  let newest: JournalEvent | undefined;
  for (const events of journals.values())
    for (const e of events)
      if (
        e.event === 'run_finished' &&
        e.result === 'partial' &&
        (version ?? e.version) === e.version &&
        e.release &&
        e.setAside
      )
        if (!newest || e.ts > newest.ts) newest = e;
  if (!newest?.release) return undefined;
  const root = newest.retryOf ?? newest.run;
  const since = newest.ts;
  for (const events of journals.values())
    for (const e of events)
      if (e.event === 'run_finished' && e.ts > since && (e.retryOf ?? e.run) !== root) return undefined;
  const release = newest.release;
  const upSince = (name: string) =>
    (journals.get(name) ?? []).some((e) => e.event === 'smoke_ok' && e.release === release && e.ts > newest.ts);
  return {
    run: root,
    commit: newest.commit,
    version: newest.version ?? '',
    release,
    nodes: (newest.setAside ?? []).filter((n) => !upSince(n)),
  };
}

/**
 * Reads every node it can reach (without a lock: the deploy that follows
 * takes it and reads again) and returns the retry's target; a usage error
 * names the next step when there is nothing to retry.
 */
export async function readRetry(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  { version, commit }: { version: string; commit: string },
): Promise<RetryTarget> {
  const env = ctx.config.env;
  const again = nextStep('deploy', env, undefined, [version]);
  try {
    const down = new Set((await connectEach(ctx, nodes)).map((f) => f.node.name));
    const reachable = nodes.filter((n) => !down.has(n.name));
    await inspectAll(ctx, reachable);
    const target = findRetry(new Map(reachable.map((n) => [n.name, state(ctx, n).events])), version);
    if (!target)
      throw new UsageError(`no deploy of ${version} to ${env} set nodes aside: nothing to retry`, {
        hint: said`${again} releases it to every node; ${nextStep('history', env)} shows the runs`,
      });
    if (target.commit && target.commit !== commit)
      throw new UsageError(
        `${version} is ${commit.slice(0, 10)} now; run ${target.run} released ${target.commit.slice(0, 10)}`,
        {
          hint: said`the tag moved: ${again} releases it to every node`,
        },
      );
    if (target.nodes.length === 0)
      throw new UsageError(`every node that run ${target.run} set aside runs ${target.release} now`, {
        hint: [nextStep('status', env)],
      });
    return target;
  } finally {
    await closeAll(ctx);
    ctx.states.clear();
  }
}

/** The inventory's nodes of these names, and their rollout groups. */
export function narrowed(inventory: Inventory, names: readonly string[]): { nodes: NodeSpec[]; groups: NodeSpec[][] } {
  const nodes = filterNodes(inventory.hosts, names);
  return { nodes, groups: rolloutGroups(nodes, inventory.pre, inventory.groupSize) };
}
