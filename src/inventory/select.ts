import { UsageError } from '../errors.js';
import { filterNodes, rolloutGroups } from './groups.js';
import type { Inventory, NodeSpec } from './types.js';

/** Which nodes a command works on: each list is a choice among its kind; given together, a node must match all. */
export interface NodeSelection {
  /** Node names (`--node`). */
  readonly nodes?: readonly string[];
  /** Roles (`--role`): a node with any of them. */
  readonly roles?: readonly string[];
  /** Rollout groups, from 1 (`--group`): the groups `groupSize` cuts the nodes into, the pre node alone first. */
  readonly groups?: readonly number[];
}

const plural = (n: number, word: string) => `${word}${n === 1 ? '' : 's'}`;

/**
 * The nodes of the inventory a selection names, in inventory order; every node when it names none.
 * An unknown node, role or group, or a selection no node matches, is bad input (exit 2) that lists what
 * there is.
 */
export function selectNodes(
  inventory: Pick<Inventory, 'hosts' | 'pre' | 'groupSize'>,
  selection: NodeSelection,
): NodeSpec[] {
  const hosts = inventory.hosts as readonly NodeSpec[];
  let chosen = filterNodes(hosts, selection.nodes);
  const roles = selection.roles ?? [];
  if (roles.length) {
    const known = [...new Set(hosts.flatMap((h) => h.roles))];
    const unknown = roles.filter((r) => !known.includes(r));
    if (unknown.length) {
      throw new UsageError(`unknown ${plural(unknown.length, 'role')}: ${unknown.join(', ')}`, {
        hint: known.length
          ? `roles of this environment: ${known.join(', ')}`
          : 'no node of this environment has a role (`roles:` of a host in its inventory)',
      });
    }
    chosen = chosen.filter((h) => h.roles.some((r) => roles.includes(r)));
  }
  const wanted = selection.groups ?? [];
  if (wanted.length) {
    const groups = rolloutGroups(hosts, inventory.pre, inventory.groupSize);
    const listing = groups.map((g, i) => `${i + 1}: ${g.map((n) => n.name).join(', ')}`).join('; ');
    const unknown = wanted.filter((g) => !(Number.isInteger(g) && g >= 1 && g <= groups.length));
    if (unknown.length) {
      throw new UsageError(`no ${plural(unknown.length, 'group')} ${unknown.join(', ')}`, {
        hint: `the groups of this environment, pre node first: ${listing}`,
      });
    }
    const names = new Set(wanted.flatMap((g) => groups[g - 1]!.map((n) => n.name)));
    chosen = chosen.filter((h) => names.has(h.name));
  }
  if (chosen.length === 0) {
    const listing = hosts.map((h) => h.name + (h.roles.length ? ` (${h.roles.join(', ')})` : '')).join(', ');
    throw new UsageError('no node matches all of --node, --role and --group together', {
      hint: `nodes of this environment: ${listing}`,
    });
  }
  return chosen;
}
