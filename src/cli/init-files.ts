// What `deploy init` writes, as text: pure functions of the answers (no I/O), so a test can read every
// file without running the command. cli/init.ts asks the questions and writes these.
import { INIT_LB_DRIVERS, INIT_SERVICE_MANAGERS, type InitLbDriver } from '../app/names.js';

/** The environments init makes a hosts file for, in the order a release travels. */
export const INIT_ENVS = ['dev', 'test', 'pre', 'prod'] as const;
export type InitEnv = (typeof INIT_ENVS)[number];

export const LB_CHOICES = INIT_LB_DRIVERS;
export type LbChoice = InitLbDriver;

/** The git-ignored file of secret values the config names (`secretsFile`). */
export const SECRETS_FILE = 'deploy.secrets.env';

/** A node as `--hosts` names it: `name=address:port`, or just the address (its name too). */
export interface InitHost {
  readonly name: string;
  readonly address: string;
  /** The SSH port, when not 22. */
  readonly port?: number;
}

/** What `--service` takes: the manager that runs the app on the nodes (`none`: the setting stays a comment). */
export const SERVICE_CHOICES = INIT_SERVICE_MANAGERS;
export type ServiceChoice = (typeof SERVICE_CHOICES)[number];

export interface InitAnswers {
  readonly project: string;
  /** The process manager of `service`; absent or `none`: the setting is written as a comment. */
  readonly service?: ServiceChoice;
  readonly deployTo: string;
  readonly lb: LbChoice;
  /** The nodes per environment: prod always, another environment only when it was named. */
  readonly hosts: Readonly<Partial<Record<InitEnv, readonly InitHost[]>>> & { readonly prod: readonly InitHost[] };
  readonly user: string;
}

/** Where the reference lives once relink is installed in the project. */
const REF = 'node_modules/relink/docs/reference';
const SERVICE_DOC = 'node_modules/relink/docs/service.md';
export const HOSTS_SCHEMA_COMMENT =
  '# yaml-language-server: $schema=../node_modules/relink/docs/schema/hosts.schema.json';

/** Example nodes of prod when nobody named them (no other environment gets a hosts file unnamed). */
export const DEFAULT_HOSTS = {
  prod: [
    { name: 'web1', address: 'web1' },
    { name: 'web2', address: 'web2' },
  ],
} as const satisfies Readonly<Record<'prod', readonly InitHost[]>>;

const q = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function configFile(a: InitAnswers): string {
  return `// How relink builds and releases ${a.project}: \`deploy <env> <tag>\` (the nodes of each environment are in
// hosts/<env>.yaml). Every field, its default and an example: ${REF}/config.md
import { defineConfig } from 'relink';

export default defineConfig({
  project: ${q(a.project)},
  // This repository: relink builds a clean export of the tag (or, outside pre and prod, branch or commit).
  repo: '.',
  // On every node: releases/, shared/ and current -> the running release.
  deployTo: ${q(a.deployTo)},
  // build: { command: 'npm ci && npm run build' }, // run in the export; what it leaves is released
  // Linked from <deployTo>/shared into every release; \`deploy logs\` reads shared/log/*.log.
  shared: { dirs: ['log'] },
  // Rendered per node into every release: ${REF}/templates.md
  templates: [{ src: 'templates/app.env', dest: 'app.env' }],
  vars: {},
  // secrets: ['APP_SECRET'], // {{ secret.APP_SECRET }} in templates: from the environment or secretsFile
  secretsFile: ${q(SECRETS_FILE)}, // NAME=value lines; git-ignored, never printed
${serviceLines(a)}
  // smoke: { url: 'http://{{ node.address }}:{{ host.appPort }}/health' }, // a release is good once it passes
  // windows: ['Tue 17:00-19:00', 'Thu 17:00-19:00'], timezone: 'Europe/Berlin',
  // environments: { dev: { vars: { debug: true } } }, // per-environment settings over these
});
`;
}

/** The service setting: written out for `--service <manager>`, else a comment beside the restart one. */
function serviceLines(a: InitAnswers): string {
  const manager = a.service && a.service !== 'none' ? a.service : undefined;
  const setting = `service: { manager: ${q(manager ?? 'systemd')}, unit: ${q(a.project)}, start: 'exec npm start' },`;
  if (!manager)
    return `  // ${setting} // ${SERVICE_DOC}
  // restart: { command: 'sudo systemctl restart ${a.project}' }, // or this: on the node, in the new release`;
  const how =
    manager === 'systemd'
      ? 'a systemd user unit of the SSH user (it must linger: deploy doctor checks it)'
      : 'start-stop-daemon with a pid file, and an @reboot line in the crontab of the SSH user';
  return `  // The app on every node: ${how}. start runs in <deployTo>/current, in the foreground; relink restarts it
  // after each release and it starts again when the node boots: ${SERVICE_DOC}
  ${setting}`;
}

