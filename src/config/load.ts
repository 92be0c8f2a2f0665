import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolvePeople } from './schema-people.js';
import { UsageError, errorMessage } from '../errors.js';
import { validatedOnce } from './cache.js';
import { requireCjs } from '../cjs.js';
import { parseProxyJump } from './proxy-jump.js';
import { fillDefaults, rememberSettingsDefaults, settingsDefaults } from './defaults.js';
import { resolveHooks } from './hooks.js';
import type { FilledSettings } from './resolved.js';
import type { EnvironmentSettings, ResolvedConfig, UserConfig } from './types.js';

export const CONFIG_FILES = ['deploy.config.ts', 'deploy.config.mts', 'deploy.config.js', 'deploy.config.mjs'];

/** Finds deploy.config.* in `start` or the nearest directory above it. */
export function findConfigFile(start: string, explicit?: string): string {
  if (explicit) {
    const file = path.resolve(start, explicit);
    if (!fs.existsSync(file))
      throw new UsageError(`config file not found: ${file}`, { hint: 'check the --config path' });
    return file;
  }
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    for (const name of CONFIG_FILES) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) return file;
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new UsageError(`no deploy.config.ts in ${start} or any directory above it`, {
    hint: 'run relink from your project directory, or pass --config <file>',
  });
}

/**
 * Loads and validates deploy.config.ts (TypeScript is loaded with jiti). The validation is cached with the
 * schema's defaults (defaults.ts), so that resolveConfig can fill them in without loading the schema.
 */
export async function loadUserConfig(file: string): Promise<UserConfig> {
  const { createJiti } = requireCjs('jiti') as typeof import('jiti');
  // The transpiled config is cached on disk (keyed by content), which saves ~150 ms per run.
  const jiti = createJiti(import.meta.url, { interopDefault: true, moduleCache: false, fsCache: true });
  let loaded: unknown;
  try {
    loaded = await jiti.import(file, { default: true });
  } catch (error) {
    throw new UsageError(`${path.basename(file)} could not be loaded: ${errorMessage(error)}`, {
      hint: 'fix the error in the config file; `export default defineConfig({...})` is expected',
      cause: error,
    });
  }
  const cache = path.join(path.dirname(file), '.relink', 'cache');
  const valid = await validatedOnce(cache, 'config', loaded, async (value) => {
    const { validateUserConfig, SETTINGS_DEFAULTS } = await import('./validate.js');
    return { config: validateUserConfig(value, path.basename(file)), defaults: SETTINGS_DEFAULTS };
  });
  rememberSettingsDefaults(valid.defaults);
  return valid.config;
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** The application repository: a URL as is, a local path relative to the config file. */
export function resolveRepo(user: UserConfig, configFile: string): string {
  return /^[a-z+]+:\/\/|^[^/]+@[^/]+:/.test(user.repo)
    ? user.repo
    : path.resolve(path.dirname(configFile), expandHome(user.repo));
}

/** Settings an environment merges key by key over the top level's (the others replace them whole). */
const KEY_BY_KEY = ['build', 'smoke', 'rollout', 'ssh', 'restart', 'stop', 'service', 'hooks'] as const;

/** The settings of one environment as written: its overrides merged over the top level. */
function mergedSettings(user: UserConfig, env: string): EnvironmentSettings {
  const { project: _p, repo: _r, environments, schedule: _s, people: _pe, ...top } = user;
  const over: EnvironmentSettings = environments?.[env] ?? {};
  const merged: Record<string, unknown> = {};
  const { people: _own, ...rest } = over;
  for (const key of new Set([...Object.keys(top), ...Object.keys(rest)]) as Set<keyof typeof top>) {
    merged[key] = rest[key] ?? top[key];
  }
  for (const key of KEY_BY_KEY) {
    if (top[key] || over[key]) merged[key] = { ...top[key], ...over[key] };
  }
  merged.vars = { ...top.vars, ...over.vars };
  merged.secrets = [...new Set([...(top.secrets ?? []), ...(over.secrets ?? [])])];
  return merged as EnvironmentSettings;
}

/**
 * One environment's settings: its overrides merged over the top level, then the schema's defaults filled
 * in (no other check; resolveConfig makes them).
 */
export function environmentSettings(user: UserConfig, env: string): FilledSettings {
  return fillDefaults(mergedSettings(user, env), settingsDefaults()) as FilledSettings;
}

/** Merges one environment's overrides over the top level and fills in the schema's defaults. */
export function resolveConfig(user: UserConfig, env: string, configFile: string): ResolvedConfig {
  const root = path.dirname(configFile);
  const file = path.basename(configFile);
  const settings = environmentSettings(user, env);
  const { deployTo, smoke, rollout, ssh } = settings;
  if (!deployTo) {
    throw new UsageError(`${file}: deployTo: required (top level or environments.${env}.deployTo)`, {
      hint: "set deployTo: '/srv/<project>' in deploy.config.ts",
    });
  }
  if (smoke && Boolean(smoke.url) === Boolean(smoke.command)) {
    throw new UsageError(`${file}: smoke: set exactly one of "url" or "command" (environment ${env})`, {
      hint: "e.g. smoke: { url: 'http://{{ node.address }}:8080/health' }",
    });
  }
  if (settings.service && (settings.restart || settings.stop)) {
    throw new UsageError(`${file}: service: set either service or restart/stop, not both (environment ${env})`, {
      hint: 'with service set, relink restarts and stops the app through its manager: remove restart and stop',
    });
  }
  if (rollout.fanout.mode === 'pull' && !rollout.fanout.url) {
    throw new UsageError(`${file}: rollout.fanout: mode 'pull' needs a url (environment ${env})`, {
      hint: "e.g. fanout: { mode: 'pull', url: 'https://artifacts.example.com/{{ release }}.tar.gz' }",
    });
  }
  const fromRoot = (p: string) => path.resolve(root, expandHome(p));
  return {
    ...settings,
    hooks: resolveHooks(settings, file, env),
    people: { ...resolvePeople(user, env), groups: { ...user.people?.groups } },
    project: user.project,
    repo: resolveRepo(user, configFile),
    env,
    root,
    configFile,
    deployTo,
    // The one default that depends on the environment, as the schema's description of requireTag says.
    requireTag: settings.requireTag ?? (env === 'pre' || env === 'prod'),
    templates: settings.templates.map((t) => ({ ...t, src: fromRoot(t.src) })),
    secretsFile: settings.secretsFile === undefined ? undefined : fromRoot(settings.secretsFile),
    ssh: {
      ...ssh,
      identityFile: ssh.identityFile === undefined ? undefined : fromRoot(ssh.identityFile),
      knownHostsFile: fromRoot(ssh.knownHostsFile),
      proxyJump: parseProxyJump(ssh.proxyJump ?? ''),
    },
  };
}
