// The documented shape of deploy.config.ts. The schema in schema.ts must
// accept exactly this shape: validate.ts fails to compile when the two differ.
import type { NotifyEvent, WebhookKind } from './names.js';

/** What a user writes in deploy.config.ts. Every field documents its default. */
export interface UserConfig extends EnvironmentSettings {
  /** Project name: the first part of every release name. Letters, digits, `.` and `-`. */
  project: string;
  /** Git repository of the application: a local path (relative to this file) or a URL. */
  repo: string;
  /** Settings that differ per environment (`dev`, `test`, `pre`, `prod`, ...),
   * merged over the top level. */
  environments?: Record<string, EnvironmentSettings>;
  /** Releases `deploy schedule` makes on its own. Default: none. */
  schedule?: ScheduleEntry[];
}

export interface ScheduleEntry {
  /** Name for `--run-once` and the logs. Default: `<env>-<index>`. */
  name?: string;
  env: string;
  /** Cron expression (5 fields, or 6 with seconds), e.g. `0 17 * * 2,4`. */
  cron: string;
  /** `latest` (highest semver tag), a semver range such as `^1.2`, or
   * `promote:pre` (what passed on pre). */
  version: string;
  /** Time zone of the cron expression. Default: the environment's `timezone`. */
  timezone?: string;
}

export interface NotifySettings {
  /** Webhooks: a generic JSON body, or the message shape of Slack, DingTalk or Feishu. */
  webhooks?: {
    kind?: WebhookKind;
    url?: string;
    /** Environment variable holding the URL (it usually carries a token). */
    urlEnv?: string;
    timeoutMs?: number;
  }[];
  /** Email over SMTP with the release report as the body. */
  email?: {
    host: string;
    port?: number;
    secure?: boolean;
    user?: string;
    /** Environment variable holding the SMTP password. */
    passwordEnv?: string;
    from: string;
    to: string[];
    timeoutMs?: number;
    /** PEM file of a CA to trust for the relay's certificate (a private CA). Default: the system's CAs. */
    caFile?: string;
    /** Send even when the relay's certificate does not verify (a self-signed relay you trust on the path).
     * Default: false: the certificate is verified on TLS and STARTTLS alike. */
    insecureTls?: boolean;
  };
  /** Which events are sent. Default: all of start, success, failure, rollback. */
  on?: NotifyEvent[];
}

export interface EnvironmentSettings {
  /** Absolute directory on every node that holds `releases/`, `shared/` and
   * `current`. Required at top level or per environment. */
  deployTo?: string;
  /** Good releases kept per node by cleanup, besides `current` and the previous
   * good one. Default: 5. */
  keepReleases?: number;
  /** Whether the version must be a tag. Default: true for `pre` and `prod`, false elsewhere. */
  requireTag?: boolean;
  /** How the release is built from a clean export of the commit. Default: no
   * build step, pack the export as is. */
  build?: BuildSettings;
  /** Paths linked from `<deployTo>/shared` into every release. Default: none. */
  shared?: { dirs?: string[]; files?: string[] };
  /** Files rendered per environment and node into the release. Default: none. */
  templates?: TemplateSettings[];
  /** Variables for templates and the smoke URL (`{{ vars.name }}`). Default: none. */
  vars?: Record<string, string | number | boolean>;
  /** Names of secrets (`{{ secret.NAME }}`), read from the environment or
   * `secretsFile`, never logged. Default: none. */
  secrets?: string[];
  /** A dotenv-style file outside the repository that holds secret values.
   * Default: none (environment only). */
  secretsFile?: string;
  /** How the app is restarted on a node after `current` moves. Default: no restart. */
  restart?: RestartSettings;
  /** How a node proves the new release works. Default: no smoke test (a release
   * is good once it is activated). */
  smoke?: SmokeSettings;
  /** How nodes are switched over. */
  rollout?: RolloutSettings;
  /** How nodes are reached. */
  ssh?: SshSettings;
  /** Release windows, e.g. `['Tue 17:00-19:00', 'Thu 17:00-19:00']`; outside
   * them deploys need `--emergency --reason`. Default: always open. */
  windows?: string[];
  /** IANA time zone of windows and schedules. Default: `UTC`. */
  timezone?: string;
  /** A step before rollout, e.g. a database dump; its failure stops the release
   * before any node switches. Default: none. */
  backup?: {
    command: string;
    /** Run on this node of the environment; default: on the deploy machine. */
    node?: string;
    timeoutMs?: number;
  };
  /** Where release notifications go. Default: nowhere. */
  notify?: NotifySettings;
  /** The remote deploy lock. */
  lock?: {
    /** A lock whose heartbeat is older than this is reported as stale. Default: 120000 ms. */
    ttlMs?: number;
    /** How often a running deploy refreshes its lock's heartbeat. Default: 15000 ms. */
    heartbeatMs?: number;
  };
  /** Where `deploy logs` finds the app's logs on a node. */
  logs?: {
    /** Directory under deployTo. Default: `shared/log`. */
    dir?: string;
    /** File name pattern. Default: `*.log`. */
    pattern?: string;
  };
}

