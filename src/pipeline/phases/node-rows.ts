// One node's row in `deploy status`, `deploy releases` and `deploy lock status` (their --json and the
// dashboard's views of them), from what observe() read. `down` is why the node did not answer.
import { describeOwner, type LockOwner, lockHealth, parseOwner } from '../../gates/lock.js';
import type { NodeSpec } from '../../inventory/types.js';
import { releaseRecords } from '../../journal/releases.js';
import { type ReleaseRow, releaseRows } from '../../journal/view.js';
import { type RunContext, state } from '../context.js';
import { smokeAttempt } from '../rollout/activate.js';

interface StatusFields {
  readonly node: string;
  readonly error?: string;
  readonly current?: string;
  readonly version?: string;
  readonly commit?: string;
  readonly since?: string;
  /** The journal does not know this release: `current` was moved by hand. */
  readonly unrecorded?: boolean;
  readonly healthy: boolean;
  readonly health?: string;
  readonly lock?: string;
}

/** One node in `deploy status <env> --json`: why it did not answer, or what it runs and its health. */
export type StatusRow =
  | (StatusFields & { readonly reachable: false; readonly error: string; readonly healthy: false })
  | (StatusFields & { readonly reachable: true; readonly health: string });

/** One node in `deploy releases <env> --json`. */
export interface ReleasesRow {
  readonly node: string;
  readonly current?: string;
  readonly error?: string;
  readonly releases: readonly ReleaseRow[];
}

/** One node in `deploy lock status <env> --json`. */
export interface LockRow {
  readonly node: string;
  readonly reachable: boolean;
  readonly error?: string;
  readonly locked?: boolean;
  readonly owner?: LockOwner;
  readonly stale?: boolean;
  readonly deadPid?: boolean;
  readonly heartbeatAgeMs?: number;
  readonly text?: string;
}

/** The current release with its version, commit and since, its health (the smoke test) and the lock. */
export async function statusRow(
  ctx: RunContext,
  node: NodeSpec,
  down: string | undefined,
  now: Date,
): Promise<StatusRow> {
  if (down) return { node: node.name, reachable: false, error: down, healthy: false };
  const s = state(ctx, node);
  const record = s.current ? releaseRecords(s.events).get(s.current) : undefined;
  const facts = {
    release: s.current ?? '',
    version: record?.version ?? 'unknown',
    commit: record?.commit ?? 'unknown',
    branch: '',
  };
  const problem = !s.current ? 'nothing deployed' : ctx.config.smoke ? await smokeAttempt(ctx, node, facts) : '';
  return {
    node: node.name,
    reachable: true,
    current: s.current,
    version: record?.version,
    commit: record?.commit,
    since: record?.ts,
    unrecorded: Boolean(s.current && !record),
    healthy: problem === '',
    health: problem || (ctx.config.smoke ? 'ok' : 'ok (no smoke test configured)'),
    lock: s.lock ? describeOwner(s.lock, now, ctx.config.lock.ttlMs) : undefined,
  };
}

/** Every release on the node's disk, with what its journal says of each. */
export function releasesRow(ctx: RunContext, node: NodeSpec, down: string | undefined, now: Date): ReleasesRow {
  if (down) return { node: node.name, error: down, releases: [] };
  const s = state(ctx, node);
  return { node: node.name, current: s.current, releases: releaseRows(s.events, s.onDisk, s.current, now) };
}

/** Who holds the node's deploy lock, since when, and whether its heartbeat or its process died. */
export function lockRow(ctx: RunContext, node: NodeSpec, down: string | undefined, now: Date): LockRow {
  if (down) return { node: node.name, reachable: false, error: down };
  const raw = state(ctx, node).lock;
  const owner = parseOwner(raw);
  return {
    node: node.name,
    reachable: true,
    locked: Boolean(raw),
    owner,
    ...(owner ? lockHealth(owner, now, ctx.config.lock.ttlMs) : {}),
    text: raw ? describeOwner(raw, now, ctx.config.lock.ttlMs) : 'free',
  };
}
