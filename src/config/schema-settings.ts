// Parts of the config schema (schema.ts): how a release is built, checked and rolled out, and how nodes
// are reached, with each field's description, default and example (their types are derived in types.ts).
import { z } from 'zod';
import { parseProxyJump } from './proxy-jump.js';
import { doc, envVar, parsed } from './schema-parts.js';
import { fanoutSchema } from './schema-fanout.js';

const positiveInt = z.number().int().positive();
/** A time limit in ms, with its default. */
export const ms = (dflt: number, text: string, example: number) => doc(positiveInt.default(dflt), text, example);

/** A path inside the release: relative, without "..". */
export const relative = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a path relative to the release, without ".."');

export const buildSchema = z.strictObject({
  command: doc(
    z.string().min(1).optional(),
    'Shell command run in the clean export, e.g. `npm ci && npm run build`. Default: none.',
    'npm ci && npm run build',
  ),
  output: doc(
    relative.or(z.literal('.')).default('.'),
    'Directory of the export that is packed, relative to its root (`.`: everything).',
    'dist',
  ),
  env: doc(z.record(z.string(), z.string()).default({}), 'Extra environment for the build command.', {
    NODE_ENV: 'production',
  }),
  passEnv: doc(
    z.array(envVar).default([]),
    "Variables of the deploy machine's environment passed on to the build, by name. The build gets only " +
      'these, `env`, RELINK_* and the basics (PATH, HOME, USER, LANG, LC_*, TZ, TMPDIR, TERM, CI, proxies).',
    ['NPM_TOKEN'],
  ),
  timeoutMs: ms(600_000, 'Time limit for the build in ms.', 900000),
  on: doc(
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "'local' or the name of a node of the environment")
      .default('local'),
    'Where the build runs: `local` (the deploy machine) or the name of a node of the environment, for a build ' +
      'that must match the OS, architecture and libc of the nodes (native addons). The clean export goes to ' +
      'that node, the build runs there, and the packed artifact comes back, its checksum verified, and goes out ' +
      'like a local build. See docs/build.md.',
    'node1',
  ),
});

export const templateSchema = z.strictObject({
  src: doc(
    z.string().min(1),
    'Template file, relative to the project root (usually under `templates/`).',
    'templates/app.env',
  ),
  dest: doc(relative, 'Destination inside the release.', '.env'),
  mode: doc(z.number().int().min(0).max(0o777).default(0o600), 'File mode.', 0o640),
});

export const restartSchema = z.strictObject({
  command: doc(
    z.string().min(1),
    'Shell command run in the new release dir on the node, with RELINK_* variables set.',
    'sudo systemctl restart shop',
  ),
  timeoutMs: ms(30_000, 'Time limit in ms; past it the restart counts as failed.', 60000),
});

export const smokeSchema = z.strictObject({
  url: doc(
    z.string().min(1).optional(),
    'URL requested from the deploy machine, with template variables ' +
      '(`http://{{ node.address }}:{{ host.appPort }}/health`). Set exactly one of `url` and `command`.',
    'http://{{ node.address }}:{{ host.appPort }}/health',
  ),
  expectStatus: doc(z.number().int().min(100).max(599).default(200), 'Expected HTTP status.', 204),
  expectBody: doc(
    z.string().min(1).optional(),
    'Text the response body must contain, with template variables. Default: none (the status alone ' +
      'decides); `"version":"{{ version }}"` also proves the node serves the release just deployed.',
    '"version":"{{ version }}"',
  ),
  command: doc(
    z.string().min(1).optional(),
    'Alternatively a shell command run on the node in the release dir; exit 0 means healthy.',
    'curl -fsS http://127.0.0.1:3000/health',
  ),
  retries: doc(z.number().int().min(1).default(20), 'Attempts before the smoke test fails.', 50),
  intervalMs: doc(z.number().int().min(0).default(250), 'Pause between attempts in ms.', 100),
  timeoutMs: ms(2000, 'Time limit of one attempt in ms.', 5000),
});

