import { and, op, or, type Command } from './tokens.js';
import type { Layout } from './paths.js';

/** Appends JSON lines to the node's journal; each record is one quoted value. */
export function appendJournal(l: Layout, records: readonly object[]): Command {
  const lines = records.map((record) => JSON.stringify(record));
  return and(['mkdir', '-p', l.state], ['printf', '%s\\n', ...lines, op('>>'), l.journal]);
}

/** Prints the whole journal, or nothing when there is none yet. */
export function readJournal(l: Layout): Command {
  return or(['cat', l.journal, op('2>/dev/null')], ['true']);
}
