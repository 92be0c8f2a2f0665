// A deploy to some of an environment's nodes (`--node`) of the commit the others run joins their release:
// the same release name, so `status`, `releases` and `rollback` see one release, not one per run.
import type { NodeSpec } from '../../inventory/types.js';
import { parseJournal } from '../../journal/events.js';
import { releaseRecords } from '../../journal/releases.js';
import { inspectNode, parseInspection } from '../../remote/inspect.js';
import { isReleaseName } from '../../remote/paths.js';
import type { NodeSession } from '../../transport/types.js';
import type { ReleaseFacts } from '../../template/scope.js';
import { limit, state, type RunContext } from '../context.js';

/** What one node runs, from its own journal (untrusted: each value passed its check in parseJournal). */
interface Running {
  readonly release: string;
  readonly version?: string;
  readonly commit?: string;
}

/**
 * The release the environment's other nodes run of this very version and commit (the one most of them run),
 * for the deploy to name its release so. Read without their lock, best effort: a node that does not answer,
 * or answers something that fails its check, counts for nothing. Undefined when none runs it, or when a
 * target node has `current` on it: its release dir would be unpacked anew under the running app.
 */
export async function fleetRelease(
  ctx: RunContext,
  targets: readonly NodeSpec[],
  facts: ReleaseFacts,
): Promise<string | undefined> {
  const names = new Set(targets.map((n) => n.name));
  const others = ctx.inventory.hosts.filter((n) => !names.has(n.name));
  if (others.length === 0) return undefined;
  const seen = await Promise.all(others.map((node) => readRunning(ctx, node)));
  const votes = new Map<string, number>();
  for (const r of seen)
    if (r && r.commit === facts.commit && r.version === facts.version)
      votes.set(r.release, (votes.get(r.release) ?? 0) + 1);
  const best = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!best || targets.some((n) => state(ctx, n).current === best)) return undefined;
  return best;
}

/** The first fields of a release name: project, environment and version (releaseName() writes them so). */
const stem = (release: string) => release.split('_').slice(0, 3).join('_');

/** The deploy's facts, under the fleet's release name when the other nodes run this version and commit. */
export async function joinFleet(
  ctx: RunContext,
  targets: readonly NodeSpec[],
  facts: ReleaseFacts,
): Promise<ReleaseFacts> {
  const release = await fleetRelease(ctx, targets, facts);
  if (!release || release === facts.release || stem(release) !== stem(facts.release)) return facts;
  const message = `the other nodes run ${facts.version} as ${release}: the release keeps that name`;
  ctx.deps.reporter.emit({ type: 'info', message });
  return { ...facts, release };
}

/** `current` of one node and what its journal records of it; undefined when it cannot tell. */
async function readRunning(ctx: RunContext, node: NodeSpec): Promise<Running | undefined> {
  let session: NodeSession | undefined;
  try {
    session = await ctx.deps.transport.connect(node, ctx.deps.signal);
    const result = await session.exec(inspectNode(ctx.layout), limit(ctx, 'inspect'));
    if (result.code !== 0) return undefined;
    const seen = parseInspection(result.stdout, ctx.layout);
    if (!seen.current || !isReleaseName(seen.current)) return undefined;
    const record = releaseRecords(parseJournal(seen.journal).events).get(seen.current);
    return record && { release: seen.current, version: record.version, commit: record.commit };
  } catch {
    return undefined;
  } finally {
    await session?.close().catch(() => undefined);
  }
}