export const rolloutSchema = z.strictObject({
  parallel: doc(
    z.number().int().min(1).max(500).default(10),
    'Nodes worked on at once during distribute, and by `deploy exec`.',
    20,
  ),
  upload: doc(
    z.enum(['tar', 'rsync']).default('tar'),
    'How a release reaches the nodes from this machine (push, and the seeds of a relay). Either way a node ' +
      'whose current release carries a manifest gets only what it lacks: per distinct current release, once, ' +
      'the changed and new files are packed in one tar that every node on that release gets, the unchanged ' +
      'ones are hard-linked from its current release, and the node checks every file against the new ' +
      "release's manifest (a linked file that differs there is named, and that node gets the whole release). " +
      'They differ for a node with nothing to link against (no current release, or one without a valid ' +
      "manifest): `tar` sends it the whole release as one tar over the run's SSH connection (needs only tar " +
      'on the node); `rsync` copies the build directory with rsync over the same connection, and no tarball ' +
      "is made (needs rsync on both ends). Pulling nodes fetch the whole release's tarball; a relay's other " +
      'nodes copy it from their sender with rsync.',
    'rsync',
  ),
  fanout: doc(
    fanoutSchema.prefault({}),
    'How the release gets from this machine to the nodes: push, relay or pull (`upload` says how this machine ' +
      "sends it, for push and for relay's seeds). Per environment it is replaced whole, not merged key by key.",
    { mode: 'relay', seeds: 2, width: 4 },
  ),
  onFailure: doc(
    z.enum(['rollback', 'halt']).default('rollback'),
    'On a failure after nodes switched: roll them back, or halt and leave them.',
    'halt',
  ),
  maxFailures: doc(
    z
      .union([z.number().int().min(0), z.templateLiteral([z.number().int().min(0), '%'])], {
        error: 'a number of nodes or a percentage such as "10%"',
      })
      .refine((v) => typeof v === 'number' || Number.parseInt(v, 10) <= 100, 'a percentage is at most 100%')
      .default(0),
    "Nodes a deploy may set aside and still release: a number, or a percentage of the run's nodes rounded " +
      'down (10% of 25 nodes: 2). A node that cannot be reached, fails its upload, or fails or dies during ' +
      'its switch is put back on its release, kept out of the load balancer, named and journaled, and the ' +
      'release goes on to the rest; the deploy then exits 5 and `deploy <env> <version> --retry-failed` ' +
      'brings those nodes up to it. The pre node is never set aside. With 0 the first failure stops the ' +
      'release.',
    '10%',
  ),
});

export const lockSchema = z.strictObject({
  ttlMs: ms(120_000, 'A lock whose heartbeat is older than this (in ms) is reported as stale.', 300000),
  heartbeatMs: ms(15_000, "How often a running deploy refreshes its lock's heartbeat, in ms.", 30000),
});

export const statsSchema = z.strictObject({
  changeFailureWindowMs: ms(
    86_400_000,
    "`deploy stats`' change failure rate counts a deploy that failed, or was rolled back within this long (in ms) " +
      "after it finished, as a change failure. The four keys' bands (DORA's reports, made contiguous): " +
      'deployment frequency (successful deploys) at least 1/day elite, 1/week high, 1/30 days medium; ' +
      'lead time for changes at most 1 day elite, 1 week high, 30 days medium; change failure rate at most ' +
      '5% elite, 10% high, 15% medium; time to restore service at most 1 hour elite, 1 day high, 1 week ' +
      'medium; anything else low (docs/metrics.md).',
    43_200_000,
  ),
});

export const logsSchema = z.strictObject({
  dir: doc(relative.default('shared/log'), 'Directory under deployTo.', 'shared/logs'),
  pattern: doc(
    z
      .string()
      .regex(/^[^/]+$/, 'a file name pattern such as *.log')
      .default('*.log'),
    'File name pattern.',
    'app-*.log',
  ),
});

export const sshSchema = z.strictObject({
  identityFile: doc(
    z.string().min(1).optional(),
    'Private key, relative to this file or under `~/`. ' +
      'Default: the first of ~/.ssh/id_ed25519, ~/.ssh/id_ecdsa and ~/.ssh/id_rsa that exists.',
    '~/.ssh/deploy_ed25519',
  ),
  knownHostsFile: doc(
    z.string().min(1).default('~/.ssh/known_hosts'),
    'known_hosts used to verify host keys, relative to this file or under `~/`.',
    '.ssh/known_hosts',
  ),
  strictHostKeys: doc(
    z.boolean().default(true),
    'Verify host keys against knownHostsFile; turning it off is logged on every run.',
    false,
  ),
  connectTimeoutMs: ms(10_000, 'Time limit for connecting in ms.', 20000),
  proxyJump: doc(
    parsed(parseProxyJump).optional(),
    "Jump hosts (bastions) the nodes are reached through, as OpenSSH's ProxyJump: `[user@]host[:port]`, " +
      'several separated by commas, the first hop first; the user defaults to `deploy` and the port to 22. ' +
      'Every hop logs in with the same key and has its host key checked against knownHostsFile like a node; ' +
      "all nodes behind a jump host share one connection to it. A host's own `proxyJump` (hosts/<env>.yaml) " +
      'wins; the LB host (`lb.host`) goes through this one too. Default: none (nodes are reached directly).',
    'deploy@bastion.example.com:2222',
  ),
  maxConnectionStarts: doc(
    positiveInt.default(10),
    'SSH handshakes started at once (jump hosts included); the others wait their turn. A handshake the server ' +
      "drops before it begins (sshd's MaxStartups) is retried up to 4 times after a jittered pause that " +
      'doubles from 250 ms; a failed login or host-key check is never retried.',
    20,
  ),
  commandTimeoutMs: ms(
    30_000,
    "Time limit in ms of each of relink's own short commands on a node (lock, inspect, journal, linking shared " +
      'paths, relink); past it the command is ended on the node and the step fails.',
    60000,
  ),
  unpackTimeoutMs: ms(300_000, 'Time limit in ms of unpacking a release and of removing old ones on a node.', 600000),
  uploadMinBytesPerSecond: doc(
    positiveInt.default(262_144),
    "The slowest upload rate relink waits for, in bytes per second (262144: 256 KiB/s): an upload's time " +
      'limit is commandTimeoutMs plus its size at this rate.',
    1048576,
  ),
});
