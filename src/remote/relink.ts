import path from 'node:path/posix';
import { whileLocked } from './lock.js';
import { and, group, op, or, type Command } from './tokens.js';
import { releaseDir, assertReleaseName, type Layout } from './paths.js';

/**
 * Points `current` at a release atomically: a symlink under a temp name,
 * then rename(2) over `current` (`mv -T`), so no reader ever sees it missing.
 * The link is relative, so the deploy dir can be moved or mounted elsewhere.
 */
export function relinkCurrent(l: Layout, release: string, runId: string): Command {
  assertReleaseName(release);
  const tmp = path.join(l.deployTo, `.current-${runId}`);
  return and(
    ['test', '-d', releaseDir(l, release)],
    ['ln', '-sfn', path.join('releases', release), tmp],
    ['mv', '-Tf', tmp, l.current],
  );
}

/** Exit status of relinkAndJournal when `current` moved but the journal line could not be written. */
export const JOURNAL_FAILED = 97;

/**
 * relinkCurrent and the journal line that records it, in one round trip,
 * only while the node's lock names `lockRun` (default: this run; a rollback
 * under a freeze names the freeze), else LOCK_LOST and nothing changes. If
 * the relink fails nothing is journaled; if the relink succeeds and the
 * journal write fails, the exit status is JOURNAL_FAILED, so the caller knows
 * `current` did move.
 */
export function relinkAndJournal(
  l: Layout,
  release: string,
  runId: string,
  journal: Command,
  lockRun = runId,
): Command {
  const relink = and(relinkCurrent(l, release, runId), group(or(group(journal), ['exit', String(JOURNAL_FAILED)])));
  return whileLocked(l, lockRun, relink);
}

/** What relinkThenRun prints once `current` moved and its journal line is written, before the command runs. */
export const SWITCHED = 'relink-switched';

/**
 * A relink (relinkAndJournal) and the command that follows it (the restart), in one round trip: SWITCHED
 * is printed between them, so the caller tells a failed relink (no SWITCHED: its exit status is the
 * relink's) from a failed command (SWITCHED, then the command's exit status).
 */
export function relinkThenRun(relink: Command, then: Command): Command {
  return and(relink, ['echo', SWITCHED], then);
}

/**
 * Removes `current` (used when the first release ever is rolled back: there is nothing to go back to),
 * only while the node's lock names `lockRun`, else LOCK_LOST.
 */
export function unlinkCurrent(l: Layout, lockRun: string): Command {
  return whileLocked(l, lockRun, ['rm', '-f', l.current]);
}

/** Prints where `current` points, or nothing when there is no `current` yet. */
export function readCurrent(l: Layout): Command {
  return or(['readlink', l.current], ['true']);
}

/**
 * Runs a user command (restart, smoke) in a release dir with the release
 * facts in its environment. The command is a value passed to `sh -c`, so it is
 * quoted like every other value.
 */
export function runInRelease(
  dir: string,
  command: string,
  env: Readonly<Record<string, string>>,
  timeoutMs?: number,
): Command {
  const assignments = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  // `exec`: the shell becomes the command (its `timeout`), so a signal to the shell reaches every process of it.
  return and(['cd', dir], [op('exec'), ...killAfter(timeoutMs), 'env', ...assignments, 'sh', '-c', command]);
}

/** Seconds `timeout` waits after SIGTERM before it sends SIGKILL. */
export const KILL_AFTER_S = 5;

/**
 * `timeout -k 5 <limit>`: past its time limit the command and every process
 * it started (timeout runs them in a process group of their own) get SIGTERM,
 * then SIGKILL, on the node itself. Exit 124 (or 137 after SIGKILL) then.
 * Closing the SSH channel alone would leave them running.
 */
export function killAfter(timeoutMs: number | undefined): Command {
  if (!timeoutMs) return [];
  return ['timeout', '-k', `${KILL_AFTER_S}s`, `${timeoutMs / 1000}s`];
}
