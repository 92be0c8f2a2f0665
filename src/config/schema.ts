// The schema of deploy.config.ts: the one description of the config. Every field carries its
// documentation, default and example; the types (types.ts, resolved.ts) are derived from it, resolveConfig
// (load.ts) fills in its defaults, and `npm run docs` generates the reference and the JSON Schema.
import { z } from 'zod';
import { Cron } from 'croner';
import { analysisSchema } from './schema-analysis.js';
import { approvalsSchema } from './schema-approvals.js';
import { hooksSchema } from './schema-hooks.js';
import { notifySchema } from './schema-notify.js';
import { environmentPeopleSchema, peopleSchema } from './schema-people.js';
import { releaseSchema } from './schema-release.js';
import { serviceSchema } from './schema-service.js';
import { doc, envVar, name, parsed, scalars } from './schema-parts.js';
import {
  buildSchema,
  lockSchema,
  logsSchema,
  ms,
  relative,
  restartSchema,
  rolloutSchema,
  smokeSchema,
  sshSchema,
  statsSchema,
  templateSchema,
} from './schema-settings.js';
import { parseAhead } from './when.js';
import { checkTimezone, parseWindow } from './window-spec.js';

const cron = parsed((p) => new Cron(p, { paused: true }).stop());
const timezone = parsed(checkTimezone);
const absolute = z
  .string()
  .regex(/^\/[^\0]*$/, 'an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'no ".." parts');

const backup = z.strictObject({
  command: doc(
    z.string().min(1),
    'Shell command: on the deploy machine in the project directory, or with `node` on that node in deployTo; ' +
      'with RELINK_* variables set.',
    'pg_dump -Fc shop > /var/backups/shop-$RELINK_RELEASE.dump',
  ),
  node: doc(z.string().optional(), 'Run on this node of the environment. Default: on the deploy machine.', 'db1'),
  timeoutMs: ms(600_000, 'Time limit of the backup in ms.', 1800000),
});

const settings = {
  windows: doc(
    z.array(parsed(parseWindow)).default([]),
    "Release windows, e.g. `['Tue 17:00-19:00', 'Thu 17:00-19:00']` (a window may span midnight); outside " +
      'them deploys need `--emergency --reason`; with none, deploys are always open.',
    ['Tue 17:00-19:00', 'Thu 17:00-19:00'],
  ),
  timezone: doc(timezone.default('UTC'), 'IANA time zone of windows and schedules.', 'Europe/Berlin'),
  backup: doc(
    backup.optional(),
    'An alias of a `beforeSwitch` hook, kept for older configs: it runs first of them (with `node`: once on ' +
      'that node, without: on the deploy machine). Default: none.',
  ),
  hooks: doc(
    hooksSchema.optional(),
    'Commands run at named points of a deploy or rollback (docs/hooks.md). Per environment, a point an ' +
      "environment names replaces the top level's list for that point (`[]` drops it); the other points stay. " +
      'Default: none.',
    { beforeSwitch: [{ command: 'npm run migrate' }], afterSwitch: [{ command: 'curl -fsS localhost/opcache-reset' }] },
  ),
  notify: doc(notifySchema.prefault({}), 'Where release notifications go (without channels: nowhere).'),
  deployTo: doc(
    absolute.optional(),
    'Absolute directory on every node that holds `releases/`, `shared/` and `current`. Required at top ' +
      'level or per environment.',
    '/srv/shop',
  ),
  keepReleases: doc(
    z.number().int().min(1).default(5),
    'Good releases kept per node by cleanup, besides `current` and the previous good one.',
    10,
  ),
  requireTag: doc(
    z.boolean().optional(),
    'Whether the version must be a tag. Default: true for `pre` and `prod`, false elsewhere.',
    true,
  ),
  build: doc(
    buildSchema.prefault({}),
    'How the release is built from a clean export of the commit; without a `command` the export is packed as is.',
  ),
  release: doc(
    releaseSchema.prefault({}),
    'What of the build output goes into the release, besides the `REVISION` (the full commit sha) and ' +
      '`REVISION_TIME` (its commit time, ISO 8601 in UTC) files relink adds to its root.',
  ),
  shared: doc(
    z
      .strictObject({
        dirs: doc(
          z.array(relative).default([]),
          'Directories, relative to the release, created under `shared/` when missing. Data an app writes by temp ' +
            'file + rename (most databases and editors) belongs in a shared directory.',
          ['log', 'data'],
        ),
        files: doc(
          z.array(relative).default([]),
          'Files, relative to the release. Each must exist under `shared/` on every node before a deploy (exit 2 ' +
            'otherwise); a file the app replaces by rename breaks its link (the next deploy refuses): share its ' +
            'directory instead.',
          ['.env'],
        ),
      })
      .prefault({}),
    'Paths linked from `<deployTo>/shared` into every release.',
  ),
  templates: doc(z.array(templateSchema).default([]), 'Files rendered per environment and node into the release.'),
  vars: doc(scalars.default({}), 'Variables for templates and the smoke URL (`{{ vars.name }}`).', {
    greeting: 'hello',
    workers: 4,
  }),
  secrets: doc(
    z.array(envVar).default([]),
    'Names of secrets (`{{ secret.NAME }}`), read from the environment or `secretsFile`, never logged.',
    ['APP_SECRET'],
  ),
  secretsFile: doc(
    z.string().min(1).optional(),
    'A dotenv-style file (`NAME=value` lines) that holds secret values, relative to this file and kept out of ' +
      'git (ignored, or outside the repository). Default: none (environment only).',
    'deploy.secrets.env',
  ),
  restart: doc(
    restartSchema.optional(),
    'How the app is restarted on a node after `current` moves. Not with `service`, which restarts it through ' +
      'the manager. Default: no restart.',
  ),
  stop: doc(
    restartSchema.optional(),
    'How the app is stopped on a node, run in the release it runs from. Undoing a node that had no release ' +
      'before runs it (and keeps the node out of the load balancer). Default: none (the node stays drained, ' +
      'and relink says what may still run there). Not with `service`, which stops it through the manager.',
  ),
  service: doc(
    serviceSchema.optional(),
    'The app as a service of a process manager the nodes have (systemd, or start-stop-daemon and cron): ' +
      'relink installs it, restarts it after `current` moves, stops it where it undoes a first deploy, and ' +
      '`deploy status` shows its state; it starts again when the node boots. It replaces `restart` and ' +
      '`stop` (setting both is refused). Default: none.',
    { manager: 'systemd', unit: 'shop', start: 'exec node server.js' },
  ),
  smoke: doc(
    smokeSchema.optional(),
    'How a node proves the new release works. Default: no smoke test (a release is good once it is activated).',
    { url: 'http://{{ node.address }}:{{ host.appPort }}/health', expectBody: '"version":"{{ version }}"' },
  ),
  rollout: doc(rolloutSchema.prefault({}), 'How nodes are switched over.'),
  analysis: doc(
    analysisSchema.optional(),
    'The release judged by its metrics in Prometheus after the canary (the pre node when it takes traffic, ' +
      'else the first group) is switched, while the rest waits; a failed analysis rolls back (docs/analysis.md). ' +
      'Default: none.',
  ),
  lock: doc(lockSchema.prefault({}), 'The remote deploy lock.'),
  logs: doc(logsSchema.prefault({}), "Where `deploy logs` finds the app's logs on a node."),
  stats: doc(statsSchema.prefault({}), "How `deploy stats` reckons DORA's four keys."),
  ssh: doc(sshSchema.prefault({}), 'How nodes are reached.'),
  approvals: doc(
    approvalsSchema.optional(),
    'A deploy here needs a second person: `deploy request` (or the dashboard) asks, someone of `from` approves it ' +
      'on the dashboard, then the deploy of that exact commit goes out ' +
      '(docs/release-process.md#approvals-two-people-for-prod). ' +
      'Default: none (no approval needed).',
    { required: 1, from: ['ops'], expiresAfter: '4h' },
  ),
};

export const environmentSchema = z.strictObject({
  ...settings,
  people: doc(
    environmentPeopleSchema.optional(),
    "This environment's owner, approvers and on-call, each one given replacing the top level's. Default: none.",
    { owner: 'ana', approvers: ['ops'] },
  ),
});

export const scheduleEntrySchema = z.strictObject({
  name: doc(
    z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/)
      .optional(),
    'Name for `--run-once` and the logs. Default: `<env>-<n>`, n its place in the list from 1.',
    'prod-weekly',
  ),
  env: doc(z.string().min(1), 'The environment it releases to (a hosts/<env>.yaml file).', 'prod'),
  cron: doc(cron, 'Cron expression (5 fields, or 6 with seconds), e.g. `0 17 * * 2,4`.', '0 17 * * 2,4'),
  version: doc(
    z.string().min(1),
    'What it releases: `latest` (the highest version tag that is not a pre-release), a tag that exists (itself), ' +
      'a semver range such as `*`, `>=1`, `^3` or `~1.2` (the highest version tag inside it; pre-releases only ' +
      'when the range names one), or `promote:pre` (the version every pre node runs and proved good). A version ' +
      'tag is an optional `v` and one to three numbers, the missing ones 0 (`v1` is 1.0.0, `v1.2` is 1.2.0), ' +
      'maybe with a pre-release part (`v2.0.0-rc.1`); other tags are never picked by `latest` or a range. Of ' +
      'two tags of one version (`v1`, `v1.0.0`) the one with more numbers written wins, then byte order.',
    'latest',
  ),
  timezone: doc(
    timezone.optional(),
    "Time zone of the cron expression. Default: the environment's `timezone`.",
    'Europe/Berlin',
  ),
  announce: doc(
    parsed(parseAhead).optional(),
    'Announce each release of this entry that long before it fires (`24h`, `90m`, `2d`): its plan is recorded ' +
      'and sent through `notify` by `deploy schedule`, as `deploy announce` does. Default: no announcement.',
    '24h',
  ),
});

