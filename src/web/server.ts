// `deploy serve`: checks where it may listen, builds the state source and the app, listens, and on
// SIGINT/SIGTERM stops listening and lets the runs it started finish undoing before it exits.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { processRedactor } from '../log/redact.js';
import { listen, type WebServer } from '../app/serve.js';
import { nodeActions } from './actions.js';
import { createApp } from './app.js';
import { Sessions } from './auth.js';
import { StreamLimits } from './stream-limits.js';
import { LoginLimiter } from './login-limit.js';
import { FileRuns } from './runs.js';
import { NodeSource } from './source.js';
import type { StateSource } from './types.js';
import { LastUsed, seenFile } from './seen.js';
import { readUsers, type UsersFile } from './users.js';

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly usersFile: string;
  readonly tls?: { readonly cert: string; readonly key: string };
  /** A reverse proxy in front terminates TLS and sets X-Forwarded-For and -Host (trusted only then). */
  readonly behindProxy?: boolean;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Where the dashboard may listen: nowhere without a user to log in; beyond this machine only with
 * TLS, by relink or by a proxy that says so, since passwords and session cookies cross that network.
 */
export function checkBind(options: ServeOptions, users: UsersFile): void {
  if (users.users.length === 0 && users.tokens.length === 0) {
    throw new UsageError(`no users in ${options.usersFile}: nobody could log in`, {
      hint: 'add one first: deploy serve --add-user NAME --role deployer (reads the password from stdin)',
    });
  }
  if (!isLoopback(options.host) && !options.tls && !options.behindProxy) {
    throw new UsageError(
      `refusing to serve on ${options.host} without TLS: ` +
        'passwords and session cookies would cross the network in clear',
      {
        hint:
          'give --tls-cert and --tls-key, or --behind-proxy when a reverse proxy terminates TLS in front of ' +
          'relink, or keep the default --host 127.0.0.1',
      },
    );
  }
}

/**
 * The users file, re-read when it changes (a removed user, or one with a new password, is logged out at
 * their next request). Every write renames a new file into place, so its inode tells a change even
 * within one tick of the clock and at the same size.
 */
function usersReader(file: string): () => UsersFile {
  let seen = '';
  let value: UsersFile = { users: [], tokens: [] };
  return () => {
    const stat = fs.existsSync(file) ? fs.statSync(file) : undefined;
    const key = stat ? `${stat.ino}:${stat.mtimeMs}:${stat.size}:${stat.mode}` : 'absent';
    if (key !== seen) {
      try {
        value = readUsers(file);
      } catch (error) {
        process.stderr.write(`warning: ${(error as Error).message}: nobody can log in until it is fixed\n`);
        value = { users: [], tokens: [] };
      }
      seen = key;
    }
    return value;
  };
}

/** Starts the dashboard on a state source (the real one, or a test's). */
export async function startServer(options: ServeOptions, source: StateSource): Promise<WebServer> {
  const users = usersReader(options.usersFile);
  checkBind(options, readUsers(options.usersFile));
  const secure = Boolean(options.tls || options.behindProxy);
  const handler = createApp({
    source,
    users,
    sessions: new Sessions(),
    limiter: new LoginLimiter(),
    streams: new StreamLimits(),
    seen: new LastUsed(seenFile(options.usersFile)),
    secureCookies: secure,
    trustProxy: Boolean(options.behindProxy),
  });
  return listen(handler, { host: options.host, port: options.port, tls: options.tls });
}

export async function serve(options: ServeOptions & { configPath?: string; cacheMs: number }): Promise<void> {
  checkBind(options, readUsers(options.usersFile));
  let runs: FileRuns | undefined;
  const source = await NodeSource.open(
    { configPath: options.configPath, ttlMs: options.cacheMs },
    (stateDir) => {
      runs = new FileRuns(stateDir);
      return runs;
    },
    (made) => nodeActions(made, runs!, options.configPath, path.dirname(options.usersFile)),
  );
  // Teach the redactor every environment's secrets before the first answer.
  await Promise.all(source.environments().map((env) => source.env(env)));
  const server = await startServer(options, source);
  process.stdout.write(
    `relink dashboard for ${source.project}: ${server.url} (environments: ${source.environments().join(', ')})\n`,
  );
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    await server.close();
    const live = [...runs!.web.values()].filter((r) => !r.done);
    if (live.length) {
      const names = live.map((r) => `${r.command} (run ${r.run})`).join(', ');
      process.stdout.write(processRedactor.apply(`${signal}: waiting for ${names} to stop and undo\n`));
      while (live.some((r) => !r.done)) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    process.exit(live.length ? 130 : 0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await new Promise(() => undefined);
}
