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

/** What a node runs, as `deploy status` read it: its current release and the commit its journal records. */
export interface Running {
  readonly node: string;
  readonly current?: string;
  readonly commit?: string;
}

/**
 * Nodes grouped by what they run: the commit their journals record for `current` (nodes on releases of
 * different names built from the same commit run the same code), else the release itself. Each group is
 * named by its release(s); more than one group is drift.
 */
export function drift(nodes: readonly Running[]): Map<string, string[]> {
  const commitOf = new Map(nodes.flatMap((n) => (n.current && n.commit ? [[n.current, n.commit] as const] : [])));
  const byKey = new Map<string, { releases: Set<string>; nodes: string[] }>();
  for (const n of nodes) {
    const release = n.current ?? '(none)';
    const commit = n.current ? (n.commit ?? commitOf.get(n.current)) : undefined;
    const key = commit ? `commit ${commit}` : `release ${release}`;
    const group = byKey.get(key) ?? { releases: new Set<string>(), nodes: [] };
    group.releases.add(release);
    group.nodes.push(n.node);
    byKey.set(key, group);
  }
  const out = new Map<string, string[]>();
  for (const [key, g] of byKey) {
    const label = [...g.releases].join(' + ');
    out.set(out.has(label) ? `${label} (${key})` : label, g.nodes);
  }
  return out;
}
