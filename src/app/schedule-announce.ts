// A schedule's `announce: '24h'`: each release of the entry is announced that long before it fires, once
// (a record of the same entry and fire time, from this machine or another, counts as done).
import { Cron } from 'croner';
import { parseAhead } from '../config/when.js';
import { announceRelease } from './announce.js';
import { fetchAnnouncements } from './announce-records.js';
import { openRun } from './compose.js';
import { projectRepo } from './repo.js';
import { type NamedEntry, resolveEntry } from './schedule.js';

/** What one check of the entries did, per entry it concerned. */
export interface AnnounceOutcome {
  readonly entry: string;
  readonly at: Date;
  readonly id?: string;
  readonly skip?: string;
}

/** The time an entry fires next, if its announcement is due at `now`. */
export function dueAt(entry: NamedEntry, tz: string, now: Date): Date | undefined {
  if (!entry.announce) return undefined;
  const next = new Cron(entry.cron, { timezone: tz, paused: true }).nextRun(now);
  return next && next.getTime() - parseAhead(entry.announce) <= now.getTime() ? next : undefined;
}

/** Announces every entry whose announcement is due and not yet made; `done` remembers what was. */
export async function announceDue(
  entries: readonly NamedEntry[],
  tzOf: (e: NamedEntry) => string,
  configPath: string | undefined,
  done: Set<string>,
  now = new Date(),
): Promise<AnnounceOutcome[]> {
  const due = entries.flatMap((entry) => {
    const at = dueAt(entry, tzOf(entry), now);
    return at && !done.has(`${entry.name}@${at.toISOString()}`) ? [{ entry, at }] : [];
  });
  if (due.length === 0) return [];
  const { mirror, git } = await projectRepo(configPath);
  await mirror.sync();
  const { plans } = await fetchAnnouncements(git);
  const outcomes: AnnounceOutcome[] = [];
  for (const { entry, at } of due) {
    const key = `${entry.name}@${at.toISOString()}`;
    if (plans.some((p) => p.schedule === entry.name && p.time.at === at.toISOString())) {
      done.add(key);
      continue;
    }
    const resolved = await resolveEntry(entry, configPath);
    if (!resolved.version) {
      done.add(key);
      outcomes.push({ entry: entry.name, at, skip: resolved.skip });
      continue;
    }
    const author = `schedule:${entry.name}`;
    const run = await openRun({ env: entry.env, config: configPath, author, command: 'announce', quiet: true });
    try {
      const announced = await announceRelease(run, { version: resolved.version, schedule: { name: entry.name, at } });
      done.add(key);
      outcomes.push({ entry: entry.name, at, id: announced.plan.id });
    } finally {
      await run.close();
    }
  }
  return outcomes;
}
