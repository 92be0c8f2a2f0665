import type { LbDriverName } from '../config/names.js';
import type { LbSpec, NodeSpec } from '../inventory/types.js';
import type { Command } from '../remote/tokens.js';
import type { ExecResult } from '../transport/types.js';

/** What the load balancer says of one node. */
export interface ServerState {
  /** What relink or an operator set: serving, draining, or out for maintenance. */
  readonly admin: 'ready' | 'drain' | 'maint';
  /** Whether the load balancer's health check sees it up. */
  readonly up: boolean;
  /** Requests or sessions in flight on it, when the load balancer can tell. */
  readonly sessions?: number;
}

/** Runs an LB command on the deploy machine or on the load-balancer host. */
export type LbRunner = (command: Command, stdin?: string) => Promise<ExecResult>;

/**
 * A load balancer, one interface for every kind. Nodes are drained before
 * they switch and put back after their smoke test; the pipeline never needs
 * to know which kind it talks to.
 */
export interface LbDriver {
  readonly kind: LbDriverName;
  /** The state of every node; throws naming the nodes the load balancer does not know. */
  states(nodes: readonly NodeSpec[]): Promise<Map<string, ServerState>>;
  drain(node: NodeSpec): Promise<void>;
  /** Resolves true once nothing is in flight on the node, false when the timeout passed first. */
  waitDrained(node: NodeSpec, timeoutMs: number): Promise<boolean>;
  /** Puts the node back to the given admin state (default: serving). */
  undrain(node: NodeSpec, to?: ServerState['admin']): Promise<void>;
  /** Resolves once the load balancer reports the node up and serving; throws after the timeout. */
  waitServing(node: NodeSpec, timeoutMs: number): Promise<void>;
  /**
   * Undoes anything left changed (nginx: the original upstream file), except that the nodes in `keepOut` stay
   * out (set aside, or failed on their new release). Called on every exit path.
   */
  restore(keepOut?: readonly NodeSpec[]): Promise<void>;
  /**
   * Tells the load balancer that the node just passed relink's own smoke test, so it counts as healthy now
   * instead of after its next `rise` health checks. Resolves false when this load balancer cannot be told.
   */
  vouch?(node: NodeSpec): Promise<boolean>;
  /**
   * Sets each node's traffic weight (the canary's analysis steps), remembering the weights from before the
   * first change. Absent: this load balancer cannot weight (lb/weights.ts names those that can).
   */
  weigh?(weights: readonly NodeWeight[]): Promise<void>;
  /** Puts back every weight `weigh` changed, as it was; nothing when none changed (`restore` does it too). */
  restoreWeights?(): Promise<void>;
}

/** One node's traffic weight. */
export interface NodeWeight {
  readonly node: NodeSpec;
  readonly weight: number;
}

/** Everything a driver needs from the run, and nothing more. */
export interface LbContext {
  /** Runs the driver's commands, here or on the LB host. */
  readonly run: LbRunner;
  /**
   * When the load balancer is on this machine: sends `input` to its socket (a path or `host:port`) and resolves
   * the answer, with no process per request. Absent when commands go over SSH to the LB host.
   */
  readonly talk?: (address: string, input: string) => Promise<ExecResult>;
  /** A path of the inventory as the commands must see it (relative ones are resolved on the deploy machine). */
  readonly path: (file: string) => string;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
  /** Renders a template of the inventory (lb.server) for one node; `where` names it in errors. */
  readonly render: (template: string, node: NodeSpec, where: string) => string;
  /** The RELINK_* environment of a user command about one node. */
  readonly env: (node: NodeSpec) => Record<string, string>;
}

/** The inventory's `lb` section for one driver. */
export type LbSpecOf = { readonly [D in LbDriverName]: Extract<LbSpec, { driver: D }> };

/** Builds one kind of driver from its section of the inventory. */
export type LbFactory<D extends LbDriverName> = (spec: LbSpecOf[D], context: LbContext) => LbDriver;
