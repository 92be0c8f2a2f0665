// The release plan announced ahead, built from the deploy's own plan (the planning code `deploy plan` and the
// run share) and the config: what goes out, the data backup, the time, the people, the rollback per node and
// the checks after. Pure: the caller reads the nodes, the clock and the repository.
import type { ResolvedConfig } from '../config/types.js';
import { printable } from '../log/listing.js';
import { nextStep } from '../next.js';
import type { Plan } from '../pipeline/phases/plan.js';
import { phrase } from './phrase.js';
import type { ReleasePlan } from './shapes.js';

/** When the release is to start, and where that time comes from. */
export interface PlannedTime {
  readonly at?: Date;
  readonly from: 'at' | 'window' | 'schedule' | 'none';
}

export interface PlanInputs {
  readonly id: string;
  readonly plan: Plan;
  readonly config: Pick<ResolvedConfig, 'env' | 'people' | 'smoke' | 'timezone'>;
  readonly time: PlannedTime;
  readonly announcedBy: string;
  readonly announcedAt: Date;
  readonly schedule?: string;
}

const BACKUP_POINTS = new Set(['beforeSwitch']);
const CHECK_POINTS = new Set(['afterSwitch', 'afterRollout']);

export function buildReleasePlan(i: PlanInputs): ReleasePlan {
  const { plan, config } = i;
  const env = config.env;
  const role = (name: string) => ({ name, members: [...(config.people.groups[name] ?? [name])] });
  const versions = new Set(plan.nodes.map((n) => n.currentVersion));
  const from = versions.size === 1 ? [...versions][0] : undefined;
  const hooks = (points: Set<string>) =>
    plan.hooks.filter((h) => points.has(h.point)).map((h) => ({ ...h, on: [...h.on] }));
  const reason = { reason: `why ${plan.version} cannot stay` };
  return {
    id: i.id,
    env,
    version: plan.version,
    commit: plan.commit,
    subject: plan.subject,
    release: plan.release,
    announcedBy: i.announcedBy,
    announcedAt: i.announcedAt.toISOString(),
    ...(i.schedule ? { schedule: i.schedule } : {}),
    time: {
      ...(i.time.at ? { at: i.time.at.toISOString() } : {}),
      from: i.time.from,
      timezone: config.timezone,
      window: plan.window,
    },
    people: {
      ...(config.people.owner ? { owner: role(config.people.owner) } : {}),
      approvers: config.people.approvers.map(role),
      onCall: config.people.onCall.map(role),
    },
    goesOut: {
      ...(from ? { from } : {}),
      commits: plan.commits.map((c) => ({ ...c })),
      bugfixes: plan.bugfixes.map((b) => ({ ...b })),
      openPoisons: plan.openPoisons.map((p) => ({ ...p })),
    },
    backup: hooks(BACKUP_POINTS),
    rollback: {
      command: phrase([nextStep('rollback', env, { last: true })]),
      emergency: phrase([nextStep('rollback', env, { last: true, emergency: true, ...reason })]),
      nodes: plan.nodes.map((n) =>
        n.current
          ? {
              node: n.node,
              backTo: n.current,
              ...(n.currentVersion ? { backToVersion: n.currentVersion } : {}),
              command: phrase([nextStep('rollback', env, { to: n.current, node: n.node })]),
            }
          : { node: n.node, problem: 'nothing runs there now: a rollback stops the app and leaves the node out' },
      ),
    },
    checks: {
      ...(config.smoke
        ? { smoke: config.smoke.url ? `GET ${config.smoke.url} on each node` : `on each node: ${config.smoke.command}` }
        : {}),
      hooks: hooks(CHECK_POINTS),
    },
    nodes: plan.nodes.map((n) => ({ node: n.node, group: n.group, pre: n.pre })),
  };
}

/** A time in the plan's zone, as people read it: `Tue, 08/12/2026, 17:00 Europe/Berlin (2026-12-08T16:00:00Z)`. */
export function localTime(iso: string, tz: string): string {
  const local = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).format(new Date(iso));
  return `${local} ${tz} (${iso.replace('.000Z', 'Z')})`;
}

const ROLE = (r: { name: string; members: readonly string[] }) =>
  r.members.length === 1 && r.members[0] === r.name ? r.name : `${r.name} (${r.members.join(', ')})`;
const HOOK = (h: ReleasePlan['backup'][number]) =>
  `- ${h.point} \`${printable(h.name)}\` on ${h.on.length ? h.on.join(', ') : 'the deploy machine'}: ` +
  `\`${printable(h.command)}\``;
const BUG = (b: { id: string; comment: string; ticket?: string }) =>
  `- ${b.id}: ${printable(b.comment)}${b.ticket ? ` (${printable(b.ticket)})` : ''}`;

/** The plan as the mail, the dashboard and the Markdown file show it: a section per part. */
export function planMarkdown(p: ReleasePlan): string {
  const when = p.time.at ? localTime(p.time.at, p.time.timezone) : 'not fixed';
  const source = { at: 'given with --at', window: 'the next release window', schedule: `schedule ${p.schedule}` };
  const none = ['(none)'];
  return [
    `# Release plan ${p.id}: ${p.version} to ${p.env}`,
    '',
    `Announced by ${printable(p.announcedBy)} at ${p.announcedAt}. Commit \`${p.commit}\`: ${printable(p.subject)}`,
    '',
    '## Time',
    '',
    `${when}${p.time.from === 'none' ? '' : `: ${source[p.time.from]}`}. When announced: ${p.time.window}.`,
    '',
    '## People',
    '',
    `- owner: ${p.people.owner ? ROLE(p.people.owner) : '(none)'}`,
    `- approvers: ${p.people.approvers.map(ROLE).join(', ') || '(none)'}`,
    `- on call: ${p.people.onCall.map(ROLE).join(', ') || '(none)'}`,
    '',
    '## What goes out',
    '',
    `Release \`${p.release}\` on ${p.nodes.length} node(s), replacing ${p.goesOut.from ?? 'what each node runs'}.`,
    '',
    `### Commits (${p.goesOut.commits.length})`,
    '',
    ...(p.goesOut.commits.length
      ? p.goesOut.commits.map((c) => `- \`${c.sha.slice(0, 10)}\` ${printable(c.subject)}`)
      : none),
    '',
    '### Bugfixes',
    '',
    ...(p.goesOut.bugfixes.length ? p.goesOut.bugfixes.map(BUG) : none),
    '',
    '### Known bugs still open',
    '',
    ...(p.goesOut.openPoisons.length ? p.goesOut.openPoisons.map(BUG) : none),
    '',
    '## Data backup',
    '',
    ...(p.backup.length ? p.backup.map(HOOK) : ['(none: no beforeSwitch hook or backup is configured)']),
    '',
    '## Rollback',
    '',
    `Every node: \`${p.rollback.command}\``,
    '',
    `Emergency (all at once, no smoke gate): \`${p.rollback.emergency}\``,
    '',
    '| node | back to | version | command |',
    '| --- | --- | --- | --- |',
    ...p.rollback.nodes.map((n) =>
      n.backTo
        ? `| ${n.node} | \`${n.backTo}\` | ${n.backToVersion ?? '?'} | \`${n.command}\` |`
        : `| ${n.node} | - | - | ${n.problem} |`,
    ),
    '',
    '## Checks after',
    '',
    `- smoke: ${p.checks.smoke ?? '(none: a release is good once activated)'}`,
    ...p.checks.hooks.map(HOOK),
    '',
  ].join('\n');
}
