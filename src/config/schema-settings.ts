// Parts of the config schema (schema.ts): how a release is built, checked and rolled out, and how nodes
// are reached. Documented in types.ts, word for word (BuildSettings, SmokeSettings, ...).
import { z } from 'zod';
import { doc, envVar } from './schema-parts.js';

const positiveInt = z.number().int().positive();
export const ms = (text: string, example: number) => doc(positiveInt.optional(), text, example);

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
    relative.or(z.literal('.')).optional(),
    'Directory of the export that is packed, relative to its root. Default: `.` (everything).',
    'dist',
  ),
  env: doc(z.record(z.string(), z.string()).optional(), 'Extra environment for the build command. Default: none.', {
    NODE_ENV: 'production',
  }),
  passEnv: doc(
    z.array(envVar).optional(),
    "Variables of the deploy machine's environment passed on to the build, by name. The build gets only " +
      'these, `env`, RELINK_* and the basics (PATH, HOME, USER, LANG, LC_*, TZ, TMPDIR, TERM, CI, proxies). ' +
      'Default: none.',
    ['NPM_TOKEN'],
  ),
  timeoutMs: ms('Time limit for the build in ms. Default: 600000.', 900000),
});

export const templateSchema = z.strictObject({
  src: doc(
    z.string().min(1),
    'Template file, relative to the project root (usually under `templates/`).',
    'templates/app.env',
  ),
  dest: doc(relative, 'Destination inside the release.', '.env'),
  mode: doc(z.number().int().min(0).max(0o777).optional(), 'File mode. Default: 0o600.', 0o640),
});

export const restartSchema = z.strictObject({
  command: doc(
    z.string().min(1),
    'Shell command run in the new release dir on the node, with RELINK_* variables set.',
    'sudo systemctl restart shop',
  ),
  timeoutMs: ms('Time limit in ms; past it the restart counts as failed. Default: 30000.', 60000),
});

export const smokeSchema = z.strictObject({
  url: doc(
    z.string().min(1).optional(),
    'URL requested from the deploy machine, with template variables ' +
      '(`http://{{ node.address }}:{{ host.appPort }}/health`). Set exactly one of `url` and `command`.',
    'http://{{ node.address }}:{{ host.appPort }}/health',
  ),
  expectStatus: doc(z.number().int().min(100).max(599).optional(), 'Expected HTTP status. Default: 200.', 204),
  expectBody: doc(
    z.string().optional(),
    'Text the response body must contain, with template variables. Default: `{{ version }}`.',
    '"version":"{{ version }}"',
  ),
  command: doc(
    z.string().min(1).optional(),
    'Alternatively a shell command run on the node in the release dir; exit 0 means healthy.',
    'curl -fsS http://127.0.0.1:3000/health',
  ),
  retries: doc(z.number().int().min(1).optional(), 'Attempts before the smoke test fails. Default: 20.', 50),
  intervalMs: doc(z.number().int().min(0).optional(), 'Pause between attempts in ms. Default: 250.', 100),
  timeoutMs: ms('Time limit of one attempt in ms. Default: 2000.', 5000),
});

export const rolloutSchema = z.strictObject({
  parallel: doc(
    z.number().int().min(1).max(500).optional(),
    'Nodes worked on at once during distribute. Default: 10.',
    20,
  ),
  upload: doc(
    z.enum(['tar', 'rsync']).optional(),
    "How a release reaches the nodes: `tar` uploads the tarball over the run's SSH connection (needs only " +
      'tar on the node); `rsync` copies the build directory with --link-dest against the current release, ' +
      "also over the run's SSH connection, so unchanged files cost neither bytes nor disk (needs rsync on " +
      'both ends). Default: `tar`.',
    'rsync',
  ),
  onFailure: doc(
    z.enum(['rollback', 'halt']).optional(),
    'On a failure after nodes switched: roll them back, or halt and leave them. Default: `rollback`.',
    'halt',
  ),
});

export const lockSchema = z.strictObject({
  ttlMs: ms('A lock whose heartbeat is older than this is reported as stale. Default: 120000 ms.', 300000),
  heartbeatMs: ms("How often a running deploy refreshes its lock's heartbeat. Default: 15000 ms.", 30000),
});

export const logsSchema = z.strictObject({
  dir: doc(relative.optional(), 'Directory under deployTo. Default: `shared/log`.', 'shared/logs'),
  pattern: doc(
    z
      .string()
      .regex(/^[^/]+$/, 'a file name pattern such as *.log')
      .optional(),
    'File name pattern. Default: `*.log`.',
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
    z.string().min(1).optional(),
    'known_hosts used to verify host keys. Default: ~/.ssh/known_hosts.',
    '.ssh/known_hosts',
  ),
  strictHostKeys: doc(
    z.boolean().optional(),
    'Verify host keys against knownHostsFile; turning it off is logged on every run. Default: true.',
    false,
  ),
  connectTimeoutMs: ms('Time limit for connecting in ms. Default: 10000.', 20000),
});
