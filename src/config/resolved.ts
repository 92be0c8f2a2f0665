// The validated, complete settings of one environment: what resolveConfig (load.ts) returns from a
// UserConfig (types.ts), every default filled in.
import type { NotifySettings } from './notify-types.js';
import type { JumpHop } from './proxy-jump.js';

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
  readonly stop?: Readonly<{ command: string; timeoutMs: number }>;
  readonly smoke?: Readonly<{
    url?: string;
    expectStatus: number;
    expectBody: string;
    command?: string;
    retries: number;
    intervalMs: number;
    timeoutMs: number;
  }>;
  readonly rollout: Readonly<{
    parallel: number;
    onFailure: 'rollback' | 'halt';
    upload: 'tar' | 'rsync';
    fanout: ResolvedFanout;
    maxFailures: number | `${number}%`;
  }>;
  readonly ssh: Readonly<{
    identityFile?: string;
    knownHostsFile: string;
    strictHostKeys: boolean;
    connectTimeoutMs: number;
    /** The jump hosts of ssh.proxyJump, the first hop first; empty: nodes are reached directly. */
    proxyJump: readonly JumpHop[];
    maxConnectionStarts: number;
    commandTimeoutMs: number;
    unpackTimeoutMs: number;
    uploadMinBytesPerSecond: number;
  }>;
  readonly logs: Readonly<{ dir: string; pattern: string }>;
  readonly lock: Readonly<{ ttlMs: number; heartbeatMs: number }>;
  readonly windows: readonly string[];
  readonly timezone: string;
  readonly backup?: Readonly<{ command: string; node?: string; timeoutMs: number }>;
  readonly notify: NotifySettings;
}

/** rollout.fanout with its defaults: how the release gets from this machine to the nodes. */
export interface ResolvedFanout {
  readonly mode: 'push' | 'relay' | 'pull';
  readonly seeds: number;
  readonly width: number;
  readonly from?: readonly string[];
  readonly url?: string;
  readonly publish?: string;
  readonly timeoutMs: number;
}
