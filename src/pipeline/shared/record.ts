import type { NodeSpec } from '../../inventory/types.js';
import type { JournalEvent, JournalEventName } from '../../journal/events.js';
import { appendJournal } from '../../remote/journal.js';
import { execOk, state, type RunContext } from '../context.js';

export type EventFields = Omit<JournalEvent, 'v' | 'ts' | 'run' | 'node' | 'env' | 'user' | 'event'>;

/** Builds a journal record with the run's common fields; no secret reaches the journal (reasons quote errors). */
export function journalEvent(
  ctx: RunContext,
  node: NodeSpec,
  event: JournalEventName,
  fields: EventFields = {},
): JournalEvent {
  const { runId: run, user } = ctx;
  const common = { v: 1 as const, ts: ctx.deps.now().toISOString(), run, node: node.name, env: ctx.config.env, user };
  const retry = ctx.retryOf ? { retryOf: ctx.retryOf } : {};
  const holds = ctx.merged && (event === 'activated' || event === 'run_finished') ? { merged: ctx.merged } : {};
  return { ...common, event, ...retry, ...holds, ...ctx.deps.redactor.applyDeep(fields) };
}

/** Appends events to the node's journal and to the run's copy of that node's state. */
export async function record(ctx: RunContext, node: NodeSpec, ...events: JournalEvent[]): Promise<void> {
  // A journal line records what happened: an interrupt never cuts it short (it has its deadline).
  await execOk(ctx, node, appendJournal(ctx.layout, events), {
    kind: 'journal',
    cleanup: true,
    hint: `check that ${ctx.layout.state} on the node is writable`,
  });
  state(ctx, node).events.push(...events);
}
