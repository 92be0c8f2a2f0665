import { and, op, or, type Command } from './tokens.js';
import type { Layout } from './paths.js';

/** Appends JSON lines to the node's journal; each record is one quoted value. */
export function appendJournal(l: Layout, records: readonly object[]): Command {
  const lines = records.map((record) => JSON.stringify(record));
  return and(['mkdir', '-p', l.state], ['printf', '%s\\n', ...lines, op('>>'), l.journal]);
}

/** Prints the journal (its last `lines` lines, when given), or nothing when there is none yet. */
export function readJournal(l: Layout, lines?: number): Command {
  const read = lines ? ['tail', '-n', String(lines), l.journal] : ['cat', l.journal];
  return or([...read, op('2>/dev/null')], ['true']);
}
