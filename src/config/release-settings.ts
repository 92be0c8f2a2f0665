// The settings a release carries: written into every release at distribute time (`.relink/settings.json`
// inside the release dir), read back from the node when a rollback (or the undo of a failed deploy) brings
// the release back, so the release restarts, stops, runs its node-side hooks and is smoke-tested the way it was
// deployed, not the way today's deploy.config.ts says. Only what acts on the node is here: what runs on the
// deploy machine (the build, `on: local` hooks, notifications, the load balancer) always comes from the local
// config. A node's copy is untrusted: size-limited, parsed with a strict schema, and it only ever shapes
// commands run on that node itself (a carried `once` hook runs on the node whose copy it came from).
import { z } from 'zod';
import { Redactor } from '../log/redact.js';
import { carriedHooksSchema, nodeHooksOf } from './carried-hooks.js';
import { isReleaseName } from '../remote/paths.js';
import { RELEASE_SETTINGS_MAX_BYTES } from '../remote/release-settings.js';
import { envVar } from './schema-parts.js';
import { relative, restartSchema, smokeSchema } from './schema-settings.js';
import { serviceSchema } from './schema-service.js';
import type { ResolvedConfig } from './types.js';

/** The format this relink writes and reads; a file of another version falls back to the current config. */
export const RELEASE_SETTINGS_VERSION = 1;

const smoke = smokeSchema.refine(
  (s) => Boolean(s.url) !== Boolean(s.command),
  'smoke: exactly one of "url" and "command"',
);

/**
 * The node-side settings of a release. New node-side settings are added here and in
 * `nodeSettingsOf`; the format version changes only when an older relink could not ignore what was added.
 */
export const nodeSettingsSchema = z.strictObject({
  restart: restartSchema.optional(),
  stop: restartSchema.optional(),
  smoke: smoke.optional(),
  shared: z.strictObject({ dirs: z.array(relative), files: z.array(relative) }),
  /** The app's service (start command, environment, manager): a rollback starts the release as it was started. */
  service: serviceSchema.optional(),
  /**
   * The node-side hooks (`on: each|once`), by point (config/carried-hooks.ts). Absent in a file written before
   * releases carried their hooks: the local config's node-side hooks act on such a release.
   */
  hooks: carriedHooksSchema.optional(),
});

/** The file as written: the format version, the release it belongs to, its node-side settings. */
export const releaseSettingsSchema = z.strictObject({
  version: z.literal(RELEASE_SETTINGS_VERSION),
  release: z.string().refine(isReleaseName, 'a release name'),
  settings: nodeSettingsSchema,
  /** Names of the secrets the release's templates could use; never a value. */
  secrets: z.array(envVar),
});

export type NodeSettings = z.output<typeof nodeSettingsSchema>;
export type ReleaseSettings = z.output<typeof releaseSettingsSchema>;

/** The node-side settings of the local config (today's deploy.config.ts for this environment). */
export function nodeSettingsOf(config: ResolvedConfig): NodeSettings {
  const { restart, stop, smoke, shared, service, hooks } = config;
  return structuredClone({
    ...(service ? { service } : {}),
    ...(restart ? { restart } : {}),
    ...(stop ? { stop } : {}),
    ...(smoke ? { smoke } : {}),
    shared: { dirs: [...shared.dirs], files: [...shared.files] },
    hooks: nodeHooksOf(hooks),
  }) as NodeSettings;
}

/**
 * The file a release gets, as text. Settings are stored as written (a template stays a template), with the
 * names of the secrets; a setting that holds a secret's value is refused (the error names the setting and
 * the secret, never the value): nothing that lands on a node's disk outside a template may hold one.
 */
export function releaseSettingsText(
  config: ResolvedConfig,
  release: string,
  secrets: Readonly<Record<string, string>>,
): string {
  const document: ReleaseSettings = {
    version: RELEASE_SETTINGS_VERSION,
    release,
    settings: nodeSettingsOf(config),
    secrets: [...config.secrets],
  };
  for (const [name, value] of Object.entries(secrets)) {
    const one = new Redactor();
    one.add(value);
    const holding = settingNames(document.settings, one);
    if (holding.length) throw new SecretInSettings(name, holding);
  }
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** A setting whose text holds a secret's value. */
export class SecretInSettings extends Error {
  constructor(
    readonly secret: string,
    readonly settings: readonly string[],
  ) {
    super(`${settings.join(', ')} holds the value of secret ${secret}`);
    this.name = 'SecretInSettings';
  }
}

/** The settings (`restart.command`, `smoke.url`) whose text the redactor changes. */
function settingNames(settings: NodeSettings, redactor: Redactor): string[] {
  const out: string[] = [];
  const walk = (value: unknown, at: string) => {
    if (typeof value === 'string') {
      if (redactor.apply(value) !== value) out.push(at);
    } else if (value && typeof value === 'object')
      for (const [key, inner] of Object.entries(value)) walk(inner, at ? `${at}.${key}` : key);
  };
  walk(settings, '');
  return out;
}

/** What a node's copy says: its settings, or why they cannot be used. */
export type ReadSettings = { readonly settings: NodeSettings } | { readonly problem: string };

/** Parses a node's copy of a release's settings; anything off is a problem, never an exception. */
export function parseReleaseSettings(text: string, release: string): ReadSettings {
  if (Buffer.byteLength(text) > RELEASE_SETTINGS_MAX_BYTES)
    return { problem: `larger than ${RELEASE_SETTINGS_MAX_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'not JSON' };
  }
  const version = (value as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version !== RELEASE_SETTINGS_VERSION)
    return { problem: `format version ${version}, this relink reads ${RELEASE_SETTINGS_VERSION}` };
  const parsed = releaseSettingsSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { problem: `not a settings file (${issue.path.join('.') || 'top'}: ${issue.message})` };
  }
  if (parsed.data.release !== release) return { problem: `written for another release (${parsed.data.release})` };
  return { settings: parsed.data.settings };
}

/** The setting names on which two copies differ (`restart`, `smoke`), for a warning; key order does not count. */
export function differences(a: NodeSettings, b: NodeSettings): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as (keyof NodeSettings)[];
  return keys.filter((k) => canonical(a[k]) !== canonical(b[k])).sort();
}

/** JSON with every object's keys sorted. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => x.localeCompare(y)))
      : v,
  );
}
