import type { NodeSpec } from '../../inventory/types.js';

/**
 * The rules of a rolling rollout whose groups overlap, kept free of any I/O.
 *
 * A group goes: drain, switch (relink and restart), smoke test, back into the pool. The next group may be
 * drained while this one is smoke-tested and put back, when the load balancer still has `minServing` nodes
 * serving without both; its own switch still waits until every node of this one passed its smoke test, so a
 * bad release never reaches two groups. A group marked as a boundary (the pre node's, a stage that holds the
 * rollout) is wholly back in the pool before the next one is touched.
 */

/**
 * Whether draining nodes now keeps enough serving: `after` nodes would still serve, of `now` serving; `min`
 * is `lb.minServing`. Draining nodes that serve nothing (a cold start, a node already down) shrinks nothing.
 */
export function leavesEnough(after: number, now: number, min: number): boolean {
  return after >= min || after >= now;
}

/**
 * Whether the rollout holds after group `index` until it is back in the pool: after the pre node's group
 * (it must fully pass before any other group starts), and after any group `marked` names (a stage that is a
 * real wait). The last group has nothing after it.
 */
export function isBoundary(
  groups: readonly (readonly NodeSpec[])[],
  index: number,
  pre: string | undefined,
  marked?: (index: number, group: readonly NodeSpec[]) => boolean,
): boolean {
  const group = groups[index];
  if (!group || index >= groups.length - 1) return true;
  return group.some((n) => n.name === pre) || Boolean(marked?.(index, group));
}

/** The line a group starts with: `group 3/4: node3`, and when it drains early why that is safe to see. */
export function groupLine(index: number, count: number, group: readonly NodeSpec[], overlaps?: boolean): string {
  const names = group.map((n) => n.name).join(', ');
  const early = overlaps ? ` (drain overlaps group ${index}'s smoke test and undrain)` : '';
  return `group ${index + 1}/${count}: ${names}${early}`;
}

/**
 * Calls `then` once every one of `count` nodes has reached its smoke test. A node that failed before never
 * arrives, so the gate never opens for a group with a failure.
 */
export function gate(count: number, then: () => void): () => void {
  let arrived = 0;
  return () => {
    arrived++;
    if (arrived === count) then();
  };
}