export interface BuildSettings {
  /** Shell command run in the clean export, e.g. `npm ci && npm run build`. Default: none. */
  command?: string;
  /** Directory of the export that is packed, relative to its root. Default: `.`
   * (everything). */
  output?: string;
  /** Extra environment for the build command. Default: none. */
  env?: Record<string, string>;
  /** Variables of the deploy machine's environment passed on to the build, by name. The build gets only these,
   * `env`, RELINK_* and the basics (PATH, HOME, USER, LANG, LC_*, TZ, TMPDIR, TERM, CI, proxies). Default: none. */
  passEnv?: string[];
  /** Time limit for the build in ms. Default: 600000. */
  timeoutMs?: number;
}

export interface TemplateSettings {
  /** Template file, relative to the project root (usually under `templates/`). */
  src: string;
  /** Destination inside the release. */
  dest: string;
  /** File mode. Default: 0o600. */
  mode?: number;
}

export interface RestartSettings {
  /** Shell command run in the new release dir on the node, with RELINK_* variables set. */
  command: string;
  /** Time limit in ms; past it the restart counts as failed. Default: 30000. */
  timeoutMs?: number;
}

export interface SmokeSettings {
  /** URL requested from the deploy machine, with template variables
   * (`http://{{ node.address }}:{{ host.appPort }}/health`). */
  url?: string;
  /** Expected HTTP status. Default: 200. */
  expectStatus?: number;
  /** Text the response body must contain, with template variables. Default: `{{ version }}`. */
  expectBody?: string;
  /** Alternatively a shell command run on the node in the release dir; exit 0 means healthy. */
  command?: string;
  /** Attempts before the smoke test fails. Default: 20. */
  retries?: number;
  /** Pause between attempts in ms. Default: 250. */
  intervalMs?: number;
  /** Time limit of one attempt in ms. Default: 2000. */
  timeoutMs?: number;
}

export interface RolloutSettings {
  /** Nodes worked on at once during distribute. Default: 10. */
  parallel?: number;
  /**
   * How a release reaches the nodes: `tar` uploads the tarball over the run's
   * SSH connection (needs only tar on the node); `rsync` copies the build
   * directory with --link-dest against the current release, also over the
   * run's SSH connection, so unchanged files cost neither bytes nor disk
   * (needs rsync on both ends). Default: `tar`.
   */
  upload?: 'tar' | 'rsync';
  /** On a failure after nodes switched: roll them back, or halt and leave them.
   * Default: `rollback`. */
  onFailure?: 'rollback' | 'halt';
}

export interface SshSettings {
  /** Private key. Default: ~/.ssh/id_ed25519, then ~/.ssh/id_rsa. */
  identityFile?: string;
  /** known_hosts used to verify host keys. Default: ~/.ssh/known_hosts. */
  knownHostsFile?: string;
  /** Verify host keys against knownHostsFile. Default: true. Turning it off is
   * logged on every run. */
  strictHostKeys?: boolean;
  /** Time limit for connecting in ms. Default: 10000. */
  connectTimeoutMs?: number;
}

/** The complete, validated settings for one environment. */
export interface ResolvedConfig {
  readonly project: string;
  readonly repo: string;
  readonly env: string;
  readonly root: string;
  readonly configFile: string;
  readonly deployTo: string;
  readonly keepReleases: number;
  readonly requireTag: boolean;
  readonly build: Readonly<{
    command?: string;
    output: string;
    env: Readonly<Record<string, string>>;
    passEnv: readonly string[];
    timeoutMs: number;
  }>;
  readonly shared: Readonly<{ dirs: readonly string[]; files: readonly string[] }>;
  readonly templates: readonly Readonly<{ src: string; dest: string; mode: number }>[];
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  readonly secrets: readonly string[];
  readonly secretsFile?: string;
  readonly restart?: Readonly<{ command: string; timeoutMs: number }>;
  readonly smoke?: Readonly<{
    url?: string;
    expectStatus: number;
    expectBody: string;
    command?: string;
    retries: number;
    intervalMs: number;
    timeoutMs: number;
  }>;
  readonly rollout: Readonly<{ parallel: number; onFailure: 'rollback' | 'halt'; upload: 'tar' | 'rsync' }>;
  readonly ssh: Readonly<{
    identityFile?: string;
    knownHostsFile: string;
    strictHostKeys: boolean;
    connectTimeoutMs: number;
  }>;
  readonly logs: Readonly<{ dir: string; pattern: string }>;
  readonly lock: Readonly<{ ttlMs: number; heartbeatMs: number }>;
  readonly windows: readonly string[];
  readonly timezone: string;
  readonly backup?: Readonly<{ command: string; node?: string; timeoutMs: number }>;
  readonly notify: NotifySettings;
}
