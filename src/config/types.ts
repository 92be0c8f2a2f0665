// The documented shape of deploy.config.ts. The schema in schema.ts must
// accept exactly this shape: validate.ts fails to compile when the two differ.
// Each field's JSDoc is its schema description word for word (the reference in
// docs/reference/ is generated from those; test/unit/docs.test.ts compares).
import type { NotifySettings } from './notify-types.js';
import type { BuildSettings, RestartSettings, SmokeSettings, TemplateSettings } from './step-types.js';

export type { NotifySettings } from './notify-types.js';
export type { BuildSettings, RestartSettings, SmokeSettings, TemplateSettings } from './step-types.js';
export type { ResolvedConfig } from './resolved.js';

/** What a user writes in deploy.config.ts. Every field documents its default. */
export interface UserConfig extends EnvironmentSettings {
  /**
   * Project name: the first part of every release name. Letters, digits, `.` and `-`, starting with a
   * letter or digit.
   */
  project: string;
  /** Git repository of the application: a local path (relative to this file) or a URL. */
  repo: string;
  /**
   * Settings that differ per environment (`dev`, `test`, `pre`, `prod`, ...), merged over the top level:
   * `build`, `smoke`, `rollout`, `ssh` and `restart` key by key, `vars` name by name, `secrets` added to;
   * every other setting replaces the top-level one. Default: none.
   */
  environments?: Record<string, EnvironmentSettings>;
  /** Releases `deploy schedule` makes on its own. Default: none. */
  schedule?: ScheduleEntry[];
}

export interface ScheduleEntry {
  /** Name for `--run-once` and the logs. Default: `<env>-<n>`, n its place in the list from 1. */
  name?: string;
  /** The environment it releases to (a hosts/<env>.yaml file). */
  env: string;
  /** Cron expression (5 fields, or 6 with seconds), e.g. `0 17 * * 2,4`. */
  cron: string;
  /**
   * What it releases: `latest` (the highest version tag that is not a pre-release), a tag that exists
   * (itself), a semver range such as `*`, `>=1`, `^3` or `~1.2` (the highest version tag inside it;
   * pre-releases only when the range names one), or `promote:pre` (the version every pre node runs and
   * proved good). A version tag is an optional `v` and one to three numbers, the missing ones 0 (`v1` is
   * 1.0.0, `v1.2` is 1.2.0), maybe with a pre-release part (`v2.0.0-rc.1`); other tags are never picked by
   * `latest` or a range. Of two tags of one version (`v1`, `v1.0.0`) the one with more numbers written
   * wins, then byte order.
   */
  version: string;
  /** Time zone of the cron expression. Default: the environment's `timezone`. */
  timezone?: string;
}

