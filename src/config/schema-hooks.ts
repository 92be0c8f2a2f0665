// The hooks of deploy.config.ts: named points of a run that users attach commands to (docs/hooks.md). Each
// point has its own list of hooks, where they may run and where they run by default.
import { z } from 'zod';
import { doc } from './schema-parts.js';
import { ms } from './schema-settings.js';

/** Where a hook runs: on the deploy machine, on every node of the run, or once per run on one node. */
export const HOOK_PLACES = ['local', 'each', 'once'] as const;
export type HookPlace = (typeof HOOK_PLACES)[number];

/** Every hook point, in the order a run reaches them, with where its hooks may run (the first: the default). */
export const HOOK_POINTS = {
  beforeBuild: { places: ['local'], when: 'before the build starts (every deploy, a cached build too)' },
  afterBuild: { places: ['local'], when: 'once the artifact is built and inspected' },
  afterDistribute: { places: ['each', 'once', 'local'], when: 'once the release is unpacked on every node' },
  beforeSwitch: {
    places: ['once', 'each', 'local'],
    when: 'after afterDistribute, before any node switches (migrations, a backup)',
  },
  afterSwitch: {
    places: ['each'],
    when: 'on each node after its `current` moved and its restart, before its smoke test; in rollbacks too',
  },
  afterRollout: { places: ['local', 'once', 'each'], when: 'once every node of a deploy passed' },
  onFailure: { places: ['local', 'once', 'each'], when: 'when a deploy or rollback that held its locks failed' },
  beforeRollback: { places: ['local', 'once', 'each'], when: 'before a rollback moves any node' },
  afterRollback: { places: ['local', 'once', 'each'], when: 'once every node of a rollback moved' },
} as const satisfies Record<string, { places: readonly [HookPlace, ...HookPlace[]]; when: string }>;

export type HookPoint = keyof typeof HOOK_POINTS;

/** One hook, its defaults filled in and its name set (its label in the plan, the report and the journal). */
export interface ResolvedHook {
  readonly command: string;
  readonly on: HookPlace;
  readonly node?: string;
  readonly name: string;
  readonly timeoutMs: number;
  readonly emergency: boolean;
}

export type ResolvedHooks = { readonly [P in HookPoint]: readonly ResolvedHook[] };

/** The default time limit of a hook, in ms. */
export const HOOK_TIMEOUT_MS = 300_000;

const hookSchema = z.strictObject({
  command: doc(
    z.string().min(1),
    'Shell command, with RELINK_* variables set: on a node in the release directory, on the deploy machine ' +
      'in the project directory.',
    'npm run migrate',
  ),
  on: doc(
    z.enum(HOOK_PLACES).optional(),
    '`local`: on the deploy machine; `each`: on every node of the run; `once`: once per run, on `node`. ' +
      'beforeBuild and afterBuild run only `local`, afterSwitch only `each`. Default: `once` for beforeSwitch, ' +
      '`each` for afterDistribute and afterSwitch, `local` for the others. `each` and `once` hooks are kept in ' +
      'every release: a rollback runs those its target release kept.',
    'once',
  ),
  node: doc(
    z.string().min(1).optional(),
    'With `on: once`: the node it runs on, one of the run. Default: the pre node (without one in the run, ' +
      "the run's first node).",
    'db1',
  ),
  name: doc(
    z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/)
      .optional(),
    'Its name in the plan, the report and the journal. Default: the point, with `#n` when it has several.',
    'migrate',
  ),
  timeoutMs: ms(HOOK_TIMEOUT_MS, 'Time limit in ms; past it the hook counts as failed.', 900000),
  emergency: doc(
    z.boolean().default(false),
    'Also run in an emergency rollback (which runs only hooks marked so).',
    true,
  ),
});

const point = (name: HookPoint, example: string, more: object = {}) =>
  doc(z.array(hookSchema).optional(), `Runs ${HOOK_POINTS[name].when}.`, [{ command: example, ...more }]);

export const hooksSchema = z.strictObject({
  beforeBuild: point('beforeBuild', 'npm run lint'),
  afterBuild: point('afterBuild', 'sha256sum "$RELINK_ARTIFACT" >> artifacts.log'),
  afterDistribute: point('afterDistribute', 'test -f package.json'),
  beforeSwitch: point('beforeSwitch', 'npm run migrate', { name: 'migrate' }),
  afterSwitch: point('afterSwitch', 'sudo systemctl reload php8.2-fpm', { name: 'opcache' }),
  afterRollout: point('afterRollout', './bin/chat "$RELINK_ENV: $RELINK_VERSION is out"', { name: 'chat' }),
  onFailure: point('onFailure', './bin/chat "$RELINK_ENV: $RELINK_ERROR"', { name: 'alarm' }),
  beforeRollback: point('beforeRollback', 'npm run migrate:down', { on: 'once', emergency: true }),
  afterRollback: point('afterRollback', './bin/chat "$RELINK_ENV rolled back to $RELINK_VERSION"'),
});
