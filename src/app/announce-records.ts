// Announced release plans, kept where relink keeps its other shared records: one JSON record and its
// Markdown per announcement on refs/relink/announcements of the app's repository, so every deploy machine
// (and its dashboard) sees the same plans. A record is only ever added, never changed.
import crypto from 'node:crypto';
import { RelinkError } from '../errors.js';
import type { AnnouncedRef } from '../pipeline/phases/announced.js';
import { GitRecords } from '../transport/git.js';
import type { OpenRun } from './compose.js';
import { openMirror } from './repo.js';
import { type ReleasePlan, releasePlan } from './shapes.js';

export const ANNOUNCE_REF = 'refs/relink/announcements';
const DIR = 'announcements';

export function newAnnouncementId(env: string, version: string, when: Date): string {
  const seed = `${env}\0${version}\0${when.toISOString()}\0${crypto.randomBytes(8).toString('hex')}`;
  return `a-${crypto.createHash('sha256').update(seed).digest('hex').slice(0, 8)}`;
}

/** The plans on the ref as fetched last; a file that is not a valid plan is skipped and named. */
export async function loadAnnouncements(git: GitRecords): Promise<{ plans: ReleasePlan[]; malformed: string[] }> {
  const tip = await git.tip(ANNOUNCE_REF);
  const plans: ReleasePlan[] = [];
  const malformed: string[] = [];
  if (!tip) return { plans, malformed };
  for (const [file, text] of await git.readFiles(tip, DIR)) {
    if (!file.endsWith('.json')) continue;
    let parsed: ReturnType<typeof releasePlan.safeParse> | undefined;
    try {
      parsed = releasePlan.safeParse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (parsed?.success && file === `${DIR}/${parsed.data.id}.json`) plans.push(parsed.data);
    else malformed.push(file);
  }
  return { plans, malformed };
}

/** Fetches the ref (offline: the plans fetched last, and why). */
export async function fetchAnnouncements(git: GitRecords) {
  const fetched = await git.fetchRef(ANNOUNCE_REF).catch((e: Error) => ({ ok: false, reason: e.message }));
  return { ...(await loadAnnouncements(git)), offline: fetched.ok ? undefined : (fetched.reason ?? 'unreachable') };
}

/** Adds one plan (its record and its Markdown) to the ref and pushes it; another writer's push is merged over. */
export async function writeAnnouncement(git: GitRecords, plan: ReleasePlan, markdown: string): Promise<void> {
  for (let attempt = 1; attempt <= 8; attempt++) {
    const fetched = await git.fetchRef(ANNOUNCE_REF);
    if (!fetched.ok)
      throw new RelinkError(
        `cannot reach the repository to share the announcement: ${fetched.reason ?? 'fetch failed'}. Nothing was sent.`,
        { hint: 'announcements must be pushed to be seen by others: check the network and repo in deploy.config.ts' },
      );
    const tip = await git.tip(ANNOUNCE_REF);
    const files = new Map([
      [`${DIR}/${plan.id}.json`, `${JSON.stringify(plan, null, 2)}\n`],
      [`${DIR}/${plan.id}.md`, markdown],
    ]);
    const commit = await git.commitFiles(tip, files, `announce ${plan.env} ${plan.version} (${plan.id})`);
    const pushed = await git.push(commit, ANNOUNCE_REF);
    if (pushed === 'ok') {
      await git.setRef(ANNOUNCE_REF, commit);
      return;
    }
    if (pushed !== 'rejected')
      throw new RelinkError(`cannot push the announcement to the repository: ${pushed.error}. Nothing was sent.`, {
        hint: 'check that you may push to the repository in deploy.config.ts',
      });
    await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
  }
  throw new RelinkError('the announcements changed under us 8 times in a row; nothing was sent', { hint: 'try again' });
}

/** How long after its time an announced release still counts as upcoming (a release that starts late). */
const GRACE_MS = 3_600_000;
/** How long an announcement without a fixed time counts as upcoming, and one with a time may match a deploy. */
const KEEP_MS = 7 * 86_400_000;

/** The announced releases not yet past, soonest first (those without a time last, newest first). */
export function upcoming(plans: readonly ReleasePlan[], now: Date): ReleasePlan[] {
  const t = now.getTime();
  const timeOf = (p: ReleasePlan) => (p.time.at ? Date.parse(p.time.at) : Number.POSITIVE_INFINITY);
  return plans
    .filter((p) => (p.time.at ? timeOf(p) >= t - GRACE_MS : Date.parse(p.announcedAt) >= t - KEEP_MS))
    .sort((a, b) => timeOf(a) - timeOf(b) || b.announcedAt.localeCompare(a.announcedAt));
}

/**
 * The announcement a deploy carries: a schedule's deploy, the newest of that schedule's; any other, one of
 * its environment and version. Of several, the one whose time is nearest now (none: the newest); one
 * announced, or timed, more than a week away does not match.
 */
export function matchAnnouncement(
  plans: readonly ReleasePlan[],
  deploy: { readonly env: string; readonly version: string; readonly schedule?: string; readonly now: Date },
): AnnouncedRef | undefined {
  const t = deploy.now.getTime();
  const near = (p: ReleasePlan) => Math.abs((p.time.at ? Date.parse(p.time.at) : Date.parse(p.announcedAt)) - t);
  const candidates = plans.filter(
    (p) =>
      p.env === deploy.env &&
      (deploy.schedule ? p.schedule === deploy.schedule : p.version === deploy.version) &&
      near(p) <= KEEP_MS,
  );
  const best = candidates.sort((a, b) => near(a) - near(b) || b.announcedAt.localeCompare(a.announcedAt))[0];
  if (!best) return undefined;
  const { id, version, commit, time, schedule } = best;
  return { id, version, commit, ...(time.at ? { at: time.at } : {}), ...(schedule ? { schedule } : {}) };
}

/**
 * The announcement a deploy of `version` matches, if any (a schedule's deploy: by its author `schedule:<name>`).
 * Announcements never hold a deploy back: unreadable, there is none.
 */
export async function announcedFor(run: OpenRun, version: string): Promise<AnnouncedRef | undefined> {
  try {
    return await matchFor(run, version);
  } catch {
    return undefined;
  }
}

async function matchFor(run: OpenRun, version: string) {
  const git = new GitRecords(openMirror(run.stateDir, run.config.repo));
  const { plans } = await fetchAnnouncements(git);
  const schedule = run.user.startsWith('schedule:') ? run.user.slice('schedule:'.length) : undefined;
  return matchAnnouncement(plans, { env: run.config.env, version, schedule, now: run.deps.now() });
}
