// The `rollout.fanout` part of the config schema: how a release gets from this machine to the nodes, with
// each field's description, default and example (FanoutSettings in types.ts is derived from it).
import { z } from 'zod';
import { doc } from './schema-parts.js';

export const FANOUT_MODES = ['push', 'relay', 'pull'] as const;

/** One entry of sshd's from= pattern list: an address, a CIDR block or a wildcard pattern, maybe negated. */
const fromPattern = z.string().regex(/^!?[A-Za-z0-9.:*?/_-]+$/, 'an address, CIDR block or pattern such as 10.0.*');

/** The URL with its template variables as placeholders: http(s), no spaces, no secrets. */
const httpUrl = z
  .string()
  .refine((u) => /^https?:\/\/\S+$/.test(u.replace(/\{\{[^}]*\}\}/g, 'x')), 'an http:// or https:// URL')
  .refine((u) => !/\{\{\s*secret\./.test(u), 'no secrets in the URL');

export const fanoutSchema = z.strictObject({
  mode: doc(
    z.enum(FANOUT_MODES).default('push'),
    'How the release gets to the nodes. `push`: this machine sends it to every node. `relay`: this machine ' +
      'sends it to `seeds` nodes, and every node that has it passes it on to up to `width` more (rsync over ' +
      "SSH between the nodes, hard-linked against each node's current release, with a key made for the run). " +
      '`pull`: every node fetches the tarball from `url` and checks its sha256 before unpacking.',
    'relay',
  ),
  seeds: doc(
    z.number().int().min(1).default(2),
    'relay: how many nodes this machine sends the release to itself (the first ones in the inventory), as push ' +
      'does.',
    3,
  ),
  width: doc(
    z.number().int().min(1).max(64).default(4),
    'relay: how many nodes each node that has the release sends it on to, at once.',
    8,
  ),
  from: doc(
    z.array(fromPattern).min(1).optional(),
    "relay: where a receiving node accepts the run's key from (sshd's `from=`: addresses, CIDR blocks or " +
      'patterns), for nodes that see each other at other addresses than the inventory names (NAT, a second ' +
      "network). Default: the sending node's inventory address.",
    ['10.0.0.0/8'],
  ),
  url: doc(
    httpUrl.optional(),
    'pull: where every node fetches the release tarball, with template variables (`{{ release }}`, ' +
      '`{{ sha256 }}`, `{{ version }}`, `{{ host.name }}`, ...; no secrets). http or https; certificates are ' +
      'verified. Required for `pull`.',
    'https://artifacts.example.com/shop/{{ release }}.tar.gz',
  ),
  publish: doc(
    z.string().min(1).optional(),
    'pull: a shell command run on this machine in the project directory that puts the tarball where `url` ' +
      'serves it, with `{{ file }}`, `{{ release }}`, `{{ sha256 }}` and `{{ version }}` (shell-quoted) and ' +
      'RELINK_* variables. Default: none (`url` already serves it).',
    'install -m 644 {{ file }} /var/www/artifacts/{{ release }}.tar.gz',
  ),
  timeoutMs: doc(
    z.number().int().positive().default(600_000),
    'Time limit of the publish, of one fetch and of one node-to-node copy in ms.',
    1200000,
  ),
});
