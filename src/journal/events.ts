/** One line of `.relink/journal.jsonl` on a node. */
export interface JournalEvent {
  /** Record format version. */
  readonly v: 1;
  readonly ts: string;
  readonly run: string;
  readonly node: string;
  readonly env: string;
  readonly event: JournalEventName;
  /** The release the event is about (for run_finished: the release the run deployed or rolled back to). */
  readonly release?: string;
  readonly version?: string;
  readonly commit?: string;
  readonly user: string;
  /** Duration of the step, or of the whole run for run_finished. */
  readonly ms?: number;
  /** rolled_back: the release rolled back from; it is bad from then on. */
  readonly from?: string;
  readonly reason?: string;
  readonly result?: RunResult;
  /** run_finished: the command line, `deploy prod v1.1.0`, `rollback prod --last --emergency` (older: `rollback`). */
  readonly command?: string;
  readonly nodes?: number;
  readonly emergency?: boolean;
  /** run_finished of a deploy released with nodes set aside (result `partial`): their names. */
  readonly setAside?: readonly string[];
  /** activated by `deploy --retry-failed`: the run whose set-aside nodes this one brings up (it undoes as one). */
  readonly retryOf?: string;
  /** run_finished: poison ids released anyway with --allow-poison (the reason is in `reason`). */
  readonly allowedPoisons?: readonly string[];
}

export type JournalEventName =
  | 'unpacked'
  | 'activated'
  | 'smoke_ok'
  | 'smoke_failed'
  | 'rolled_back'
  | 'marked_bad'
  | 'removed'
  | 'run_finished'
  | 'lock_broken'
  | 'set_aside'
  | 'frozen'
  | 'unfrozen';

export type RunResult = 'success' | 'partial' | 'failed' | 'rolled_back' | 'halted' | 'interrupted';

export interface ParsedJournal {
  readonly events: JournalEvent[];
  /** 1-based line numbers that were not valid records; they are skipped. */
  readonly corrupt: number[];
}

/** Parses journal text; a corrupt line is skipped and reported, never fatal. */
export function parseJournal(text: string): ParsedJournal {
  const events: JournalEvent[] = [];
  const corrupt: number[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      const record = JSON.parse(line) as Partial<JournalEvent>;
      if (
        typeof record !== 'object' ||
        record === null ||
        typeof record.event !== 'string' ||
        typeof record.run !== 'string'
      ) {
        corrupt.push(index + 1);
        return;
      }
      events.push(record as JournalEvent);
    } catch {
      corrupt.push(index + 1);
    }
  });
  return { events, corrupt };
}
