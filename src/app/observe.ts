import type { ResolvedConfig } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { filterNodes } from '../inventory/groups.js';
import type { Inventory, NodeSpec } from '../inventory/types.js';
import { makeContext, type RunContext, type RunDeps } from '../pipeline/context.js';
import { closeAll, connectEach, inspectAll } from '../pipeline/phases/preflight.js';

export interface Observation {
  readonly ctx: RunContext;
  readonly nodes: NodeSpec[];
  /** Nodes that could not be reached, with the reason. */
  readonly unreachable: Map<string, string>;
  close(): Promise<void>;
}

/** Connects to the nodes it can and reads their state; for the read-only commands. */
export async function observe(
  config: ResolvedConfig,
  inventory: Inventory,
  user: string,
  runId: string,
  deps: RunDeps,
  only?: readonly string[],
  inspect = true,
): Promise<Observation> {
  const nodes = filterNodes(inventory.hosts, only);
  const ctx = makeContext({ runId, command: 'observe', config, inventory, user, deps });
  const failures = await connectEach(ctx, nodes);
  if (inspect)
    await inspectAll(
      ctx,
      nodes.filter((n) => ctx.sessions.has(n.name)),
    );
  return {
    ctx,
    nodes,
    unreachable: new Map(failures.map((f) => [f.node.name, errorMessage(f.error).split('\n')[0]!])),
    close: () => closeAll(ctx),
  };
}
