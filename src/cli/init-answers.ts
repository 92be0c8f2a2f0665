// The answers of `deploy init`, from its options and (on a terminal) its questions: defaults, parsing and
// checks, pure. A wrong answer is a usage error (exit 2) naming the option.
import { UsageError } from '../errors.js';
import {
  DEFAULT_HOSTS,
  INIT_ENVS,
  type InitAnswers,
  type InitEnv,
  type InitHost,
  LB_CHOICES,
  type LbChoice,
  SERVICE_CHOICES,
  type ServiceChoice,
} from './init-files.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;
const ADDRESS = /^[A-Za-z0-9.:_-]+$/;
const USER = /^[a-z_][a-z0-9_.-]*$/;

/** A project name made from the repository's directory name: `My App` -> `My-App`; `app` when nothing is left. */
export function projectFrom(dir: string): string {
  const name = dir
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/-+$/, '');
  return name || 'app';
}

/** Each check returns what is wrong with an answer, or undefined. */
export const checks = {
  project: (v: string) =>
    NAME.test(v) ? undefined : `"${v}": letters, digits, "." and "-" only, starting with a letter or digit`,
  deployTo: (v: string) =>
    v.startsWith('/') && !/\p{Cc}/u.test(v) && !v.split('/').includes('..')
      ? undefined
      : `"${v}": an absolute path without ".."`,
  lb: (v: string) =>
    (LB_CHOICES as readonly string[]).includes(v)
      ? undefined
      : `"${v}": ${LB_CHOICES.slice(0, -1).join(', ')} or ${LB_CHOICES.at(-1)}`,
  service: (v: string) =>
    (SERVICE_CHOICES as readonly string[]).includes(v)
      ? undefined
      : `"${v}": ${SERVICE_CHOICES.slice(0, -1).join(', ')} or ${SERVICE_CHOICES.at(-1)}`,
  user: (v: string) => (USER.test(v) ? undefined : `"${v}": a user name (lower-case letters, digits, "_", "-", ".")`),
  nodes: (v: string) => {
    const entries = splitList(v);
    if (entries.length === 0) return 'name at least one node';
    const hosts: InitHost[] = [];
    for (const entry of entries) {
      const host = parseHost(entry);
      if (typeof host === 'string') return host;
      hosts.push(host);
    }
    const names = hosts.map((h) => h.name);
    return names.length === new Set(names).size ? undefined : 'a node is named twice (name them: name=address:port)';
  },
};

export const splitList = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * One node as `[name=]address[:port]` (an IPv6 address in brackets when it has a port: `[::1]:2222`): the
 * node, or what is wrong with it. Without a name the address is the name.
 */
export function parseHost(entry: string): InitHost | string {
  const eq = entry.indexOf('=');
  const name = eq >= 0 ? entry.slice(0, eq) : undefined;
  let rest = entry.slice(eq + 1);
  let port: number | undefined;
  const bracketed = /^\[([^\]]*)\](?::(\d*))?$/.exec(rest);
  const withPort = /^([^:]*):(\d*)$/.exec(rest);
  if (bracketed) [rest, port] = [bracketed[1]!, bracketed[2] === undefined ? undefined : Number(bracketed[2])];
  else if (withPort) [rest, port] = [withPort[1]!, Number(withPort[2])];
  if (!rest || !ADDRESS.test(rest)) return `"${entry}": a host name or IP address, with :port if not 22`;
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535))
    return `"${entry}": a port is a number from 1 to 65535`;
  const node = name ?? rest;
  if (!NAME.test(node))
    return name === undefined
      ? `"${entry}": name this node: name=${entry}`
      : `"${entry}": a node name has letters, digits, "." and "-" only`;
  return { name: node, address: rest, ...(port === undefined ? {} : { port }) };
}

/** The nodes of one `--hosts` list (checked by checks.nodes first). */
export const parseList = (v: string): InitHost[] => splitList(v).map((e) => parseHost(e) as InitHost);

