import type { NodeSpec } from '../../inventory/types.js';
import type { ReleaseFacts } from '../../template/scope.js';
import type { EventFields } from '../shared/record.js';

/** Where one node goes in a rollout: a release, or (undoing a first deploy) no release at all. */
export interface Move {
  /** The release to link as `current`; absent: remove `current` (the node had nothing before). */
  readonly to?: ReleaseFacts;
  /** The journal event of the switch. */
  readonly event: 'activated' | 'rolled_back';
  /** Extra journal fields of that event (from, reason, emergency). */
  readonly fields?: EventFields;
  /** With no `to`: the release the node leaves, whose app is stopped there (the `stop` setting). */
  readonly leaving?: ReleaseFacts;
}

/**
 * How a rollout switches its nodes. A deploy drains, smoke-tests and stops at
 * the first failing group; undoing a failed deploy goes on past failures; an
 * emergency rollback switches every node at once with neither drain nor smoke.
 */
export interface RolloutPolicy {
  /** The phase part of every step name: `rollout:relink`, `rollback:smoke`, `emergency:restart`. */
  readonly phase: 'rollout' | 'rollback' | 'emergency';
  /** Take each group out of the load balancer before it switches, and put it back after. */
  readonly drain: boolean;
  /** When the load balancer cannot drain a group: switch it anyway, with a warning (undoing a failed deploy). */
  readonly switchUndrained?: boolean;
  /** Smoke-test each node after its restart; it counts as good only then. */
  readonly smoke: boolean;
  /** Go on with the other groups after a failure (and report every failure), instead of stopping. */
  readonly continueOnFailure: boolean;
  /** Stop between steps when the run is interrupted (a deploy); a rollback always finishes what it started. */
  readonly interruptible: boolean;
  /** Print a line per group. */
  readonly announce?: boolean;
  /** Drain, but never put back: the nodes stay out of the load balancer (set-aside nodes going back). */
  readonly keepOut?: boolean;
  /** The failure budget: failed nodes it spares are put back on their release and the rollout goes on. */
  readonly budget?: RolloutBudget;
  /**
   * Putting nodes back after a failure: it goes on when this run lost its lock somewhere (every other rollout
   * stops before its next switch then); each relink still checks the node's lock.
   */
  readonly undo?: boolean;
  /**
   * Groups after which the rollout holds until they are back in the pool (besides the pre node's): the next
   * group is not drained ahead of its turn. The seam for a stage that is a real wait.
   */
  readonly boundary?: (index: number, group: readonly NodeSpec[]) => boolean;
  /**
   * Called once a boundary group is back in the pool, before the next group is touched (the analysis); a
   * throw stops the rollout there as a failure of that group's first node.
   */
  readonly hold?: (index: number, group: readonly NodeSpec[]) => Promise<void>;
}

/** A node that failed, and why. */
export interface Failure {
  readonly node: NodeSpec;
  readonly error: unknown;
}

export interface RolloutBudget {
  /** Whether the budget takes these failures (and records them); false: the rollout stops. */
  spare(failed: readonly Failure[]): boolean;
  /** Puts spared nodes that switched back on their release, out of the load balancer. */
  putBack(nodes: readonly NodeSpec[]): Promise<void>;
}

export interface Stop {
  readonly node: NodeSpec;
  readonly error: unknown;
  readonly group: readonly NodeSpec[];
  readonly untouched: readonly NodeSpec[];
}

export interface RolloutResult {
  /** Nodes whose `current` this rollout moved, in the order they moved. */
  readonly switched: NodeSpec[];
  /** Nodes that failed, with why, in group order. */
  readonly failures: { readonly node: NodeSpec; readonly error: unknown }[];
  /** Set when the rollout stopped at a failure: the first failing node, its group, the nodes not reached. */
  readonly stopped?: Stop;
}
