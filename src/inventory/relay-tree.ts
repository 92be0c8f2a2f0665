/**
 * Who sends the release to whom in a relay: the first `seeds` nodes get it
 * from the deploy machine, then, breadth first and in inventory order, every
 * node that has it passes it on to the next `width` nodes that do not. The
 * plan and the run both read this one tree.
 */
export interface RelayTree {
  /** Nodes the deploy machine sends the release to. */
  readonly seeds: readonly string[];
  /** The node each other node receives the release from. */
  readonly parent: ReadonlyMap<string, string>;
  /** The nodes each node sends the release on to (absent: none). */
  readonly children: ReadonlyMap<string, readonly string[]>;
  /** Levels below the seeds: how many copies in a row the slowest branch waits for. */
  readonly depth: number;
}

export function relayTree(nodes: readonly string[], seeds: number, width: number): RelayTree {
  if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(width) || width < 1)
    throw new Error(`a relay needs at least one seed and a width of at least 1 (got ${seeds}, ${width})`);
  const top = nodes.slice(0, seeds);
  const parent = new Map<string, string>();
  const children = new Map<string, string[]>();
  const level = new Map<string, number>(top.map((n) => [n, 0]));
  const holders = [...top];
  let next = top.length;
  for (let h = 0; h < holders.length && next < nodes.length; h++) {
    const from = holders[h]!;
    const kids = nodes.slice(next, next + width);
    next += kids.length;
    children.set(from, kids);
    for (const kid of kids) {
      parent.set(kid, from);
      level.set(kid, level.get(from)! + 1);
      holders.push(kid);
    }
  }
  return { seeds: top, parent, children, depth: Math.max(0, ...level.values()) };
}

/** Whether a node takes part in node-to-node copies (and so needs the run's key or host keys). */
export function inRelay(tree: RelayTree, node: string): boolean {
  return tree.parent.has(node) || (tree.children.get(node)?.length ?? 0) > 0;
}
