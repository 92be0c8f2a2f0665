// The pieces several `--json` shapes share: the describing helpers, a poison record, a lock owner, a run
// of the journal and the stats of an environment. Enumerations are taken from the code that defines them.
import { z } from 'zod';
import { RUN_RESULTS } from '../../journal/events.js';

/** A schema with its description (the reference prints it as a comment). */
export const d = <T extends z.ZodType>(schema: T, description: string): T => schema.meta({ description });
export const opt = <T extends z.ZodType>(schema: T, description: string) => d(schema.optional(), description);
export const str = z.string();
export const iso = d(z.string(), 'ISO 8601 time, UTC');

export const releaseStatus = z.enum([
  'unpacked',
  'activated',
  'good',
  'failed',
  'bad',
  'interrupted',
  'removed',
  'unknown',
]);
export const runResult = z.enum(RUN_RESULTS);

export const poisonRecord = z.strictObject({
  id: d(str, 'record id, e.g. `p-501f1799`'),
  commit: d(str, 'the commit that brought the bug in'),
  comment: str,
  ticket: opt(str, 'from --ticket'),
  who: str,
  when: iso,
  cures: d(z.array(z.strictObject({ commit: str, who: str, when: iso })), 'fix commits recorded by `deploy cure`'),
});

export const lockOwner = z.strictObject({
  run: str,
  kind: d(z.enum(['run', 'freeze']), '`freeze` for `deploy lock -m`'),
  user: str,
  host: str,
  pid: z.number(),
  machine: opt(str, "the id of the machine its pid runs on; absent in older relink's records"),
  command: str,
  version: opt(str, 'of a deploy'),
  message: opt(str, 'of a freeze'),
  since: iso,
  heartbeat: iso,
});

const branchAt = z.strictObject({ name: str, commit: d(str, 'the commit the merge took') });

/** One run as the nodes' journals tell it (`deploy history --json`, the dashboard's runs of an environment). */
export const runRecord = z.strictObject({
  run: d(str, 'run id'),
  env: str,
  ts: d(iso, 'when the run finished'),
  user: str,
  command: d(str, 'the command line, e.g. `deploy prod v1.1.0`'),
  kind: z.enum(['deploy', 'rollback', 'emergency-rollback']),
  version: z.string().optional(),
  release: z.string().optional(),
  commit: opt(str, 'the commit of that release'),
  result: d(runResult, '`partial`: a success that set nodes aside within rollout.maxFailures'),
  ms: d(z.number(), 'duration'),
  nodes: d(z.array(str), 'nodes whose journal has the run'),
  reason: opt(str, '--reason'),
  allowedPoisons: opt(z.array(str), 'poison ids released (or rolled back onto) anyway with --allow-poison'),
  landedOnPoisons: opt(z.array(str), 'poison ids an emergency rollback landed on'),
  emergency: opt(z.boolean(), 'a deploy outside the windows with --emergency'),
  analysisSkipped: opt(z.boolean(), 'a deploy released without its analysis (--skip-analysis)'),
  merged: opt(
    z.strictObject({
      base: branchAt,
      branches: d(z.array(branchAt), 'in the order they were merged'),
    }),
    '`deploy --branches`: the base and each branch merged onto it, with its commit',
  ),
  requester: opt(str, 'who asked for the deploy (environments with approvals)'),
  approver: opt(str, 'who approved it (a schedule: `schedule:<name>` with its standing approval)'),
  review: opt(str, 'an emergency release past the approvals: its review after the fact'),
});

const doraKey = (what: string, unit: string) =>
  d(
    z.strictObject({
      value: d(z.number().nullable(), `${what}; null with nothing to measure`),
      unit: z.literal(unit),
      band: d(z.enum(['elite', 'high', 'medium', 'low']).nullable(), "DORA's band (docs/metrics.md)"),
    }),
    what,
  );

/** DORA's four keys of one environment, under the names the field uses. */
export const dora = z.strictObject({
  deployment_frequency: doraKey('successful deploys per day over the window', 'deploys/day'),
  lead_time_for_changes: doraKey('median, from the first commit of a release to its deploy', 'hours'),
  change_failure_rate: doraKey('deploys that failed or were rolled back within stats.changeFailureWindowMs', 'ratio'),
  time_to_restore_service: doraKey('median, from a change failure to the next release that went out', 'hours'),
});

export const stats = z.strictObject({
  deploys: z.number(),
  successes: z.number(),
  partial: d(z.number(), 'successes that set nodes aside within rollout.maxFailures'),
  failures: z.number(),
  interrupted: d(z.number(), 'deploys stopped by the operator: neither success nor failure'),
  rollbacks: z.number(),
  rollbacksNormal: z.number(),
  rollbacksEmergency: z.number(),
  rollbacksFailed: z.number(),
  successRate: d(z.number().nullable(), '0..1 over deploys that ran to an end; null with none'),
  medianMs: d(z.number().nullable(), 'of deploy runs'),
  p95Ms: z.number().nullable(),
  mttrMs: d(z.number().nullable(), 'mean time from a failed deploy to the next successful run'),
  lastSuccess: iso.nullable(),
  lastFailure: iso.nullable(),
  poisonOverrides: d(z.number(), 'deploys and rollbacks with --allow-poison'),
  emergencyReleases: d(z.number(), 'deploys with --emergency outside the windows'),
  analysisSkips: d(z.number(), 'deploys released without their analysis (--skip-analysis)'),
  dora: opt(dora, "DORA's four keys: `deploy stats` gives them per environment (not in `total`)"),
});

export const unreachableNode = z.strictObject({ node: str, reachable: z.literal(false), error: str });
