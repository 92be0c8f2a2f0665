import { z } from 'zod';
import { Cron } from 'croner';
import { checkTimezone, parseWindow } from '../gates/window.js';

/** Runs a parser as a zod check, its error message becoming the issue message. */
function parsed(parse: (value: string) => unknown) {
  return z.string().superRefine((value, ctx) => {
    try {
      parse(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });
}

const cron = parsed((p) => new Cron(p, { paused: true }).stop());
const timezone = parsed(checkTimezone);
const envVar = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
const notify = z.strictObject({
  webhooks: z
    .array(
      z
        .strictObject({ kind: z.enum(['json', 'slack', 'dingtalk', 'feishu']).optional(), url: z.url().optional(), urlEnv: envVar.optional(), timeoutMs: z.number().int().positive().optional() })
        .refine((w) => Boolean(w.url) !== Boolean(w.urlEnv), 'set exactly one of "url" or "urlEnv"'),
    )
    .optional(),
  email: z
    .strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).optional(),
      secure: z.boolean().optional(),
      user: z.string().optional(),
      passwordEnv: envVar.optional(),
      from: z.string().min(3),
      to: z.array(z.string().min(3)).min(1),
      timeoutMs: z.number().int().positive().optional(),
    })
    .optional(),
  on: z.array(z.enum(['start', 'success', 'failure', 'rollback'])).optional(),
});

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'letters, digits, "." and "-" only, starting with a letter or digit');
const absolute = z.string().regex(/^\/[^\0]*$/, 'an absolute path').refine((p) => !p.split('/').includes('..'), 'no ".." parts');
const relative = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a path relative to the release, without ".."');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

const settings = {
  windows: z.array(parsed(parseWindow)).optional(),
  timezone: timezone.optional(),
  backup: z.strictObject({ command: z.string().min(1), node: z.string().optional(), timeoutMs: z.number().int().positive().optional() }).optional(),
  notify: notify.optional(),
  deployTo: absolute.optional(),
  keepReleases: z.number().int().min(1).optional(),
  requireTag: z.boolean().optional(),
  build: z
    .strictObject({
      command: z.string().min(1).optional(),
      output: relative.or(z.literal('.')).optional(),
      env: z.record(z.string(), z.string()).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .optional(),
  shared: z.strictObject({ dirs: z.array(relative).optional(), files: z.array(relative).optional() }).optional(),
  templates: z
    .array(z.strictObject({ src: z.string().min(1), dest: relative, mode: z.number().int().min(0).max(0o777).optional() }))
    .optional(),
  vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  secrets: z.array(envName).optional(),
  secretsFile: z.string().min(1).optional(),
  restart: z.strictObject({ command: z.string().min(1), timeoutMs: z.number().int().positive().optional() }).optional(),
  smoke: z
    .strictObject({
      url: z.string().min(1).optional(),
      expectStatus: z.number().int().min(100).max(599).optional(),
      expectBody: z.string().optional(),
      command: z.string().min(1).optional(),
      retries: z.number().int().min(1).optional(),
      intervalMs: z.number().int().min(0).optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .optional(),
  rollout: z
    .strictObject({
      parallel: z.number().int().min(1).max(500).optional(),
      upload: z.enum(['tar', 'rsync']).optional(),
      onFailure: z.enum(['rollback', 'halt']).optional(),
    })
    .optional(),
  lock: z.strictObject({ ttlMs: z.number().int().positive().optional(), heartbeatMs: z.number().int().positive().optional() }).optional(),
  logs: z.strictObject({ dir: relative.optional(), pattern: z.string().regex(/^[^/]+$/, 'a file name pattern such as *.log').optional() }).optional(),
  ssh: z
    .strictObject({
      identityFile: z.string().min(1).optional(),
      knownHostsFile: z.string().min(1).optional(),
      strictHostKeys: z.boolean().optional(),
      connectTimeoutMs: z.number().int().positive().optional(),
    })
    .optional(),
};

export const environmentSchema = z.strictObject(settings);

export const configSchema = z.strictObject({
  project: name,
  repo: z.string().min(1),
  ...settings,
  environments: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and "-"'), environmentSchema).optional(),
  schedule: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
        env: z.string().min(1),
        cron,
        version: z.string().min(1),
        timezone: timezone.optional(),
      }),
    )
    .optional(),
});

const groupSize = z.union([
  z.number().int().min(1),
  z.string().regex(/^\d{1,3}%$/, 'a number of nodes or a percentage such as "25%"'),
]);

export const nodeSchema = z.strictObject({
  name,
  address: z.string().min(1).regex(/^[A-Za-z0-9.:_-]+$/, 'a host name or IP address'),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().regex(/^[a-z_][a-z0-9_.-]*$/, 'a user name').default('deploy'),
  roles: z.array(z.string()).default([]),
  vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});

const lbCommon = {
  /** Where LB commands run: the deploy machine (default) or this host over SSH. */
  host: z.strictObject({ address: z.string().regex(/^[A-Za-z0-9.:_-]+$/), port: z.number().int().min(1).max(65535).default(22), user: z.string().default('root') }).optional(),
  /** Longest wait for in-flight requests to finish on a drained node. */
  drainTimeoutMs: z.number().int().min(0).default(30_000),
  /** Longest wait for the LB to report a node up after it was put back. */
  serveTimeoutMs: z.number().int().min(0).default(30_000),
  /** Fewest nodes that must stay serving while others are drained: a number or a percentage. */
  minServing: groupSizeLike().default(1),
  /** Nodes that are not behind the load balancer (a pre node that takes no outside traffic). */
  exclude: z.array(z.string()).default([]),
};

function groupSizeLike() {
  return z.union([z.number().int().min(0), z.string().regex(/^\d{1,3}%$/, 'a number of nodes or a percentage such as "50%"')]);
}

export const lbSchema = z.discriminatedUnion('driver', [
  z.strictObject({ driver: z.literal('haproxy'), socket: z.string().min(1), backend: z.string().min(1), ...lbCommon }),
  z.strictObject({ driver: z.literal('nginx'), upstreamFile: z.string().min(1), prefix: z.string().optional(), config: z.string().optional(), pidFile: z.string().default('/run/nginx.pid'), server: z.string().default('{{ node.address }}:{{ host.appPort }}'), ...lbCommon }),
  z.strictObject({ driver: z.literal('command'), drain: z.string().min(1), undrain: z.string().min(1), check: z.string().optional(), ...lbCommon }),
  z.strictObject({ driver: z.literal('none'), ...lbCommon }),
]);

export const inventorySchema = z.strictObject({
  pre: name.optional(),
  groupSize: groupSize.default(1),
  vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  lb: lbSchema.optional(),
  hosts: z.array(nodeSchema).min(1, 'at least one host'),
});

/** `hosts[2].port`, the way a person reads a path into a YAML or config file. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(top level)';
}

/** One line per problem: `<file>: <path>: <what is wrong>`. */
export function formatIssues(file: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => `${file}: ${formatPath(issue.path)}: ${describeIssue(issue)}`);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return `required (${article(issue.expected)})`;
    return `expected ${article(issue.expected)}, got ${JSON.stringify(issue.input)}`;
  }
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  return issue.message.replace(/^Invalid string: /, 'expected ');
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
