// The inventory of one environment as the code reads it, after validation: derived from the schema of
// hosts/<env>.yaml (schema.ts, lb-schema.ts), where every field's description, default and example live
// (docs/reference/hosts.md is generated from them). Defaults are filled in, so they are present here.
import type { z } from 'zod';
import type { DeepReadonly } from '../config/deep-readonly.js';
import type { inventorySchema, lbSchema, nodeSchema } from './schema.js';

/** One node of an environment, as written in hosts/<env>.yaml. */
export type NodeSpec = DeepReadonly<z.output<typeof nodeSchema>>;

/** The load balancer of an environment, as validated from hosts/<env>.yaml. */
export type LbSpec = z.infer<typeof lbSchema>;

/** hosts/<env>.yaml, validated, with the environment it belongs to and the file it came from. */
export type Inventory = DeepReadonly<Omit<z.output<typeof inventorySchema>, 'lb'>> & {
  readonly env: string;
  readonly file: string;
  readonly lb?: LbSpec;
};
