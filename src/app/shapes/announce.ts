// A release plan announced ahead (`deploy announce --json`, the record on refs/relink/announcements, the
// dashboard's upcoming releases): what goes out, the backup, the time, the people, the rollback and the checks.
import { z } from 'zod';
import { d, iso, opt, str } from './common.js';

const hook = z.strictObject({
  point: d(str, 'the hook point (beforeSwitch, afterSwitch, afterRollout)'),
  name: str,
  on: d(z.array(str), 'the nodes it runs on; empty: the deploy machine'),
  command: str,
});

const role = z.strictObject({
  name: d(str, 'a dashboard user or a group of `people.groups`'),
  members: d(z.array(str), "the group's users; a user: themself"),
});

export const releasePlan = z.strictObject({
  id: d(str, 'announcement id, e.g. `a-3f09c2d1`'),
  env: str,
  version: str,
  commit: str,
  subject: d(str, "the commit's subject"),
  release: d(str, 'the release directory the deploy would create'),
  announcedBy: str,
  announcedAt: iso,
  schedule: opt(str, 'the schedule entry that announced it'),
  time: d(
    z.strictObject({
      at: opt(iso, 'when the release is to start; absent: not fixed'),
      from: d(z.enum(['at', 'window', 'schedule', 'none']), '--at, the next release window, the schedule, or none'),
      timezone: str,
      window: d(str, 'the release windows as they stand when announced'),
    }),
    'the time',
  ),
  people: d(
    z.strictObject({ owner: z.optional(role), approvers: z.array(role), onCall: z.array(role) }),
    "from `people` (the environment's over the top level's)",
  ),
  goesOut: d(
    z.strictObject({
      from: opt(str, 'the version every node runs now; absent: the nodes differ or run nothing'),
      commits: d(z.array(z.strictObject({ sha: str, subject: str })), 'since what runs now'),
      bugfixes: d(
        z.array(z.strictObject({ id: str, comment: str, ticket: z.string().optional() })),
        'known bugs cured by it that what runs now still has',
      ),
      openPoisons: d(
        z.array(z.strictObject({ id: str, commit: str, comment: str, ticket: z.string().optional(), who: str })),
        'known bugs still open in it (the deploy needs --allow-poison for each)',
      ),
    }),
    'what goes out',
  ),
  backup: d(z.array(hook), 'the data backup plan: the beforeSwitch hooks (`backup` first), before any node switches'),
  rollback: d(
    z.strictObject({
      command: d(str, 'every node back to what it runs now'),
      emergency: d(str, 'the same, all nodes at once, no smoke gate'),
      nodes: z.array(
        z.strictObject({
          node: str,
          backTo: opt(str, 'the release it would go back to (what it runs now)'),
          backToVersion: z.string().optional(),
          command: opt(str, 'this node alone'),
          problem: opt(str, 'why there is nothing to go back to'),
        }),
      ),
    }),
    'the rollback plan',
  ),
  checks: d(
    z.strictObject({
      smoke: opt(str, "each node's smoke test; absent: none (a release is good once activated)"),
      hooks: d(z.array(hook), 'afterSwitch and afterRollout hooks'),
    }),
    'the checks after the release',
  ),
  nodes: d(z.array(z.strictObject({ node: str, group: z.number(), pre: z.boolean() })), 'in rollout order'),
});

export const announceJson = z.strictObject({
  plan: releasePlan,
  markdown: d(str, 'the plan as sent by mail'),
  file: d(str, 'where the Markdown plan was written on this machine'),
});

export const upcomingJson = z.strictObject({
  readAt: iso,
  offline: opt(str, 'the repository could not be fetched: the announcements fetched last'),
  releases: d(z.array(releasePlan), 'announced releases not yet past, soonest first'),
});