function lbBlock(lb: LbChoice, user: string): string[] {
  if (lb === 'haproxy')
    return [
      'lb:',
      '  driver: haproxy',
      "  socket: /run/haproxy/admin.sock # HAProxy's `stats socket ... level admin`, or host:port of a TCP one",
      '  backend: app # its servers are named as the nodes (or their vars.lbServer)',
      `  # host: { address: lb1, user: ${user} } # run the LB commands there over SSH`,
      '  # minServing: 1 # fewest nodes serving while others are drained (a number or "50%")',
    ];
  if (lb === 'nginx')
    return [
      'lb:',
      '  driver: nginx',
      '  upstreamFile: /etc/nginx/conf.d/upstream-app.conf # the `server address:port;` lines of the upstream',
      "  # server: '{{ node.address }}:{{ host.appPort }}' # how a node is written there",
      `  # host: { address: lb1, user: ${user} } # run the LB commands there over SSH`,
    ];
  return ['# lb: { driver: haproxy, socket: /run/haproxy/admin.sock, backend: app } # or nginx, command'];
}

/** A node; the first one with a comment on each line, so the file explains itself once. */
function hostLines(host: InitHost, a: InitAnswers, first: boolean): string[] {
  const note = (text: string) => (first ? ` # ${text}` : '');
  return [
    `  - name: ${host.name}${note('in output and journals; the server name at the load balancer')}`,
    `    address: ${host.address}${note('host name or IP address')}`,
    `    user: ${a.user}${note(`an ordinary user that can write ${a.deployTo}`)}`,
    ...(host.port !== undefined ? [`    port: ${host.port}${note('SSH port')}`] : first ? ['    # port: 22'] : []),
    `    vars: { appPort: 3000 }${note('{{ host.appPort }} in templates and the smoke URL')}`,
  ];
}

export function hostsFile(env: InitEnv, a: InitAnswers): string {
  const hosts = a.hosts[env] ?? [];
  const several = hosts.length > 1;
  const lines = [
    HOSTS_SCHEMA_COMMENT,
    `# ${env}: the nodes \`deploy ${env} <version>\` releases ${a.project} to. Every field, its default and an`,
    `# example: ${REF}/hosts.md`,
    '',
  ];
  if (env === 'prod') {
    lines.push(
      '# Released and smoke-tested first, alone: a failure there stops the release before any other node',
      '# changes. With preInPool: false it takes no outside traffic (the load balancer must not list it).',
      `${several ? '' : '# '}pre: ${hosts[0]?.name}`,
      '# preInPool: false',
      '# Nodes switched at once after pre: a number, or a percentage such as "25%".',
      'groupSize: 1',
      ...lbBlock(a.lb, a.user),
    );
  } else {
    lines.push(...lbBlock('none', a.user));
  }
  lines.push('hosts:', ...hosts.flatMap((h, i) => hostLines(h, a, i === 0)));
  return `${lines.join('\n')}\n`;
}

export function templateFile(): string {
  return `# Rendered by relink into every release as app.env (mode 0600), per environment and node.
# Variables: ${REF}/templates.md
APP_ENV={{ env }}
APP_VERSION={{ version }}
APP_RELEASE={{ release }}
NODE_NAME={{ node.name }}
PORT={{ host.appPort }}
`;
}

/** Every file init writes, relative to the repository root. */
export function initFiles(a: InitAnswers): Map<string, string> {
  return new Map([
    ['deploy.config.ts', configFile(a)],
    ...INIT_ENVS.filter((env) => a.hosts[env]).map((env) => [`hosts/${env}.yaml`, hostsFile(env, a)] as const),
    ['templates/app.env', templateFile()],
  ]);
}

/** Lines .gitignore needs: the secrets file and relink's state (.relink/). */
export const IGNORED = [SECRETS_FILE, '.relink/'] as const;

/** .gitignore with the missing IGNORED lines appended (undefined when nothing is missing). */
export function withIgnored(current: string | undefined): string | undefined {
  const have = new Set((current ?? '').split('\n').map((l) => l.trim().replace(/^\//, '')));
  const missing = IGNORED.filter((l) => !have.has(l) && !have.has(l.replace(/\/$/, '')));
  if (missing.length === 0) return undefined;
  const text = current ?? '';
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  return `${text}${sep}${text ? '\n' : ''}# relink: secret values and local state\n${missing.join('\n')}\n`;
}
