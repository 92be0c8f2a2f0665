import type { JournalEvent } from './events.js';

/**
 * What the journal says of a release on one node:
 * - `unpacked`: distributed, never activated;
 * - `activated`: `current` pointed at it, no smoke verdict yet;
 * - `good`: its smoke test passed;
 * - `failed`: its smoke test failed;
 * - `bad`: it was rolled back from, or marked bad by hand;
 * - `interrupted`: the run that brought it was stopped by the operator before it was proven
 *   (nothing is known against it: deploy it again to resume).
 */
export type ReleaseStatus = 'unpacked' | 'activated' | 'good' | 'failed' | 'bad' | 'interrupted' | 'removed';

export interface ReleaseRecord {
  readonly name: string;
  status: ReleaseStatus;
  version?: string;
  commit?: string;
  /** Its smoke test passed at least once on this node: `rollback --to` may return to it. */
  passedSmoke: boolean;
  /** Position in the journal where the release first appeared: its age among releases. */
  firstSeen: number;
  /** Position in the journal of the last activation; orders releases without sorting names. */
  activatedAt: number;
  /** Time of the last activation or, if never activated, of unpacking. */
  ts: string;
  run: string;
}

/** Folds one node's journal into a record per release, in journal order. */
export function releaseRecords(events: readonly JournalEvent[]): Map<string, ReleaseRecord> {
  const records = new Map<string, ReleaseRecord>();
  events.forEach((e, index) => {
    if (e.event === 'rolled_back' && e.from) {
      // Moving back to an older release marks the one left as bad; moving
      // forward with `rollback --to` does not.
      const from = records.get(e.from);
      const to = e.release ? records.get(e.release) : undefined;
      if (from && (!to || to.firstSeen < from.firstSeen)) from.status = 'bad';
    }
    if (e.event === 'run_finished' && e.result === 'interrupted' && e.release) {
      const record = records.get(e.release);
      // The run was stopped, not proven wrong: an interrupted release is not bad.
      if (record && record.run === e.run && record.status !== 'good' && record.status !== 'removed') {
        record.status = 'interrupted';
      }
    }
    const notAboutReleases = ['run_finished', 'lock_broken', 'exec', 'hook_ok', 'hook_failed'];
    if (!e.release || notAboutReleases.includes(e.event)) return;
    let record = records.get(e.release);
    if (!record) {
      record = {
        name: e.release,
        status: 'unpacked',
        version: e.version,
        commit: e.commit,
        passedSmoke: false,
        firstSeen: index,
        activatedAt: -1,
        ts: e.ts,
        run: e.run,
      };
      records.set(e.release, record);
    }
    record.version ??= e.version;
    record.commit ??= e.commit;
    switch (e.event) {
      case 'unpacked':
        if (record.status === 'removed') record.status = 'unpacked';
        break;
      case 'activated':
        record.activatedAt = index;
        record.ts = e.ts;
        record.status = 'activated';
        break;
      case 'rolled_back':
        // Going back to a release proven before keeps it good (an emergency
        // rollback has no smoke test); one rolled back from earlier waits for
        // its smoke test again.
        record.activatedAt = index;
        record.ts = e.ts;
        if (record.status !== 'good') record.status = 'activated';
        break;
      case 'smoke_ok':
        record.status = 'good';
        record.passedSmoke = true;
        break;
      case 'smoke_failed':
        record.status = 'failed';
        break;
      case 'marked_bad':
        record.status = 'bad';
        break;
      case 'removed':
        record.status = 'removed';
        break;
    }
  });
  return records;
}

/** Good releases, most recently activated first. */
export function goodReleases(records: ReadonlyMap<string, ReleaseRecord>): ReleaseRecord[] {
  return [...records.values()].filter((r) => r.status === 'good').sort((a, b) => b.activatedAt - a.activatedAt);
}

/**
 * Releases `rollback --to <spec>` may go to: named exactly, or by version,
 * that passed a smoke test on this node once and are not known failed.
 * Most recently activated first.
 */
export function matchReleases(records: ReadonlyMap<string, ReleaseRecord>, spec: string): ReleaseRecord[] {
  return [...records.values()]
    .filter(
      (r) =>
        (r.name === spec || r.version === spec) && r.passedSmoke && r.status !== 'failed' && r.status !== 'removed',
    )
    .sort((a, b) => b.activatedAt - a.activatedAt);
}

/** The good release that ran before `current`: what `rollback --last` goes back to. */
export function previousGood(
  records: ReadonlyMap<string, ReleaseRecord>,
  current: string | undefined,
): ReleaseRecord | undefined {
  return goodReleases(records).find((r) => r.name !== current);
}

/**
 * Which release dirs cleanup removes on a node. Never `current`, never the
 * previous good release, never what `protect` names (this run's release).
 * Failed, bad and never-activated releases go first and never count against
 * `keep`; then good releases beyond the newest `keep`. Dirs the journal does
 * not know are left alone: relink did not make them.
 */
export function releasesToRemove(
  records: ReadonlyMap<string, ReleaseRecord>,
  onDisk: readonly string[],
  current: string | undefined,
  keep: number,
  protect: readonly string[] = [],
): string[] {
  const kept = new Set([current, previousGood(records, current)?.name, ...protect].filter(Boolean) as string[]);
  const remove: string[] = [];
  for (const name of onDisk) {
    const r = records.get(name);
    if (!r || kept.has(name)) continue;
    const spent = ['failed', 'bad', 'interrupted', 'unpacked', 'removed'];
    if (spent.includes(r.status)) remove.push(name);
  }
  const good = goodReleases(records).filter((r) => onDisk.includes(r.name));
  let budget = keep;
  for (const r of good) {
    if (budget > 0 || kept.has(r.name)) {
      budget--;
      continue;
    }
    remove.push(r.name);
  }
  return remove;
}
