// The schema of hosts/<env>.yaml: every field's description, default and example. The inventory types
// (types.ts) are derived from it, validation fills in its defaults, and `npm run docs` generates the
// reference and the JSON Schema editors read from it. Its drivers must be LB_DRIVERS (config/names.ts),
// checked in config/validate.ts.
import { z } from 'zod';
import { parseProxyJump } from '../config/proxy-jump.js';
import { doc, name, parsed, port, scalars } from '../config/schema-parts.js';
import { lbSchema } from './lb-schema.js';

export { lbSchema };

const percentage = /^\d{1,3}%$/;

const groupSize = z.union([
  z.number().int().min(1),
  z.string().regex(percentage, 'a number of nodes or a percentage such as "25%"'),
]);

export const nodeSchema = z.strictObject({
  name: doc(
    name,
    'Node name: in output, journals and `--node`, and its server name at the load balancer unless ' +
      '`vars.lbServer` says otherwise.',
    'web1',
  ),
  address: doc(
    z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9.:_-]+$/, 'a host name or IP address'),
    'Host name or IP address to reach it over SSH.',
    '10.0.0.11',
  ),
  port: doc(port.default(22), 'SSH port.', 2222),
  user: doc(
    z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]*$/, 'a user name')
      .default('deploy'),
    'User to log in as: an ordinary user that can write deployTo (root only when written here).',
    'deploy',
  ),
  roles: doc(z.array(z.string()).default([]), 'Labels, for templates (`{{ node.roles }}`, comma-separated).', ['app']),
  vars: doc(
    scalars.default({}),
    "This node's template variables (`{{ host.name }}`), e.g. its app port; `lbServer` names its server at the " +
      'load balancer.',
    { appPort: 3000 },
  ),
  proxyJump: doc(
    parsed(parseProxyJump).optional(),
    "Jump hosts to reach this node through, written as deploy.config.ts's `ssh.proxyJump` " +
      '(`[user@]host[:port]`, comma-separated, the first hop first); it wins over that one, and `none` (or an ' +
      'empty string) reaches this node directly. Default: `ssh.proxyJump`.',
    'deploy@bastion.example.com',
  ),
});

export const inventorySchema = z.strictObject({
  pre: doc(
    name.optional(),
    'The node released and smoke-tested first, alone; a failure there stops the release before any other ' +
      'node changes. Default: none.',
    'web1',
  ),
  preInPool: doc(
    z.boolean().default(true),
    "Whether the pre node is in the load balancer's pool (a canary that takes outside traffic: drained and " +
      'put back like the others). `false`: it takes no outside traffic, relink never drains it, and the pool ' +
      'must not list it.',
    false,
  ),
  groupSize: doc(
    groupSize.default(1),
    'Nodes switched at once after the pre node: a number, or a percentage of the nodes other than pre, ' +
      'rounded up, at least 1 (25% of 10 nodes with a pre node: pre alone, then groups of 3, 3 and 3). While ' +
      'nothing serves yet (no node up in the load balancer, or without one no node with a release), every node ' +
      'after pre switches at once.',
    '25%',
  ),
  vars: doc(
    scalars.default({}),
    "Template variables of this environment (`{{ vars.name }}`), over deploy.config.ts's `vars`.",
    { apiUrl: 'https://api.example.com' },
  ),
  lb: doc(
    lbSchema.optional(),
    'The load balancer: every node behind it is drained before it switches and put back after its smoke ' +
      'test. Default: none.',
    { driver: 'haproxy', socket: '/run/haproxy/admin.sock', backend: 'app' },
  ),
  hosts: doc(z.array(nodeSchema).min(1, 'at least one host'), 'The nodes of this environment, in rollout order.'),
});
