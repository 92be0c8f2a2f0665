import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError, errorMessage } from '../errors.js';
import { validatedOnce } from './cache.js';
import { requireCjs } from '../cjs.js';
import { parseProxyJump } from './proxy-jump.js';
import type { EnvironmentSettings, FanoutSettings, ResolvedConfig, UserConfig } from './types.js';
import type { ResolvedFanout } from './resolved.js';

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

/** Loads and validates deploy.config.ts (TypeScript is loaded with jiti). */
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
  return validatedOnce(path.join(path.dirname(file), '.relink', 'cache'), 'config', loaded, async (value) =>
    (await import('./validate.js')).validateUserConfig(value, path.basename(file)),
  );
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

/** Merges one environment's overrides over the top level and fills every default. */
export function resolveConfig(user: UserConfig, env: string, configFile: string): ResolvedConfig {
  const root = path.dirname(configFile);
  const over: EnvironmentSettings = user.environments?.[env] ?? {};
  const pick = <K extends keyof EnvironmentSettings>(key: K): EnvironmentSettings[K] => over[key] ?? user[key];
  const merge = <K extends 'build' | 'smoke' | 'rollout' | 'ssh' | 'restart' | 'stop'>(key: K) =>
    ({ ...(user[key] ?? {}), ...(over[key] ?? {}) }) as NonNullable<EnvironmentSettings[K]>;

  const deployTo = pick('deployTo');
  if (!deployTo) {
    throw new UsageError(
      `${path.basename(configFile)}: deployTo: required (top level or environments.${env}.deployTo)`,
      {
        hint: "set deployTo: '/srv/<project>' in deploy.config.ts",
      },
    );
  }
  const build = merge('build');
  const smoke = user.smoke || over.smoke ? merge('smoke') : undefined;
  if (smoke && Boolean(smoke.url) === Boolean(smoke.command)) {
    throw new UsageError(
      `${path.basename(configFile)}: smoke: set exactly one of "url" or "command" (environment ${env})`,
      {
        hint: "e.g. smoke: { url: 'http://{{ node.address }}:8080/health' }",
      },
    );
  }
  const restart = user.restart || over.restart ? merge('restart') : undefined;
  const stop = user.stop || over.stop ? merge('stop') : undefined;
  const rollout = merge('rollout');
  const ssh = merge('ssh');
  const fromRoot = (p: string) => path.resolve(root, expandHome(p));
  const repo = resolveRepo(user, configFile);

  return {
    project: user.project,
    repo,
    env,
    root,
    configFile,
    deployTo,
    keepReleases: pick('keepReleases') ?? 5,
    requireTag: pick('requireTag') ?? (env === 'pre' || env === 'prod'),
    build: {
      command: build.command,
      output: build.output ?? '.',
      env: build.env ?? {},
      passEnv: build.passEnv ?? [],
      timeoutMs: build.timeoutMs ?? 600_000,
    },
    shared: { dirs: pick('shared')?.dirs ?? [], files: pick('shared')?.files ?? [] },
    templates: (pick('templates') ?? []).map((t) => ({ src: fromRoot(t.src), dest: t.dest, mode: t.mode ?? 0o600 })),
    vars: { ...(user.vars ?? {}), ...(over.vars ?? {}) },
    secrets: [...new Set([...(user.secrets ?? []), ...(over.secrets ?? [])])],
    secretsFile: pick('secretsFile') ? fromRoot(pick('secretsFile')!) : undefined,
    restart: restart?.command ? { command: restart.command, timeoutMs: restart.timeoutMs ?? 30_000 } : undefined,
    stop: stop?.command ? { command: stop.command, timeoutMs: stop.timeoutMs ?? 30_000 } : undefined,
    smoke: smoke
      ? {
          url: smoke.url,
          command: smoke.command,
          expectStatus: smoke.expectStatus ?? 200,
          expectBody: smoke.expectBody ?? '{{ version }}',
          retries: smoke.retries ?? 20,
          intervalMs: smoke.intervalMs ?? 250,
          timeoutMs: smoke.timeoutMs ?? 2000,
        }
      : undefined,
    rollout: {
      parallel: rollout.parallel ?? 10,
      onFailure: rollout.onFailure ?? 'rollback',
      upload: rollout.upload ?? 'tar',
      fanout: resolveFanout(rollout.fanout, env, configFile),
      maxFailures: rollout.maxFailures ?? 0,
    },
    windows: pick('windows') ?? [],
    timezone: pick('timezone') ?? 'UTC',
    backup: pick('backup')
      ? {
          command: pick('backup')!.command,
          node: pick('backup')!.node,
          timeoutMs: pick('backup')!.timeoutMs ?? 600_000,
        }
      : undefined,
    notify: pick('notify') ?? {},
    lock: { ttlMs: pick('lock')?.ttlMs ?? 120_000, heartbeatMs: pick('lock')?.heartbeatMs ?? 15_000 },
    logs: { dir: pick('logs')?.dir ?? 'shared/log', pattern: pick('logs')?.pattern ?? '*.log' },
    ssh: {
      identityFile: ssh.identityFile ? fromRoot(ssh.identityFile) : undefined,
      knownHostsFile: fromRoot(ssh.knownHostsFile ?? '~/.ssh/known_hosts'),
      strictHostKeys: ssh.strictHostKeys ?? true,
      connectTimeoutMs: ssh.connectTimeoutMs ?? 10_000,
      proxyJump: parseProxyJump(ssh.proxyJump ?? ''),
      maxConnectionStarts: ssh.maxConnectionStarts ?? 10,
      commandTimeoutMs: ssh.commandTimeoutMs ?? 30_000,
      unpackTimeoutMs: ssh.unpackTimeoutMs ?? 300_000,
      uploadMinBytesPerSecond: ssh.uploadMinBytesPerSecond ?? 262_144,
    },
  };
}

/** rollout.fanout with its defaults; `pull` needs the URL the nodes fetch from. */
function resolveFanout(fanout: FanoutSettings | undefined, env: string, configFile: string): ResolvedFanout {
  const mode = fanout?.mode ?? 'push';
  if (mode === 'pull' && !fanout?.url) {
    throw new UsageError(`${path.basename(configFile)}: rollout.fanout: mode 'pull' needs a url (environment ${env})`, {
      hint: "e.g. fanout: { mode: 'pull', url: 'https://artifacts.example.com/{{ release }}.tar.gz' }",
    });
  }
  return {
    mode,
    seeds: fanout?.seeds ?? 2,
    width: fanout?.width ?? 4,
    from: fanout?.from,
    url: fanout?.url,
    publish: fanout?.publish,
    timeoutMs: fanout?.timeoutMs ?? 600_000,
  };
}
