import { seq, type Command } from './tokens.js';
import type { Layout } from './paths.js';
import { currentRelease, isReleaseName } from './node-values.js';
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
  /** The release `current` points at; absent when nothing is deployed or it points elsewhere (see `strayTarget`). */
  readonly current?: string;
  /** Where `current` points, when that is not a release dir: it is taken as nothing deployed. */
  readonly strayTarget?: string;
  /** The release dirs whose names relink could have written. */
  readonly onDisk: string[];
  /** The other entries of `releases/`: left alone, and never named in a command. */
  readonly strayDirs: string[];
  readonly lock?: string;
  readonly journal: string;
}

export function parseInspection(stdout: string, l: Layout): Inspection {
  const [current = '', releases = '', lock = '', ...journal] = stdout.split(`${SECTION}\n`);
  const target = current.replace(/\n$/, '');
  const names = releases.split('\n').filter((s) => s.trim() !== '');
  const release = target ? currentRelease(l, target) : undefined;
  return {
    current: release,
    ...(target && !release ? { strayTarget: target } : {}),
    onDisk: names.filter((n) => isReleaseName(n)),
    strayDirs: names.filter((n) => !isReleaseName(n)),
    lock: lock.trim() || undefined,
    journal: journal.join(`${SECTION}\n`),
  };
}
