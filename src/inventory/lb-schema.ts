// The `lb:` block of hosts/<env>.yaml (inventory/schema.ts), one object per driver; its drivers must be
// LB_DRIVERS (config/names.ts), checked in config/validate.ts. Every field carries its description, default
// and example, from which `npm run docs` generates the reference; LbSpec (types.ts) is derived from it.
import { z } from 'zod';
import { doc, port } from '../config/schema-parts.js';

const percentage = /^\d{1,3}%$/;
const user = z.string().regex(/^[a-z_][a-z0-9_.-]*$/, 'a user name');

const lbCommon = {
  host: doc(
    z
      .strictObject({
        address: doc(z.string().regex(/^[A-Za-z0-9.:_-]+$/), 'Host name or IP address of the LB host.', 'lb1'),
        port: doc(port.default(22), 'Its SSH port.', 2222),
        // An ordinary user, as on the nodes: root only when the inventory says so.
        user: doc(user.default('deploy'), 'User to log in as: an ordinary one, root only when written here.', 'ops'),
      })
      .optional(),
    'Where LB commands run: this host over SSH. Default: the deploy machine.',
  ),
  drainTimeoutMs: doc(
    z.number().int().min(0).default(30_000),
    'Longest wait in ms for in-flight requests to finish on a drained node; then a warning, and the rollout ' +
      'goes on.',
    60000,
  ),
  serveTimeoutMs: doc(
    z.number().int().min(0).default(30_000),
    'Longest wait in ms for the LB to report a node up after it was put back.',
    60000,
  ),
  minServing: doc(
    z
      .union([z.number().int().min(0), z.string().regex(percentage, 'a number of nodes or a percentage such as "50%"')])
      .default(1),
    'Fewest nodes that must stay serving while others are drained: a number, or a percentage of the nodes ' +
      'behind the LB; a drain that would go below it is refused.',
    '50%',
  ),
  trustSmoke: doc(
    z.boolean().default(true),
    "After relink's own smoke test passed on a node, tell the load balancer it is healthy (HAProxy: " +
      '`set server … health up`) instead of waiting for its rise checks.',
    false,
  ),
  exclude: doc(
    z.array(z.string()).default([]),
    'Nodes that are not behind the load balancer: never drained or put back.',
    ['worker1'],
  ),
};

export const lbSchema = z.discriminatedUnion('driver', [
  z.strictObject({
    driver: doc(z.literal('haproxy'), 'HAProxy, through its runtime API (`set server ... state drain|ready`).'),
    socket: doc(
      z.string().min(1),
      "HAProxy's admin socket (`stats socket ... level admin`): a path, relative to this file unless `host` is " +
        'set, or `host:port` of a TCP stats socket.',
      '/run/haproxy/admin.sock',
    ),
    backend: doc(
      z.string().min(1),
      'The backend whose servers are the nodes: server names are node names, or their `vars.lbServer`.',
      'app',
    ),
    ...lbCommon,
  }),
  z.strictObject({
    driver: doc(
      z.literal('nginx'),
      'nginx, through an upstream include file: a drained node is marked `down`, then `nginx -t` and a ' +
        'graceful reload; the original file is restored on every exit path.',
    ),
    upstreamFile: doc(
      z.string().min(1),
      'The upstream include file nginx reads (`server 10.0.0.1:8080;` lines), relative to this file unless ' +
        '`host` is set.',
      '/etc/nginx/upstreams/app.conf',
    ),
    prefix: doc(z.string().optional(), '`nginx -p`, when nginx is not the system one. Default: none.', '/opt/nginx'),
    config: doc(z.string().optional(), '`nginx -c`, when nginx is not the system one. Default: none.', 'nginx.conf'),
    pidFile: doc(
      z.string().default('/run/nginx.pid'),
      "The master's pid file, to tell when the workers from before a reload are gone.",
      '/opt/nginx/nginx.pid',
    ),
    server: doc(
      z.string().default('{{ node.address }}:{{ host.appPort }}'),
      "A node's server as written in the upstream file, with template variables; a node's `vars.lbServer` " +
        'overrides it.',
      '{{ node.address }}:8080',
    ),
    ...lbCommon,
  }),
  z.strictObject({
    driver: doc(z.literal('command'), 'Your own commands (cloud load balancers, anything with a CLI).'),
    drain: doc(
      z.string().min(1),
      'Shell command that takes a node out of the pool, run with the RELINK_* variables of that node.',
      'aws elbv2 deregister-targets --target-group-arn "$TG" --targets Id="$RELINK_NODE"',
    ),
    undrain: doc(
      z.string().min(1),
      'Shell command that puts the node back.',
      'aws elbv2 register-targets --target-group-arn "$TG" --targets Id="$RELINK_NODE"',
    ),
    check: doc(
      z.string().optional(),
      'Shell command that exits 0 when the node is in the pool and serving. Default: none (taken as serving).',
      './bin/lb-check "$RELINK_NODE"',
    ),
    ...lbCommon,
  }),
  z.strictObject({
    driver: doc(
      z.literal('none'),
      'No load balancer: nothing is drained (requests to a node may fail while it switches).',
    ),
    ...lbCommon,
  }),
]);
