import path from 'node:path/posix';
import { and, op, or, type Command } from './tokens.js';

/**
 * A command that sends stdin to HAProxy's runtime API and prints the answer:
 * a unix socket path or a `host:port` TCP address.
 */
export function haproxyApi(socket: string): Command {
  const target = socket.startsWith('/') ? `unix-connect:${socket}` : `tcp:${socket}`;
  return ['socat', '-t', '5', 'stdio', target];
}

/** What HAProxy itself allows in a proxy or server name; a word of a command may be `backend/server`. */
const HAPROXY_NAME = /^[A-Za-z0-9_.:-]+$/;
const HAPROXY_WORD = /^[A-Za-z0-9_.:-]+(\/[A-Za-z0-9_.:-]+)?$/;

/**
 * One line for HAProxy's runtime API from its words. The API splits commands
 * on `;` and newlines and words on spaces, so a name with any of those would
 * run a second command: every word must be a name HAProxy accepts (or a
 * `backend/server` pair of them), or this throws naming it. The one encoder
 * for that API.
 */
export function haproxyLine(...words: readonly string[]): string {
  for (const word of words) if (!HAPROXY_WORD.test(word)) refuse(word);
  return `${words.join(' ')}\n`;
}

/** `backend/server` for the runtime API, each part checked. */
export function haproxyServer(backend: string, server: string): string {
  for (const name of [backend, server]) if (!HAPROXY_NAME.test(name)) refuse(name);
  return `${backend}/${server}`;
}

function refuse(word: string): never {
  const shown = JSON.stringify(word);
  throw new Error(`${shown} cannot be sent to HAProxy's runtime API: names may hold only letters, digits, . _ : -`);
}

/** Reads a file (the nginx upstream include). */
export function readFile(file: string): Command {
  return ['cat', file];
}

/** Replaces a file atomically with stdin, keeping it beside its original. */
export function writeFile(file: string): Command {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.relink-tmp`);
  return and(['cat', op('>'), tmp], ['mv', '-f', tmp, file]);
}

/** `nginx -t` then a graceful reload, with an optional prefix and config file. */
export function nginxReload(prefix: string | undefined, config: string | undefined): Command {
  const base = ['nginx', ...(prefix ? ['-p', prefix] : []), ...(config ? ['-c', config] : [])];
  return and([...base, '-t', '-q'], [...base, '-s', 'reload']);
}

/** Prints the pid of the nginx master from its pid file. */
export function nginxMasterPid(pidFile: string): Command {
  return ['cat', pidFile];
}

/** Prints the pids of the master's workers, one per line (nothing when there are none). */
export function nginxWorkers(masterPid: number): Command {
  return or(['pgrep', '-P', String(masterPid)], ['true']);
}

/** A user's shell command for the `command` driver, with the node's facts in its environment. */
export function userCommand(command: string, env: Readonly<Record<string, string>>): Command {
  return ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'sh', '-c', command];
}
