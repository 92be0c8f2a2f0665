// The inventory of one environment as the code reads it, after validation.
// inventory/schema.ts must produce exactly this shape (checked in
// config/validate.ts).
import type { z } from 'zod';
import type { lbSchema } from './schema.js';

/** One node of an environment, as written in hosts/<env>.yaml. */
export interface NodeSpec {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly roles: readonly string[];
  readonly vars: Readonly<Record<string, string | number | boolean>>;
}

/** The load balancer of an environment, as validated from hosts/<env>.yaml. */
export type LbSpec = z.infer<typeof lbSchema>;

export interface Inventory {
  readonly env: string;
  readonly file: string;
  /** The node released and smoke-tested first; a failure there stops the release. */
  readonly pre?: string;
  /**
   * Whether the pre node is in the load balancer's pool (a canary that takes outside traffic: drained
   * and put back like the others). `false`: it takes no outside traffic, relink never drains it, and
   * the pool must not list it. Default: true.
   */
  readonly preInPool: boolean;
  readonly groupSize: number | string;
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  readonly lb?: LbSpec;
  readonly hosts: readonly NodeSpec[];
}
