import type { NodeSpec } from '../inventory/types.js';
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
  readonly kind: 'haproxy' | 'nginx' | 'command' | 'none';
  /** The state of every node; throws naming the nodes the load balancer does not know. */
  states(nodes: readonly NodeSpec[]): Promise<Map<string, ServerState>>;
  drain(node: NodeSpec): Promise<void>;
  /** Resolves true once nothing is in flight on the node, false when the timeout passed first. */
  waitDrained(node: NodeSpec, timeoutMs: number): Promise<boolean>;
  /** Puts the node back to the given admin state (default: serving). */
  undrain(node: NodeSpec, to?: ServerState['admin']): Promise<void>;
  /** Resolves once the load balancer reports the node up and serving; throws after the timeout. */
  waitServing(node: NodeSpec, timeoutMs: number): Promise<void>;
  /** Undoes anything left changed (nginx: the original upstream file). Called on every exit path. */
  restore(): Promise<void>;
}
