// `deploy announce <env> <version> [--at]` and a schedule's `announce`: the release plan, built by the same
// planning code as `deploy plan` and the run, recorded on the app's repository, written as Markdown and sent
// through the notification channels.
import fs from 'node:fs';
import path from 'node:path';
import { parseAt } from '../config/when.js';
import { UsageError } from '../errors.js';
import { windowState } from '../gates/window.js';
import { Notifier } from '../notify/notifier.js';
import { GitRecords } from '../transport/git.js';
import { fetchAnnouncements, newAnnouncementId, upcoming, writeAnnouncement } from './announce-records.js';
import type { OpenRun } from './compose.js';
import { planRelease } from './deploy.js';
import { buildReleasePlan, type PlannedTime, planMarkdown } from './release-plan.js';
import { openMirror } from './repo.js';
import type { AnnounceJson, UpcomingJson } from './shapes.js';

export { planMarkdown } from './release-plan.js';

export interface AnnounceAsk {
  readonly version: string;
  /** `--at`: an ISO time, or a wall-clock time in the environment's zone. */
  readonly at?: string;
  /** A schedule's own announcement: its entry and the time it fires. */
  readonly schedule?: { readonly name: string; readonly at: Date };
}

/** When the release is to start: --at, the schedule's fire time, the next window, or not fixed. */
export function plannedTime(run: OpenRun, ask: AnnounceAsk, now: Date): PlannedTime {
  const { windows, timezone } = run.config;
  if (ask.at !== undefined) {
    let at: Date;
    try {
      at = parseAt(ask.at, timezone);
    } catch (error) {
      throw new UsageError(`--at: ${(error as Error).message}`, { hint: 'e.g. --at "2026-12-08 17:00"' });
    }
    if (at.getTime() <= now.getTime())
      throw new UsageError(`--at ${ask.at} is past (${at.toISOString()})`, { hint: 'announce a time to come' });
    return { at, from: 'at' };
  }
  if (ask.schedule) return { at: ask.schedule.at, from: 'schedule' };
  const opens = windows.length ? windowState(windows, timezone, now).opens : undefined;
  return opens ? { at: opens, from: 'window' } : { from: 'none' };
}

/** Plans the release, records it, writes its Markdown, and sends it to every channel `notify.on` allows. */
export async function announceRelease(run: OpenRun, ask: AnnounceAsk): Promise<AnnounceJson> {
  const now = run.deps.now();
  const time = plannedTime(run, ask, now);
  // Made first: it teaches the redactor the channels' secrets (webhook URLs, SMTP password).
  const notifier = new Notifier(run.config.notify, run.deps.reporter, run.deps.redactor);
  const deployPlan = await planRelease(run, { version: ask.version });
  const id = newAnnouncementId(run.config.env, deployPlan.version, now);
  // Hook commands and commit subjects are quoted: the record, the file and the mail go through the redactor.
  const plan = run.deps.redactor.applyDeep(
    buildReleasePlan({
      id,
      plan: deployPlan,
      config: run.config,
      time,
      announcedBy: run.user,
      announcedAt: now,
      schedule: ask.schedule?.name,
    }),
  );
  const markdown = run.deps.redactor.apply(planMarkdown(plan));
  await writeAnnouncement(new GitRecords(openMirror(run.stateDir, run.config.repo)), plan, markdown);
  const dir = path.join(run.stateDir, 'plans');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${id}.md`);
  fs.writeFileSync(file, markdown);
  // Short enough for a mail's one-line subject.
  const when = plan.time.at ? `${plan.time.at.slice(0, 16).replace('T', ' ')} UTC` : 'no fixed time';
  const notice = {
    event: 'announce' as const,
    title: `${plan.env}: ${plan.version} announced for ${when} (${id})`,
    text: markdown,
    env: plan.env,
    runId: id,
    version: plan.version,
    release: plan.release,
    user: run.user,
  };
  await notifier.send(notice, markdown);
  return { plan, markdown, file };
}

/** The announced releases still to come, from the repository (offline: those fetched last, and why). */
export async function upcomingReleases(git: GitRecords, now: Date, env?: string): Promise<UpcomingJson> {
  const { plans, offline } = await fetchAnnouncements(git);
  const releases = upcoming(plans, now).filter((p) => !env || p.env === env);
  return { readAt: now.toISOString(), ...(offline ? { offline } : {}), releases };
}
