// The inventory of one environment as the code reads it, after validation.
// inventory/schema.ts must produce exactly this shape (checked in
// config/validate.ts). Each field's JSDoc is its schema description word for
// word (test/unit/docs.test.ts compares); docs/reference/hosts.md has them all.
import type { z } from 'zod';
import type { lbSchema } from './schema.js';

/** One node of an environment, as written in hosts/<env>.yaml. */
export interface NodeSpec {
  /**
   * Node name: in output, journals and `--node`, and its server name at the load balancer unless
   * `vars.lbServer` says otherwise.
   */
  readonly name: string;
  /** Host name or IP address to reach it over SSH. */
  readonly address: string;
  /** SSH port. */
  readonly port: number;
  /** User to log in as: an ordinary user that can write deployTo (root only when written here). */
  readonly user: string;
  /** Labels, for templates (`{{ node.roles }}`, comma-separated). */
  readonly roles: readonly string[];
  /**
   * This node's template variables (`{{ host.name }}`), e.g. its app port; `lbServer` names its server at
   * the load balancer.
   */
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  /**
   * Jump hosts to reach this node through, written as deploy.config.ts's `ssh.proxyJump`
   * (`[user@]host[:port]`, comma-separated, the first hop first); it wins over that one, and `none` (or an
   * empty string) reaches this node directly. Default: `ssh.proxyJump`.
   */
  readonly proxyJump?: string;
}

/** The load balancer of an environment, as validated from hosts/<env>.yaml. */
export type LbSpec = z.infer<typeof lbSchema>;

export interface Inventory {
  readonly env: string;
  readonly file: string;
  /**
   * The node released and smoke-tested first, alone; a failure there stops the release before any other
   * node changes. Default: none.
   */
  readonly pre?: string;
  /**
   * Whether the pre node is in the load balancer's pool (a canary that takes outside traffic: drained and
   * put back like the others). `false`: it takes no outside traffic, relink never drains it, and the pool
   * must not list it.
   */
  readonly preInPool: boolean;
  /**
   * Nodes switched at once after the pre node: a number, or a percentage of the nodes other than pre,
   * rounded up, at least 1 (25% of 10 nodes with a pre node: pre alone, then groups of 3, 3 and 3). While
   * nothing serves yet (no node up in the load balancer, or without one no node with a release), every node
   * after pre switches at once.
   */
  readonly groupSize: number | string;
  /** Template variables of this environment (`{{ vars.name }}`), over deploy.config.ts's `vars`. */
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  /**
   * The load balancer: every node behind it is drained before it switches and put back after its smoke
   * test. Default: none.
   */
  readonly lb?: LbSpec;
  /** The nodes of this environment, in rollout order. */
  readonly hosts: readonly NodeSpec[];
}
