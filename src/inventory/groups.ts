import { UsageError } from '../errors.js';
import type { NodeSpec } from './types.js';

/** `3` -> 3 nodes; `"25%"` -> a quarter of the serving nodes, at least one. */
export function groupCount(size: number | string, total: number): number {
  if (typeof size === 'number') return Math.max(1, Math.min(size, total || 1));
  const percent = Number(size.slice(0, -1));
  if (!(percent > 0 && percent <= 100)) throw new UsageError(`groupSize "${size}" must be between 1% and 100%`);
  return Math.max(1, Math.ceil((total * percent) / 100));
}

/**
 * The order nodes are switched in: the `pre` node alone first, then the other
 * nodes in inventory order, in batches of `groupSize`.
 */
export function rolloutGroups(
  hosts: readonly NodeSpec[],
  pre: string | undefined,
  size: number | string,
): NodeSpec[][] {
  const preNode = pre ? hosts.find((h) => h.name === pre) : undefined;
  const rest = hosts.filter((h) => h !== preNode);
  const per = groupCount(size, rest.length);
  const groups: NodeSpec[][] = preNode ? [[preNode]] : [];
  for (let i = 0; i < rest.length; i += per) groups.push(rest.slice(i, i + per));
  return groups;
}

/** Narrows the nodes to the given names (`--node a,b`), refusing unknown names. */
export function filterNodes(hosts: readonly NodeSpec[], names: readonly string[] | undefined): NodeSpec[] {
  if (!names || names.length === 0) return [...hosts];
  const unknown = names.filter((n) => !hosts.some((h) => h.name === n));
  if (unknown.length) {
    throw new UsageError(`unknown node${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      hint: `nodes of this environment: ${hosts.map((h) => h.name).join(', ')}`,
    });
  }
  return hosts.filter((h) => names.includes(h.name));
}
