// What the nodes of one environment say now: `deploy status`, `releases`, `lock status` and `doctor`.
import { z } from 'zod';
import { d, iso, lockOwner, opt, releaseStatus, str, unreachableNode } from './common.js';

export const statusRow = z.union([
  z.strictObject({
    node: str,
    reachable: z.literal(true),
    current: opt(str, 'release `current` points at'),
    version: opt(str, 'from the journal'),
    commit: opt(str, 'from the journal'),
    since: opt(iso, 'when it was activated'),
    unrecorded: d(z.boolean(), '`current` names a release the journal does not know (moved by hand)'),
    healthy: z.boolean(),
    health: d(str, '`ok`, or what the smoke test (and with `service`, the process manager) found'),
    service: opt(str, 'with `service`: what the process manager says of the app (running, pid, started at boot)'),
    lock: opt(str, 'who holds the deploy lock, in words'),
    shared: opt(
      z.array(str),
      'shared links of the running release that became a file or dir, in words (the next deploy refuses)',
    ),
  }),
  unreachableNode.extend({ healthy: z.literal(false) }),
]);

export const statusJson = z.strictObject({
  env: str,
  drift: d(z.boolean(), 'reachable nodes run different releases'),
  setAside: opt(
    z.strictObject({
      run: d(str, 'the deploy that set them aside (result `partial`)'),
      version: str,
      commit: opt(str, 'of the release'),
      release: str,
      nodes: d(z.array(str), 'set aside and not brought up to `release` since'),
      retry: d(str, 'the command that brings them up: `deploy <env> <version> --retry-failed`'),
    }),
    'nodes the newest partial deploy set aside (rollout.maxFailures)',
  ),
  nodes: z.array(statusRow),
});

export const releaseRow = z.strictObject({
  name: d(str, 'the release directory'),
  status: releaseStatus,
  current: z.boolean(),
  version: z.string().optional(),
  commit: z.string().optional(),
  since: opt(iso, 'last activated (or unpacked, if never activated)'),
  ageSeconds: z.number().optional(),
  knownBugs: opt(
    z.array(str),
    'poison ids in the history of its commit without their fix (when the records were read)',
  ),
});

export const releasesJson = z.strictObject({
  env: str,
  deployTo: str,
  nodes: z.array(
    z.union([
      z.strictObject({
        node: str,
        current: opt(str, 'release `current` points at'),
        releases: d(z.array(releaseRow), 'every release on disk, newest activation first'),
      }),
      z.strictObject({ node: str, error: d(str, 'why the node was not reached'), releases: z.tuple([]) }),
    ]),
  ),
});

export const locksJson = z.strictObject({
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
});

export const doctorJson = z.strictObject({
  env: str,
  ok: d(z.boolean(), 'nothing blocks a release (exit 1 otherwise; 2 when a shared file is missing)'),
  checks: z.array(
    z.strictObject({
      node: d(str, 'a node, or `lb`'),
      check: d(
        str,
        '`ssh`, `deployTo`, `disk`, `tools`, `service`, `clock`, `lock`, `shared` (all in place), `shared file` (one ' +
          'missing), `shared link` (one of the running release became a file or dir), or the LB driver',
      ),
      ok: z.boolean(),
      blocks: d(z.boolean(), 'failed and blocks a release (a clock skew only warns)'),
      detail: str,
    }),
  ),
});
