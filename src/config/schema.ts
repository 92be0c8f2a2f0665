// The schema of deploy.config.ts. Its input type must equal UserConfig
// (types.ts): the check is in validate.ts and fails tsc when they drift.
import { z } from 'zod';
import { Cron } from 'croner';
import { NOTIFY_EVENTS, WEBHOOK_KINDS } from './names.js';
import { envVar, name, parsed, port, scalars } from './schema-parts.js';
import { checkTimezone, parseWindow } from './window-spec.js';

const cron = parsed((p) => new Cron(p, { paused: true }).stop());
const timezone = parsed(checkTimezone);
const positiveInt = z.number().int().positive();
const notify = z.strictObject({
  webhooks: z
    .array(
      z
        .strictObject({
          kind: z.enum(WEBHOOK_KINDS).optional(),
          url: z.url().optional(),
          urlEnv: envVar.optional(),
          timeoutMs: positiveInt.optional(),
        })
        .refine((w) => Boolean(w.url) !== Boolean(w.urlEnv), 'set exactly one of "url" or "urlEnv"'),
    )
    .optional(),
  email: z
    .strictObject({
      host: z.string().min(1),
      port: port.optional(),
      secure: z.boolean().optional(),
      user: z.string().optional(),
      passwordEnv: envVar.optional(),
      from: z.string().min(3),
      to: z.array(z.string().min(3)).min(1),
      timeoutMs: positiveInt.optional(),
      caFile: z.string().min(1).optional(),
      insecureTls: z.boolean().optional(),
    })
    .optional(),
  on: z.array(z.enum(NOTIFY_EVENTS)).optional(),
});

const absolute = z
  .string()
  .regex(/^\/[^\0]*$/, 'an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'no ".." parts');
const relative = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a path relative to the release, without ".."');

const settings = {
  windows: z.array(parsed(parseWindow)).optional(),
  timezone: timezone.optional(),
  backup: z
    .strictObject({ command: z.string().min(1), node: z.string().optional(), timeoutMs: positiveInt.optional() })
    .optional(),
  notify: notify.optional(),
  deployTo: absolute.optional(),
  keepReleases: z.number().int().min(1).optional(),
  requireTag: z.boolean().optional(),
  build: z
    .strictObject({
      command: z.string().min(1).optional(),
      output: relative.or(z.literal('.')).optional(),
      env: z.record(z.string(), z.string()).optional(),
      passEnv: z.array(envVar).optional(),
      timeoutMs: positiveInt.optional(),
    })
    .optional(),
  shared: z.strictObject({ dirs: z.array(relative).optional(), files: z.array(relative).optional() }).optional(),
  templates: z
    .array(
      z.strictObject({
        src: z.string().min(1),
        dest: relative,
        mode: z.number().int().min(0).max(0o777).optional(),
      }),
    )
    .optional(),
  vars: scalars.optional(),
  secrets: z.array(envVar).optional(),
  secretsFile: z.string().min(1).optional(),
  restart: z.strictObject({ command: z.string().min(1), timeoutMs: positiveInt.optional() }).optional(),
  smoke: z
    .strictObject({
      url: z.string().min(1).optional(),
      expectStatus: z.number().int().min(100).max(599).optional(),
      expectBody: z.string().optional(),
      command: z.string().min(1).optional(),
      retries: z.number().int().min(1).optional(),
      intervalMs: z.number().int().min(0).optional(),
      timeoutMs: positiveInt.optional(),
    })
    .optional(),
  rollout: z
    .strictObject({
      parallel: z.number().int().min(1).max(500).optional(),
      upload: z.enum(['tar', 'rsync']).optional(),
      onFailure: z.enum(['rollback', 'halt']).optional(),
    })
    .optional(),
  lock: z.strictObject({ ttlMs: positiveInt.optional(), heartbeatMs: positiveInt.optional() }).optional(),
  logs: z
    .strictObject({
      dir: relative.optional(),
      pattern: z
        .string()
        .regex(/^[^/]+$/, 'a file name pattern such as *.log')
        .optional(),
    })
    .optional(),
  ssh: z
    .strictObject({
      identityFile: z.string().min(1).optional(),
      knownHostsFile: z.string().min(1).optional(),
      strictHostKeys: z.boolean().optional(),
      connectTimeoutMs: positiveInt.optional(),
    })
    .optional(),
};

export const environmentSchema = z.strictObject(settings);

export const configSchema = z.strictObject({
  project: name,
  repo: z.string().min(1),
  ...settings,
  environments: z
    .record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and "-"'), environmentSchema)
    .optional(),
  schedule: z
    .array(
      z.strictObject({
        name: z
          .string()
          .regex(/^[A-Za-z0-9._-]+$/)
          .optional(),
        env: z.string().min(1),
        cron,
        version: z.string().min(1),
        timezone: timezone.optional(),
      }),
    )
    .optional(),
});
