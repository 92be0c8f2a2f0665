import type { JournalEvent } from './events.js';
import { releaseRecords, type ReleaseStatus } from './releases.js';

export interface ReleaseRow {
  readonly name: string;
  readonly status: ReleaseStatus | 'unknown';
  readonly current: boolean;
  readonly version?: string;
  readonly commit?: string;
  /** When it was last activated (or unpacked, if never activated). */
  readonly since?: string;
  readonly ageSeconds?: number;
}

/** Every release dir on a node, with what the journal says of it, newest activity first. */
export function releaseRows(
  events: readonly JournalEvent[],
  onDisk: readonly string[],
  current: string | undefined,
  now: Date,
): ReleaseRow[] {
  const records = releaseRecords(events);
  return onDisk
    .map((name): ReleaseRow & { order: number } => {
      const r = records.get(name);
      const ageSeconds = r ? Math.max(0, Math.round((now.getTime() - Date.parse(r.ts)) / 1000)) : undefined;
      return {
        name,
        status: r?.status ?? 'unknown',
        current: name === current,
        version: r?.version,
        commit: r?.commit,
        since: r?.ts,
        ageSeconds,
        order: r?.activatedAt ?? -2,
      };
    })
    .sort((a, b) => b.order - a.order || b.name.localeCompare(a.name))
    .map(({ order: _, ...row }) => row);
}

export function formatAge(seconds: number | undefined): string {
  if (seconds === undefined) return '?';
  if (seconds < 90) return `${seconds}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

/** Nodes grouped by the release `current` points at; more than one group is drift. */
export function drift(currents: ReadonlyMap<string, string | undefined>): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const [node, current] of currents) {
    const key = current ?? '(none)';
    groups.set(key, [...(groups.get(key) ?? []), node]);
  }
  return groups;
}
