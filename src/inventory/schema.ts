// The schema of hosts/<env>.yaml. Its output type must equal NodeSpec and
// Inventory (types.ts), and its drivers LB_DRIVERS (config/names.ts): the
// checks are in config/validate.ts and fail tsc when they drift.
import { z } from 'zod';
import { name, port, scalars } from '../config/schema-parts.js';

const percentage = /^\d{1,3}%$/;

const groupSize = z.union([
  z.number().int().min(1),
  z.string().regex(percentage, 'a number of nodes or a percentage such as "25%"'),
]);

export const nodeSchema = z.strictObject({
  name,
  address: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9.:_-]+$/, 'a host name or IP address'),
  port: port.default(22),
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]*$/, 'a user name')
    .default('deploy'),
  roles: z.array(z.string()).default([]),
  vars: scalars.default({}),
});

const lbCommon = {
  /** Where LB commands run: the deploy machine (default) or this host over SSH. */
  host: z
    .strictObject({
      address: z.string().regex(/^[A-Za-z0-9.:_-]+$/),
      port: port.default(22),
      // An ordinary user, as on the nodes: root only when the inventory says so.
      user: z
        .string()
        .regex(/^[a-z_][a-z0-9_.-]*$/, 'a user name')
        .default('deploy'),
    })
    .optional(),
  /** Longest wait for in-flight requests to finish on a drained node. */
  drainTimeoutMs: z.number().int().min(0).default(30_000),
  /** Longest wait for the LB to report a node up after it was put back. */
  serveTimeoutMs: z.number().int().min(0).default(30_000),
  /** Fewest nodes that must stay serving while others are drained: a number or a percentage. */
  minServing: z
    .union([z.number().int().min(0), z.string().regex(percentage, 'a number of nodes or a percentage such as "50%"')])
    .default(1),
  /**
   * After relink's own smoke test passed on a node, tell the load balancer it is healthy (HAProxy:
   * `set server … health up`) instead of waiting for its rise checks.
   */
  trustSmoke: z.boolean().default(true),
  /** Nodes that are not behind the load balancer (a pre node that takes no outside traffic). */
  exclude: z.array(z.string()).default([]),
};

export const lbSchema = z.discriminatedUnion('driver', [
  z.strictObject({ driver: z.literal('haproxy'), socket: z.string().min(1), backend: z.string().min(1), ...lbCommon }),
  z.strictObject({
    driver: z.literal('nginx'),
    upstreamFile: z.string().min(1),
    prefix: z.string().optional(),
    config: z.string().optional(),
    pidFile: z.string().default('/run/nginx.pid'),
    server: z.string().default('{{ node.address }}:{{ host.appPort }}'),
    ...lbCommon,
  }),
  z.strictObject({
    driver: z.literal('command'),
    drain: z.string().min(1),
    undrain: z.string().min(1),
    check: z.string().optional(),
    ...lbCommon,
  }),
  z.strictObject({ driver: z.literal('none'), ...lbCommon }),
]);

export const inventorySchema = z.strictObject({
  pre: name.optional(),
  preInPool: z.boolean().default(true),
  groupSize: groupSize.default(1),
  vars: scalars.default({}),
  lb: lbSchema.optional(),
  hosts: z.array(nodeSchema).min(1, 'at least one host'),
});
