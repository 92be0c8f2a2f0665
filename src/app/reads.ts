// What an observed environment's nodes say, as the rows of `status`, `releases` and `lock status`
// (their --json and the dashboard's views): written once for both doors.
import { drift } from '../journal/view.js';
import { state } from '../pipeline/context.js';
import { findRetry } from '../pipeline/phases/retry.js';
import { readOwnSettings } from '../pipeline/shared/release-settings.js';
import { lockRow, releasesRow, statusRow } from './node-rows.js';
import type { Observation } from './observe.js';

export { formatAge } from '../journal/view.js';
export { observeEnv, withObserved } from './observed.js';

/** Per node: what it runs and its health; `groups` maps each release (or releases of one commit) to its nodes. */
export async function statusOf(seen: Observation, now: Date) {
  // Each node's health is its current release's own smoke test (the settings it kept).
  const up = seen.nodes.filter((n) => !seen.unreachable.has(n.name));
  const serving = up.flatMap((node) => {
    const release = state(seen.ctx, node).current;
    return release ? [{ node, release, standby: true }] : [];
  });
  await readOwnSettings(seen.ctx, serving, { quiet: true });
  const rows = await Promise.all(
    seen.nodes.map((node) => statusRow(seen.ctx, node, seen.unreachable.get(node.name), now)),
  );
  const running = rows.flatMap((r) => (r.reachable ? [{ node: r.node, current: r.current, commit: r.commit }] : []));
  const groups = drift(running);
  return { rows, groups, drift: groups.size > 1 };
}

/** The nodes the last partial deploy set aside and that are not back on its release, if any. */
export function setAsideOf(seen: Observation) {
  const reachable = seen.nodes.filter((n) => !seen.unreachable.has(n.name));
  const pending = findRetry(new Map(reachable.map((n) => [n.name, seen.ctx.states.get(n.name)?.events ?? []])));
  return pending?.nodes.length ? pending : undefined;
}

export function releasesOf(seen: Observation, now: Date) {
  return seen.nodes.map((node) => releasesRow(seen.ctx, node, seen.unreachable.get(node.name), now));
}

export function locksOf(seen: Observation, now: Date) {
  return seen.nodes.map((node) => lockRow(seen.ctx, node, seen.unreachable.get(node.name), now));
}

/** The journals of the reachable nodes. */
export function journalsOf(seen: Observation) {
  return seen.nodes.filter((n) => !seen.unreachable.has(n.name)).map((n) => state(seen.ctx, n).events);
}
