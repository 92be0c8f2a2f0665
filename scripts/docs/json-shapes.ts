// The `--json` output of every command that has one, as zod schemas: the reference renders them
// (docs/reference/json.md), and test/integration/json-output.test.ts parses each command's real output
// with them (strict objects: a field added or dropped in the code fails it until documented here).
import { z } from 'zod';

const d = <T extends z.ZodType>(schema: T, description: string): T => schema.meta({ description });
const str = z.string();
const iso = d(z.string(), 'ISO 8601 time, UTC');
const opt = <T extends z.ZodType>(schema: T, description: string) => d(schema.optional(), description);

const releaseStatus = z.enum(['unpacked', 'activated', 'good', 'failed', 'bad', 'interrupted', 'removed', 'unknown']);
const runResult = z.enum(['success', 'failed', 'rolled_back', 'halted', 'interrupted']);

export const poisonRecord = z.strictObject({
  id: d(str, 'record id, e.g. `p-501f1799`'),
  commit: d(str, 'the commit that brought the bug in'),
  comment: str,
  ticket: opt(str, 'from --ticket'),
  who: str,
  when: iso,
  cures: d(z.array(z.strictObject({ commit: str, who: str, when: iso })), 'fix commits recorded by `deploy cure`'),
});

const lockOwner = z.strictObject({
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

const stats = z.strictObject({
  deploys: z.number(),
  successes: z.number(),
  partial: z.number(),
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
  poisonOverrides: d(z.number(), 'deploys with --allow-poison'),
  emergencyReleases: d(z.number(), 'deploys with --emergency outside the windows'),
});

const unreachableNode = z.strictObject({ node: str, reachable: z.literal(false), error: str });

export interface Shape {
  readonly command: string;
  readonly schema: z.ZodType;
  readonly notes?: string;
}

export const shapes: readonly Shape[] = [
  {
    command: 'deploy status <env> --json',
    schema: z.strictObject({
      env: str,
      drift: d(z.boolean(), 'reachable nodes run different releases'),
      setAside: opt(
        z.strictObject({
          run: d(str, 'the deploy that set them aside (result `partial`)'),
          version: str,
          release: str,
          nodes: d(z.array(str), 'set aside and not brought up to `release` since'),
          retry: d(str, 'the command that brings them up: `deploy <env> <version> --retry-failed`'),
        }),
        'nodes the newest partial deploy set aside (rollout.maxFailures)',
      ),
      nodes: z.array(
        z.union([
          z.strictObject({
            node: str,
            reachable: z.literal(true),
            current: opt(str, 'release `current` points at'),
            version: opt(str, 'from the journal'),
            commit: opt(str, 'from the journal'),
            since: opt(iso, 'when it was activated'),
            unrecorded: d(z.boolean(), '`current` names a release the journal does not know (moved by hand)'),
            healthy: z.boolean(),
            health: d(str, '`ok`, or what the smoke test found'),
            lock: opt(str, 'who holds the deploy lock, in words'),
          }),
          unreachableNode.extend({ healthy: z.literal(false) }),
        ]),
      ),
    }),
  },
  {
    command: 'deploy releases <env> --json',
    schema: z.strictObject({
      env: str,
      deployTo: str,
      nodes: z.array(
        z.union([
          z.strictObject({
            node: str,
            current: opt(str, 'release `current` points at'),
            releases: d(
              z.array(
                z.strictObject({
                  name: d(str, 'the release directory'),
                  status: releaseStatus,
                  current: z.boolean(),
                  version: z.string().optional(),
                  commit: z.string().optional(),
                  since: opt(iso, 'last activated (or unpacked, if never activated)'),
                  ageSeconds: z.number().optional(),
                }),
              ),
              'every release on disk, newest activation first',
            ),
          }),
          z.strictObject({ node: str, error: d(str, 'why the node was not reached'), releases: z.tuple([]) }),
        ]),
      ),
    }),
  },
  {
    command: 'deploy plan <env> <version> --json',
    schema: z.strictObject({
      env: str,
      version: str,
      commit: str,
      branch: str,
      subject: d(str, "the commit's subject"),
      release: d(str, 'the release directory the deploy would create'),
      commits: d(z.array(z.strictObject({ sha: str, subject: str })), 'since what runs now'),
      bugfixes: d(
        z.array(z.strictObject({ id: str, comment: str, ticket: z.string().optional() })),
        'known bugs this release fixes since what runs now',
      ),
      openPoisons: d(
        z.array(z.strictObject({ id: str, commit: str, comment: str, ticket: z.string().optional(), who: str })),
        'known bugs in this release without their fix: the gate refuses unless each is allowed',
      ),
      window: d(str, 'where now stands against the release windows'),
      distribute: d(
        z.strictObject({
          mode: d(z.enum(['push', 'relay', 'pull']), 'rollout.fanout.mode'),
          detail: d(str, 'who sends the release to whom'),
          steps: d(z.array(z.strictObject({ step: str, detail: str })), 'run on this machine (relay key, publish)'),
        }),
        'how the release gets to the nodes',
      ),
      nodes: z.array(
        z.strictObject({
          node: str,
          group: d(z.number(), '0 is the pre group when there is a pre node'),
          pre: z.boolean(),
          current: z.string().optional(),
          currentVersion: z.string().optional(),
          steps: d(z.array(z.strictObject({ step: d(str, '`phase:step`'), detail: str })), 'in the order of the run'),
        }),
      ),
    }),
  },
  {
    command: 'deploy history <env> --json',
    schema: z.strictObject({
      env: str,
      runs: d(
        z.array(
          z.strictObject({
            run: d(str, 'run id'),
            env: str,
            ts: d(iso, 'when the run finished'),
            user: str,
            command: d(str, 'the command line, e.g. `deploy prod v1.1.0`'),
            kind: z.enum(['deploy', 'rollback', 'emergency-rollback']),
            version: z.string().optional(),
            release: z.string().optional(),
            result: runResult,
            ms: d(z.number(), 'duration'),
            nodes: d(z.array(str), 'nodes whose journal has the run'),
            reason: opt(str, '--reason'),
            allowedPoisons: opt(z.array(str), 'poison ids released anyway with --allow-poison'),
            emergency: opt(z.boolean(), 'a deploy outside the windows with --emergency'),
          }),
        ),
        'newest first, at most -n',
      ),
    }),
  },
  {
    command: 'deploy stats <env> --json',
    schema: z.strictObject({ since: d(str, 'the --since window, e.g. `30d`'), ...stats.shape }),
  },
  {
    command: 'deploy stats --json',
    schema: z.strictObject({
      since: str,
      total: d(stats, 'over every environment; its fields as in `deploy stats <env> --json`'),
      environments: d(z.record(str, stats), 'environment -> the same fields'),
    }),
  },
  { command: 'deploy poison list [--open] --json', schema: z.array(poisonRecord) },
  { command: 'deploy poison show <id> --json', schema: poisonRecord },
  {
    command: 'deploy check <rev> --json',
    schema: z.strictObject({
      rev: d(str, 'as given'),
      commit: d(str, 'what it resolves to'),
      healthy: d(z.boolean(), 'no open poison in its history (exit 3 otherwise)'),
      open: d(z.array(poisonRecord), 'poisons in its history without their fix'),
      cured: z.array(
        z.strictObject({ id: str, curedBy: str, how: z.enum(['commit', 'cherry-pick trailer', 'patch-id']) }),
      ),
    }),
  },
  {
    command: 'deploy impact <id> --json',
    schema: z.strictObject({
      id: str,
      poison: d(str, 'the commit that brought the bug in'),
      affected: d(
        z.array(z.strictObject({ env: str, node: str, release: str, version: z.string().optional(), commit: str })),
        'nodes whose current release has the bug without its fix',
      ),
      unreachable: z.array(z.strictObject({ env: str, node: str })),
    }),
  },
  {
    command: 'deploy doctor <env> --json',
    schema: z.strictObject({
      env: str,
      ok: d(z.boolean(), 'nothing blocks a release (exit 1 otherwise)'),
      checks: z.array(
        z.strictObject({
          node: d(str, 'a node, or `lb`'),
          check: d(str, '`ssh`, `deployTo`, `disk`, `tools`, `clock`, `lock`, or the LB driver'),
          ok: z.boolean(),
          blocks: d(z.boolean(), 'failed and blocks a release (a clock skew only warns)'),
          detail: str,
        }),
      ),
    }),
  },
  {
    command: 'deploy lock status <env> --json',
    schema: z.strictObject({
      env: str,
      nodes: z.array(
        z.union([
          z.strictObject({
            node: str,
            reachable: z.literal(true),
            locked: z.boolean(),
            owner: opt(lockOwner, 'the lock record, when it is readable'),
            stale: opt(z.boolean(), 'no heartbeat within lock.ttlMs'),
            deadPid: opt(z.boolean(), 'its process is gone (checked on the machine with its machine id only)'),
            heartbeatAgeMs: z.number().optional(),
            text: d(str, '`free`, or the owner in words'),
          }),
          unreachableNode,
        ]),
      ),
    }),
  },
];
