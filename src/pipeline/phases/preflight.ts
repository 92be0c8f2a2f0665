import { RelinkError, errorMessage } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import { parseOwner } from '../../gates/lock.js';
import { type ParsedJournal, parseJournal } from '../../journal/events.js';
import { printable } from '../../log/listing.js';
import { type Inspection, inspectNode, parseInspection } from '../../remote/inspect.js';
import { checkWritable } from '../../remote/release.js';
import { execOk, state, step, type RunContext } from '../context.js';

/**
 * Opens one connection per node, all in parallel. If any node cannot be
 * reached or fails host-key verification, every connection is closed and
 * the run stops before anything changed, naming each node; unless `spare`
 * sets the failed nodes aside (a deploy within its failure budget).
 */
export async function connectAll(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  spare: (failed: { node: NodeSpec; error: unknown }[]) => boolean = () => false,
): Promise<void> {
  const failed = await connectEach(ctx, nodes);
  if (failed.length === 0 || spare(failed)) return;
  await closeAll(ctx);
  const first = failed[0]!.error;
  const rest =
    failed.length > 1
      ? `\n  ${failed
          .slice(1)
          .map((f) => errorMessage(f.error))
          .join('\n  ')}`
      : '';
  if (first instanceof RelinkError) {
    throw new RelinkError(`${first.message}${rest}\nNothing was changed on any node.`, {
      hint: first.hint,
      exitCode: first.exitCode,
    });
  }
  throw first;
}

/** Connects to every node it can; returns the nodes it could not reach and why. */
export async function connectEach(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
): Promise<{ node: NodeSpec; error: unknown }[]> {
  const results = await Promise.allSettled(
    nodes.map((node) =>
      step(ctx, 'plan:connect', node, async () => {
        const s = await ctx.deps.transport.connect(node);
        ctx.sessions.set(node.name, s);
      }),
    ),
  );
  return results.flatMap((r, i) => (r.status === 'rejected' ? [{ node: nodes[i]!, error: r.reason as unknown }] : []));
}

export async function closeAll(ctx: RunContext): Promise<void> {
  await Promise.all([...ctx.sessions.values()].map((s) => s.close().catch(() => undefined)));
  ctx.sessions.clear();
}

/** Reads `current`, release dirs, lock and journal of every node (one round trip each). */
export async function inspectAll(ctx: RunContext, nodes: readonly NodeSpec[]): Promise<void> {
  await Promise.all(
    nodes.map((node) =>
      step(ctx, 'plan:inspect', node, async () => {
        const result = await execOk(ctx, node, inspectNode(ctx.layout), { kind: 'inspect' });
        takeInspection(ctx, node, result.stdout);
      }),
    ),
  );
}

/** Keeps what an inspection of the node printed as the run's view of that node. */
export function takeInspection(ctx: RunContext, node: NodeSpec, stdout: string): void {
  const seen = parseInspection(stdout, ctx.layout);
  const journal = parseJournal(seen.journal);
  const s = state(ctx, node);
  s.current = seen.current;
  s.onDisk = seen.onDisk;
  s.lock = seen.lock;
  s.events = journal.events;
  s.corrupt = journal.corrupt;
  for (const message of distrusted(seen, journal)) ctx.deps.reporter.emit({ type: 'warn', node: node.name, message });
}

/** What a node said that failed its check and is taken as absent, in words (values escaped). */
function distrusted(seen: Inspection, journal: ParsedJournal): string[] {
  const few = (items: readonly string[]) => `${items.slice(0, 5).join(', ')}${items.length > 5 ? ', …' : ''}`;
  const quoted = (value: string) => printable(JSON.stringify(value.slice(0, 120)));
  return [
    ...(journal.corrupt.length
      ? [`skipped ${journal.corrupt.length} corrupt journal line(s): ${few(journal.corrupt.map(String))}`]
      : []),
    ...(journal.dropped.length
      ? [
          `ignored ${journal.dropped.length} invalid value(s) in the journal: ` +
            few(journal.dropped.map((d) => `line ${d.line} ${d.field}`)),
        ]
      : []),
    ...(seen.strayTarget !== undefined
      ? [`current points at ${quoted(seen.strayTarget)}, not at a release dir: taken as nothing deployed`]
      : []),
    ...(seen.strayDirs.length
      ? [
          `ignored ${seen.strayDirs.length} dir(s) in releases/ named as relink never names a release: ` +
            few(seen.strayDirs.map(quoted)),
        ]
      : []),
    ...(seen.lock && !parseOwner(seen.lock)
      ? [`the deploy lock's owner record is not valid: the lock counts as held by an unknown run`]
      : []),
  ];
}

/** Makes sure deployTo exists and is writable on every node before anything is uploaded. */
export async function checkWritableAll(ctx: RunContext, nodes: readonly NodeSpec[]): Promise<void> {
  await Promise.all(
    nodes.map((node) =>
      step(ctx, 'plan:writable', node, () =>
        execOk(ctx, node, checkWritable(ctx.layout), {
          kind: 'lock',
          hint:
            `make ${ctx.layout.deployTo} writable for ${node.user} on ${node.name} ` +
            "(or fix deployTo / the node's user)",
        }).catch((error: unknown) => {
          throw new RelinkError(
            `${node.name}: ${ctx.layout.deployTo} is not writable by ${node.user}. Nothing was changed on any node.`,
            {
              hint: (error as RelinkError).hint,
            },
          );
        }),
      ),
    ),
  );
}
