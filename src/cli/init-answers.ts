// The answers of `deploy init`, from its options and (on a terminal) its questions: defaults, parsing and
// checks, pure. A wrong answer is a usage error (exit 2) naming the option.
import { UsageError } from '../errors.js';
import {
  DEFAULT_HOSTS,
  INIT_ENVS,
  type InitAnswers,
  type InitEnv,
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
    const names = splitList(v);
    if (names.length === 0) return 'name at least one node';
    const bad = names.find((n) => !NAME.test(n) || !ADDRESS.test(n));
    if (bad) return `"${bad}": a host name or IP address (letters, digits, "." and "-")`;
    return names.length === new Set(names).size ? undefined : 'a node is named twice';
  },
};

export const splitList = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** `--hosts a,b` (prod) and `--hosts dev=c` (another environment), as given; the rest keep their examples. */
export function parseHosts(values: readonly string[]): Partial<Record<InitEnv, string[]>> {
  const out: Partial<Record<InitEnv, string[]>> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const env = (eq > 0 ? value.slice(0, eq) : 'prod') as InitEnv;
    const list = eq > 0 ? value.slice(eq + 1) : value;
    if (!INIT_ENVS.includes(env))
      throw new UsageError(`--hosts ${value}: "${env}" is not one of ${INIT_ENVS.join(', ')}`);
    const wrong = checks.nodes(list);
    if (wrong) throw new UsageError(`--hosts ${value}: ${wrong}`);
    out[env] = splitList(list);
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
export function questions(flags: InitFlags, dirName: string, given: Partial<Record<InitEnv, string[]>>): Question[] {
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
      ask: 'prod nodes, comma-separated',
      fallback: DEFAULT_HOSTS.prod.join(','),
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
  const hosts = Object.fromEntries(
    INIT_ENVS.map((env) => [
      env,
      given[env] ?? (env === 'prod' && asked.prod ? splitList(asked.prod) : DEFAULT_HOSTS[env]),
    ]),
  ) as Record<InitEnv, string[]>;
  return { ...a, ...service, hosts };
}
