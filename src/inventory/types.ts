import type { z } from 'zod';
import type { lbSchema } from '../config/schema.js';

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
  readonly pre?: string;
  readonly groupSize: number | string;
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  readonly lb?: LbSpec;
  readonly hosts: readonly NodeSpec[];
}
