// What the dashboard's JSON API (`deploy serve`, /api/...) answers beyond the CLI's shapes: its reads carry
// `readAt`, its actions answer with the run to follow, and every refusal is an `error`.
import { z } from 'zod';
import { VERBS } from '../../next.js';
import { d, iso, opt, runRecord, str } from './common.js';
import { statusRow } from './nodes.js';

/** Added to every read of one environment: when its nodes were read (a cache may answer). */
export const readAtField = { readAt: d(iso, 'when the nodes were read (the dashboard caches reads)') };

/** A command the hint names, as data (src/next.ts); the hint is its text as the CLI prints it. */
export const nextStepJson = z.strictObject({
  verb: d(
    z.enum(VERBS),
    '`deploy`, `rollback`, a verb of `deploy` (`lock-status` is `deploy lock status`), or `again`: the command ' +
      'just run, with these flags',
  ),
  env: z.string().optional(),
  args: opt(z.array(str), 'after the environment (a version, a run id); `<version>` is a blank to fill in'),
  flags: opt(z.record(str, z.union([str, z.literal(true), z.array(str)])), 'in order; `true` bare, a list repeated'),
});

export const apiError = z.strictObject({
  error: d(str, 'what went wrong, secrets redacted'),
  hint: opt(str, 'the next step'),
  next: opt(z.array(nextStepJson), 'the commands the hint names, as data'),
  exitCode: opt(z.number(), 'what the CLI would exit with (exit-codes.md)'),
  env: z.string().optional(),
  readAt: opt(iso, 'with an environment whose config or inventory does not load'),
});

export const localRun = z.strictObject({
  run: str,
  env: str,
  command: str,
  started: iso,
  live: d(z.boolean(), 'still going'),
  result: opt(str, 'from the report, or how the dashboard saw it end'),
  user: z.string().optional(),
  error: z.string().optional(),
});

export const runLine = z.strictObject({
  time: iso,
  kind: z.enum(['run', 'phase', 'step', 'info', 'warn']),
  step: z.string().optional(),
  node: z.string().optional(),
  status: z.enum(['start', 'ok', 'fail', 'skip']).optional(),
  ms: z.number().optional(),
  detail: z.string().optional(),
  message: z.string().optional(),
  phase: z.string().optional(),
  command: z.string().optional(),
  env: z.string().optional(),
});

export const runDetail = localRun.extend({
  lines: d(z.array(runLine), 'the run log so far, secrets redacted'),
  report: opt(str, 'the Markdown report, when the run wrote one on this machine'),
  fromWeb: d(z.boolean(), 'the dashboard started it (and so can stop it)'),
});

const releaseFacts = z.strictObject({ release: str, version: str, commit: str, branch: str });

export const rollbackJson = z.strictObject({
  env: str,
  last: d(
    z.array(
      z.strictObject({
        node: str,
        current: z.string().optional(),
        currentVersion: z.string().optional(),
        target: opt(releaseFacts, 'the release `rollback --last` would switch to'),
        problem: opt(str, 'why this node cannot be rolled back'),
        untouched: opt(z.boolean(), 'the newest run did not change this node: it stays'),
        knownBugs: opt(
          z.array(str),
          "poison ids in the target's history without their fix: a rollback there is refused",
        ),
      }),
    ),
    'what `rollback --last` would do per node',
  ),
  to: d(z.array(str), 'the versions `rollback --to` can reach on every reachable node'),
  ...readAtField,
});

export const environmentsJson = z.strictObject({ project: str, environments: z.array(str) });

export const overviewJson = z.strictObject({
  environments: z.array(
    z.strictObject({
      env: str,
      readAt: iso,
      error: opt(str, 'the config or inventory does not load'),
      window: str,
      drift: z.boolean(),
      nodes: d(z.array(statusRow), 'as in `deploy status <env> --json`'),
      lastRun: opt(runRecord, 'the newest run in the journals'),
    }),
  ),
  running: d(z.array(localRun), 'runs going on now'),
});

export const runsJson = z.strictObject({ runs: d(z.array(localRun), 'runs with a log on this machine, newest first') });
export const startedJson = z.strictObject({
  run: str,
  url: d(str, 'its page'),
  events: d(str, 'its event stream (text/event-stream)'),
});
export const frozenJson = z.strictObject({ env: str, run: d(str, 'the freeze, for `deploy unlock <env>`') });
export const unfrozenJson = z.strictObject({ env: str, unlocked: d(z.array(str), 'the nodes unlocked') });
export const stoppingJson = z.strictObject({ stopping: d(z.boolean(), 'false: not a run this dashboard started') });
