import path from 'node:path/posix';
import { and, group, op, or, seq, type Command } from './tokens.js';
import type { Layout } from './paths.js';

function ownerFile(l: Layout): string {
  return path.join(l.lock, 'owner.json');
}

function ownedBy(l: Layout, runId: string): Command {
  return ['grep', '-qF', `"run":${JSON.stringify(runId)}`, ownerFile(l), op('2>/dev/null')];
}

/**
 * Takes the node's deploy lock: `mkdir` is the atomic test-and-set, and the
 * owner record goes inside. Exits non-zero when the lock is already held.
 */
export function acquireLock(l: Layout, owner: object): Command {
  return and(
    ['mkdir', '-p', l.state],
    ['mkdir', l.lock],
    ['printf', '%s\\n', JSON.stringify(owner), op('>'), ownerFile(l)],
  );
}

/** Exit status of a command guarded by `whileLocked` when the node's lock no longer names the run. */
export const LOCK_LOST = 96;

/**
 * Runs `command` only while the node's lock names `runId`, checked in the same round trip: a run
 * whose lock was removed (`unlock --force`) or taken over changes nothing more. Exits LOCK_LOST then.
 */
export function whileLocked(l: Layout, runId: string, command: Command): Command {
  return and(group(or(ownedBy(l, runId), [op(`exit ${LOCK_LOST}`)])), command);
}

/** Rewrites the owner record (new heartbeat), only while this run still holds the lock (LOCK_LOST if not). */
export function refreshLock(l: Layout, runId: string, owner: object): Command {
  const tmp = `${ownerFile(l)}.tmp`;
  return whileLocked(
    l,
    runId,
    and(['printf', '%s\\n', JSON.stringify(owner), op('>'), tmp], ['mv', '-f', tmp, ownerFile(l)]),
  );
}

/**
 * Makes sure the node's lock names this run before it puts the node back: a lock that was removed
 * is taken again (printing `retaken`); one another run holds now is left alone (non-zero).
 */
export function reclaimLock(l: Layout, runId: string, owner: object): Command {
  return or(ownedBy(l, runId), group(and(acquireLock(l, owner), ['echo', 'retaken'])));
}

/** Prints the owner record of the lock, or nothing when the node is not locked. */
export function readLock(l: Layout): Command {
  return or(['cat', ownerFile(l), op('2>/dev/null')], ['true']);
}

/** Releases the lock only when this run holds it, so a run never frees someone else's lock. */
export function releaseLock(l: Layout, runId: string): Command {
  return or(and(ownedBy(l, runId), ['rm', '-rf', l.lock]), ['true']);
}

/**
 * Runs `before` (the run's last journal line), then releases this run's lock
 * whatever `before` returned, and exits with `before`'s status: one round trip
 * at the end of a run.
 */
export function thenReleaseLock(l: Layout, runId: string, before: Command): Command {
  return seq(group(before), [op('s=$?')], releaseLock(l, runId), [op('exit $s')]);
}

/** Exit status of `takeOverLock` when another takeover of the same lock is under way. */
export const TAKEOVER_BUSY = 75;

/**
 * Takes over the lock of a run that is gone, as one compare-and-delete: under
 * a takeover guard (`mkdir`, so two takers cannot both pass), the lock is
 * removed only if it still names `deadRun`, then taken for `owner`. Two runs
 * that saw the same dead owner cannot delete each other's fresh lock: the
 * second finds the lock naming the first and fails. A guard older than a
 * minute was left by a taker that died mid-command and is cleared first.
 * Exits 0 when taken, TAKEOVER_BUSY when another takeover holds the guard,
 * non-zero otherwise.
 */
export function takeOverLock(l: Layout, deadRun: string, owner: object): Command {
  const guard = `${l.lock}.takeover`;
  const staleGuard = ['find', l.state, '-maxdepth', '1', '-name', path.basename(guard), '-type', 'd', '-mmin', '+1'];
  return seq(
    [...staleGuard, '-exec', 'rmdir', '{}', op('+'), op('2>/dev/null')],
    or(['mkdir', guard, op('2>/dev/null')], [op(`exit ${TAKEOVER_BUSY}`)]),
    group(or(and(ownedBy(l, deadRun), ['rm', '-rf', l.lock]), ['true'])),
    and(['mkdir', l.lock], ['printf', '%s\\n', JSON.stringify(owner), op('>'), ownerFile(l)]),
    [op('s=$?')],
    ['rmdir', guard],
    [op('exit $s')],
  );
}

/** Removes the lock whoever holds it (`unlock --force`). */
export function breakLock(l: Layout): Command {
  return ['rm', '-rf', l.lock];
}
