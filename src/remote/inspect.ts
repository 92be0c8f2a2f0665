import { seq, type Command } from './tokens.js';
import type { Layout } from './paths.js';
import { listReleases } from './release.js';
import { readJournal } from './journal.js';
import { readCurrent } from './relink.js';
import { readLock } from './lock.js';

export const SECTION = '@@relink-section@@';

/**
 * Reads everything the plan needs from a node in one round trip, changing
 * nothing: where `current` points, the release dirs, the lock owner and the
 * journal, separated by a marker line.
 */
export function inspectNode(l: Layout, options: { journalLines?: number } = {}): Command {
  const mark: Command = ['echo', SECTION];
  return seq(readCurrent(l), mark, listReleases(l), mark, readLock(l), mark, readJournal(l, options.journalLines));
}

export interface Inspection {
  readonly current?: string;
  readonly onDisk: string[];
  readonly lock?: string;
  readonly journal: string;
}

export function parseInspection(stdout: string): Inspection {
  const [current = '', releases = '', lock = '', ...journal] = stdout.split(`${SECTION}\n`);
  const target = current.trim();
  return {
    current: target ? target.replace(/^.*\//, '') : undefined,
    onDisk: releases
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean),
    lock: lock.trim() || undefined,
    journal: journal.join(`${SECTION}\n`),
  };
}