/**
 * `--hosts a,b` or `--hosts web1=10.0.0.5:2222,web2=...` (prod), and `--hosts dev=c` (another environment,
 * whose nodes follow the `=`: `--hosts dev=d1=10.0.0.9:2222`). A node named as an environment is written
 * `prod=dev=address`. Only the environments named here (and prod) get a hosts file.
 */
export function parseHosts(values: readonly string[]): Partial<Record<InitEnv, InitHost[]>> {
  const out: Partial<Record<InitEnv, InitHost[]>> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const head = value.slice(0, eq);
    const named = eq > 0 && (INIT_ENVS as readonly string[]).includes(head);
    const env = (named ? head : 'prod') as InitEnv;
    const list = named ? value.slice(eq + 1) : value;
    const wrong = checks.nodes(list);
    if (wrong) throw new UsageError(`--hosts ${value}: ${wrong}`);
    out[env] = parseList(list);
  }
  return out;
}

export interface InitFlags {
  project?: string;
  deployTo?: string;
  lb?: string;
  hosts?: string[];
  user?: string;
  service?: string;
}

/** One question: what it asks, its default, and the check of its answer. */
export interface Question {
  readonly key: 'project' | 'deployTo' | 'lb' | 'prod' | 'user';
  readonly ask: string;
  readonly fallback: string;
  readonly check: (v: string) => string | undefined;
}

/** The questions the options have not answered, in the order they are asked; each default follows the last. */
export function questions(flags: InitFlags, dirName: string, given: Partial<Record<InitEnv, unknown>>): Question[] {
  const list: Question[] = [];
  const project = flags.project ?? projectFrom(dirName);
  if (flags.project === undefined)
    list.push({ key: 'project', ask: 'project name', fallback: project, check: checks.project });
  if (flags.deployTo === undefined)
    list.push({ key: 'deployTo', ask: 'directory on the nodes', fallback: `/srv/${project}`, check: checks.deployTo });
  if (flags.lb === undefined)
    list.push({ key: 'lb', ask: 'load balancer of prod (haproxy, nginx, none)', fallback: 'none', check: checks.lb });
  if (!given.prod)
    list.push({
      key: 'prod',
      ask: 'prod nodes, comma-separated ([name=]address[:port])',
      fallback: DEFAULT_HOSTS.prod.map((h) => h.name).join(','),
      check: checks.nodes,
    });
  if (flags.user === undefined)
    list.push({ key: 'user', ask: 'SSH user on the nodes', fallback: 'deploy', check: checks.user });
  return list;
}

/** The answers: options first, then what was asked (`asked`), then the defaults; every one checked. */
export function answers(
  flags: InitFlags,
  dirName: string,
  asked: Partial<Record<Question['key'], string>> = {},
): InitAnswers {
  const given = parseHosts(flags.hosts ?? []);
  const project = flags.project ?? asked.project ?? projectFrom(dirName);
  const a = {
    project,
    deployTo: flags.deployTo ?? asked.deployTo ?? `/srv/${project}`,
    lb: (flags.lb ?? asked.lb ?? 'none') as LbChoice,
    user: flags.user ?? asked.user ?? 'deploy',
  };
  for (const [key, option] of [
    ['project', '--project'],
    ['deployTo', '--deploy-to'],
    ['lb', '--lb'],
    ['user', '--user'],
  ] as const) {
    const wrong = checks[key](a[key]);
    if (wrong) throw new UsageError(`${option} ${wrong}`);
  }
  const wrongService = flags.service === undefined ? undefined : checks.service(flags.service);
  if (wrongService) throw new UsageError(`--service ${wrongService}`);
  const service = flags.service === undefined ? {} : { service: flags.service as ServiceChoice };
  // Prod always (its example nodes when nobody named them); another environment only when named.
  const hosts = {
    ...given,
    prod: given.prod ?? (asked.prod ? parseList(asked.prod) : DEFAULT_HOSTS.prod),
  } as InitAnswers['hosts'];
  return { ...a, ...service, hosts };
}