export interface EnvironmentSettings {
  /**
   * Absolute directory on every node that holds `releases/`, `shared/` and `current`. Required at top
   * level or per environment.
   */
  deployTo?: string;
  /** Good releases kept per node by cleanup, besides `current` and the previous good one. Default: 5. */
  keepReleases?: number;
  /** Whether the version must be a tag. Default: true for `pre` and `prod`, false elsewhere. */
  requireTag?: boolean;
  /** How the release is built from a clean export of the commit. Default: no build step, pack the export as is. */
  build?: BuildSettings;
  /** Paths linked from `<deployTo>/shared` into every release. Default: none. */
  shared?: {
    /** Directories, relative to the release. Default: none. */
    dirs?: string[];
    /** Files, relative to the release. Default: none. */
    files?: string[];
  };
  /** Files rendered per environment and node into the release. Default: none. */
  templates?: TemplateSettings[];
  /** Variables for templates and the smoke URL (`{{ vars.name }}`). Default: none. */
  vars?: Record<string, string | number | boolean>;
  /**
   * Names of secrets (`{{ secret.NAME }}`), read from the environment or `secretsFile`, never logged.
   * Default: none.
   */
  secrets?: string[];
  /**
   * A dotenv-style file (`NAME=value` lines) that holds secret values, relative to this file and kept out
   * of git (ignored, or outside the repository). Default: none (environment only).
   */
  secretsFile?: string;
  /** How the app is restarted on a node after `current` moves. Default: no restart. */
  restart?: RestartSettings;
  /**
   * How the app is stopped on a node, run in the release it runs from. Undoing a node that had no release
   * before runs it (and keeps the node out of the load balancer). Default: none (the node stays drained,
   * and relink says what may still run there).
   */
  stop?: RestartSettings;
  /** How a node proves the new release works. Default: no smoke test (a release is good once it is activated). */
  smoke?: SmokeSettings;
  /** How nodes are switched over. */
  rollout?: RolloutSettings;
  /** How nodes are reached. */
  ssh?: SshSettings;
  /**
   * Release windows, e.g. `['Tue 17:00-19:00', 'Thu 17:00-19:00']` (a window may span midnight); outside
   * them deploys need `--emergency --reason`. Default: always open.
   */
  windows?: string[];
  /** IANA time zone of windows and schedules. Default: `UTC`. */
  timezone?: string;
  /**
   * A step before rollout, e.g. a database dump; its failure stops the release before any node switches.
   * Default: none.
   */
  backup?: {
    /**
     * Shell command: on the deploy machine in the project directory, or with `node` on that node in
     * deployTo; with RELINK_* variables set.
     */
    command: string;
    /** Run on this node of the environment. Default: on the deploy machine. */
    node?: string;
    /** Time limit of the backup in ms. Default: 600000. */
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

export interface RolloutSettings {
  /** Nodes worked on at once during distribute. Default: 10. */
  parallel?: number;
  /**
   * How a release reaches the nodes: `tar` uploads the tarball over the run's SSH connection (needs only
   * tar on the node); `rsync` copies the build directory with --link-dest against the current release,
   * also over the run's SSH connection, so unchanged files cost neither bytes nor disk (needs rsync on
   * both ends). Default: `tar`.
   */
  upload?: 'tar' | 'rsync';
  /**
   * How the release gets from this machine to the nodes: push, relay or pull (`upload` says how this machine
   * sends it, for push and for relay's seeds). Per environment it is replaced whole, not merged key by key.
   * Default: push.
   */
  fanout?: FanoutSettings;
  /** On a failure after nodes switched: roll them back, or halt and leave them. Default: `rollback`. */
  onFailure?: 'rollback' | 'halt';
  /**
   * Nodes a deploy may set aside and still release: a number, or a percentage of the run's nodes rounded
   * down (10% of 25 nodes: 2). A node that cannot be reached, fails its upload, or fails or dies during
   * its switch is put back on its release, kept out of the load balancer, named and journaled, and the
   * release goes on to the rest; the deploy then exits 5 and `deploy <env> <version> --retry-failed`
   * brings those nodes up to it. The pre node is never set aside. Default: 0 (the first failure stops
   * the release).
   */
  maxFailures?: number | `${number}%`;
}

export interface SshSettings {
  /**
   * Private key, relative to this file or under `~/`. Default: the first of ~/.ssh/id_ed25519,
   * ~/.ssh/id_ecdsa and ~/.ssh/id_rsa that exists.
   */
  identityFile?: string;
  /** known_hosts used to verify host keys. Default: ~/.ssh/known_hosts. */
  knownHostsFile?: string;
  /** Verify host keys against knownHostsFile; turning it off is logged on every run. Default: true. */
  strictHostKeys?: boolean;
  /** Time limit for connecting in ms. Default: 10000. */
  connectTimeoutMs?: number;
  /**
   * Jump hosts (bastions) the nodes are reached through, as OpenSSH's ProxyJump: `[user@]host[:port]`,
   * several separated by commas, the first hop first; the user defaults to `deploy` and the port to 22.
   * Every hop logs in with the same key and has its host key checked against knownHostsFile like a node;
   * all nodes behind a jump host share one connection to it. A host's own `proxyJump` (hosts/<env>.yaml)
   * wins; the LB host (`lb.host`) goes through this one too. Default: none (nodes are reached directly).
   */
  proxyJump?: string;
  /**
   * SSH handshakes started at once (jump hosts included); the others wait their turn. A handshake the server
   * drops before it begins (sshd's MaxStartups) is retried up to 4 times after a jittered pause that
   * doubles from 250 ms; a failed login or host-key check is never retried. Default: 10.
   */
  maxConnectionStarts?: number;
  /**
   * Time limit in ms of each of relink's own short commands on a node (lock, inspect, journal, linking shared
   * paths, relink); past it the command is ended on the node and the step fails. Default: 30000.
   */
  commandTimeoutMs?: number;
  /** Time limit in ms of unpacking a release and of removing old ones on a node. Default: 300000. */
  unpackTimeoutMs?: number;
  /**
   * The slowest upload rate relink waits for, in bytes per second: an upload's time limit is
   * commandTimeoutMs plus its size at this rate. Default: 262144 (256 KiB/s).
   */
  uploadMinBytesPerSecond?: number;
}

export interface FanoutSettings {
  /**
   * How the release gets to the nodes. `push`: this machine sends it to every node. `relay`: this machine
   * sends it to `seeds` nodes, and every node that has it passes it on to up to `width` more (rsync over
   * SSH between the nodes, hard-linked against each node's current release, with a key made for the run).
   * `pull`: every node fetches the tarball from `url` and checks its sha256 before unpacking. Default: `push`.
   */
  mode?: 'push' | 'relay' | 'pull';
  /**
   * relay: how many nodes this machine sends the release to itself (the first ones in the inventory), as
   * push does. Default: 2.
   */
  seeds?: number;
  /** relay: how many nodes each node that has the release sends it on to, at once. Default: 4. */
  width?: number;
  /**
   * relay: where a receiving node accepts the run's key from (sshd's `from=`: addresses, CIDR blocks or
   * patterns), for nodes that see each other at other addresses than the inventory names (NAT, a second
   * network). Default: the sending node's inventory address.
   */
  from?: string[];
  /**
   * pull: where every node fetches the release tarball, with template variables (`{{ release }}`,
   * `{{ sha256 }}`, `{{ version }}`, `{{ host.name }}`, ...; no secrets). http or https; certificates are
   * verified. Required for `pull`.
   */
  url?: string;
  /**
   * pull: a shell command run on this machine in the project directory that puts the tarball where `url`
   * serves it, with `{{ file }}`, `{{ release }}`, `{{ sha256 }}` and `{{ version }}` (shell-quoted) and
   * RELINK_* variables. Default: none (`url` already serves it).
   */
  publish?: string;
  /** Time limit of the publish, of one fetch and of one node-to-node copy in ms. Default: 600000. */
  timeoutMs?: number;
}
