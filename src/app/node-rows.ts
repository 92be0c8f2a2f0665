// One node's row in `deploy status`, `deploy releases` and `deploy lock status` (their --json and the
// dashboard's views of them), from what observe() read. `down` is why the node did not answer.
import { describeOwner, lockHealth, parseOwner } from '../gates/lock.js';
import type { NodeSpec } from '../inventory/types.js';
import { releaseRecords } from '../journal/releases.js';
import { releaseRows } from '../journal/view.js';
import { type RunContext, state } from '../pipeline/context.js';
import { smokeAttempt } from '../pipeline/rollout/activate.js';
import { readService } from '../pipeline/rollout/service.js';
import { settingsOf } from '../pipeline/shared/release-settings.js';
import type { LocksJson, ReleasesJson, StatusRow } from './shapes.js';
import { sharedWarnings } from './shared-rows.js';

/** One node in `deploy status <env> --json`: why it did not answer, or what it runs and its health. */
export type { StatusRow };
/** One node in `deploy releases <env> --json`. */
export type ReleasesRow = ReleasesJson['nodes'][number];
/** One node in `deploy lock status <env> --json`. */
export type LockRow = LocksJson['nodes'][number];

/**
 * The current release with its version, commit and since, its health (the smoke test, and with `service` the
 * manager's word that the app runs), the service's state and the lock.
 */
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
  const { smoke, service: spec } = s.current ? settingsOf(ctx, node, s.current) : ctx.config;
  const smoked = !s.current ? 'nothing deployed' : smoke ? await smokeAttempt(ctx, node, facts) : '';
  const service = spec ? await readService(ctx, node, spec) : undefined;
  const stopped = service && !service.running && s.current ? `service ${spec!.unit}: ${service.text}` : '';
  const problem = [smoked, stopped].filter(Boolean).join('; ');
  // What the probe could not read is left out: status still shows the rest.
  const shared = s.current ? await sharedWarnings(ctx, node, s.current).catch(() => []) : [];
  return {
    node: node.name,
    reachable: true,
    current: s.current,
    version: record?.version,
    commit: record?.commit,
    since: record?.ts,
    unrecorded: Boolean(s.current && !record),
    healthy: problem === '',
    health: problem || (smoke ? 'ok' : 'ok (no smoke test configured)'),
    service: service?.text,
    lock: s.lock ? describeOwner(s.lock, now, ctx.config.lock.ttlMs) : undefined,
    ...(shared.length ? { shared } : {}),
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
