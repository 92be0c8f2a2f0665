// The validated, complete settings of one environment: what resolveConfig (load.ts) returns from a
// UserConfig, every default filled in. Derived from the schema's output (defaults make fields present);
// where resolveConfig changes a value's shape (proxyJump parsed into hops) or works it out (deployTo
// checked present, requireTag per environment), the type says so here.
import type { z } from 'zod';
import type { DeepReadonly } from './deep-readonly.js';
import type { ResolvedHooks } from './schema-hooks.js';
import type { JumpHop } from './proxy-jump.js';
import type { ResolvedPeople } from './schema-people.js';
import type { environmentSchema } from './schema.js';

/** One environment's settings as written, merged and with every default filled in (the schema's output). */
export type FilledSettings = z.output<typeof environmentSchema>;
type Settings = FilledSettings;

/** The complete, validated settings for one environment (paths resolved against the config's directory). */
export type ResolvedConfig = DeepReadonly<
  Omit<Settings, 'deployTo' | 'requireTag' | 'ssh' | 'notify' | 'hooks' | 'people'> & {
    /** The environment's owner, approvers and on-call (groups as names), and the groups' members. */
    people: ResolvedPeople & { groups: Record<string, string[]> };
    /** Every hook point with its hooks (none: an empty list), `backup` first of beforeSwitch. */
    hooks: ResolvedHooks;
    project: string;
    /** A URL as written, a local path resolved. */
    repo: string;
    env: string;
    /** The directory of the config file. */
    root: string;
    configFile: string;
    deployTo: string;
    requireTag: boolean;
    ssh: Omit<Settings['ssh'], 'proxyJump'> & {
      /** The jump hosts of ssh.proxyJump, the first hop first; empty: nodes are reached directly. */
      proxyJump: JumpHop[];
    };
  }
> & {
  /** Read-only at the top only: the notification channels take the settings as a user writes them. */
  readonly notify: Settings['notify'];
};

/** rollout.fanout with its defaults: how the release gets from this machine to the nodes. */
export type ResolvedFanout = ResolvedConfig['rollout']['fanout'];
