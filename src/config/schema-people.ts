// The `people` part of the config schema (schema.ts): who owns, approves and is on call for a release, named
// as dashboard users or groups of them; per environment the same fields override the top level's.
import { z } from 'zod';
import { doc } from './schema-parts.js';

/** A dashboard user's name, or a group's (`people.groups`). */
const who = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'a user or group name');

const roles = {
  owner: doc(who.optional(), 'The person (or group) who owns the release: the plan names them. Default: none.', 'ana'),
  approvers: doc(
    z.array(who).optional(),
    'Users or groups who may approve a release. Default: none (top level), the top level (environment).',
    ['ops'],
  ),
  onCall: doc(
    z.array(who).optional(),
    'Users or groups on call while the release goes out. Default: none (top level), the top level (environment).',
    ['bob'],
  ),
};

/** `environments.<env>.people`: the roles of that environment, each one given replacing the top level's. */
export const environmentPeopleSchema = z.strictObject(roles);

export const peopleSchema = z.strictObject({
  groups: doc(
    z.record(who, z.array(who)).optional(),
    'Groups of dashboard users, by name (a role may name a group). Default: none.',
    { ops: ['ana', 'bob'] },
  ),
  ...roles,
});

type People = z.input<typeof peopleSchema>;
type EnvironmentPeople = z.input<typeof environmentPeopleSchema>;

/** What resolvePeople and membersOf read: the config as written (UserConfig has this shape). */
export interface PeopleConfig {
  readonly people?: People;
  readonly environments?: Readonly<Record<string, { readonly people?: EnvironmentPeople } | undefined>>;
}

/** The people of one environment: its own roles over the top level's; groups are kept as names. */
export interface ResolvedPeople {
  readonly owner?: string;
  readonly approvers: string[];
  readonly onCall: string[];
}

export function resolvePeople(config: PeopleConfig, env: string): ResolvedPeople {
  const top = config.people ?? {};
  const own = config.environments?.[env]?.people ?? {};
  const owner = own.owner ?? top.owner;
  return {
    ...(owner ? { owner } : {}),
    approvers: [...(own.approvers ?? top.approvers ?? [])],
    onCall: [...(own.onCall ?? top.onCall ?? [])],
  };
}

/** The users a name stands for: a group's members, or the user themself. */
export function membersOf(config: PeopleConfig, nameOrGroup: string): string[] {
  const group = config.people?.groups?.[nameOrGroup];
  return group ? [...group] : [nameOrGroup];
}