export const configSchema = z.strictObject({
  project: doc(
    name,
    'Project name: the first part of every release name. Letters, digits, `.` and `-`, starting with a letter ' +
      'or digit.',
    'shop',
  ),
  repo: doc(
    z.string().min(1),
    'Git repository of the application: a local path (relative to this file) or a URL.',
    'git@git.example.com:acme/shop.git',
  ),
  ...settings,
  people: doc(
    peopleSchema.optional(),
    'Who a release plan names: groups of dashboard users, the owner, approvers and on-call (per environment ' +
      'in `environments.<env>.people`). Default: none.',
    { groups: { ops: ['ana', 'bob'] }, owner: 'ana', approvers: ['ops'], onCall: ['bob'] },
  ),
  environments: doc(
    z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and "-"'), environmentSchema).optional(),
    'Settings that differ per environment (`dev`, `test`, `pre`, `prod`, ...), merged over the top level: ' +
      '`build`, `smoke`, `rollout`, `ssh`, `restart`, `stop` and `service` key by key, `hooks` point by point, ' +
      '`vars` name by name, `secrets` added to; every other setting replaces the top-level one. Default: none.',
    { dev: { deployTo: '/srv/shop-dev', requireTag: false }, prod: { keepReleases: 10 } },
  ),
  schedule: doc(z.array(scheduleEntrySchema).optional(), 'Releases `deploy schedule` makes on its own. Default: none.'),
});
