// The schema checks, in a module of their own: the schema library is loaded
// only when a config or inventory is new (see validatedOnce in cache.ts).
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import { inventorySchema, type lbSchema } from '../inventory/schema.js';
import type { Inventory } from '../inventory/types.js';
import { formatIssues } from './issues.js';
import type { LbDriverName } from './names.js';
import { configSchema } from './schema.js';
import type { AssertTrue, Equals } from './type-equals.js';
import type { UserConfig } from './types.js';

export { SETTINGS_DEFAULTS } from './schema-defaults.js';

/** Where the installed package keeps the reference of every config field. */
export const CONFIG_REFERENCE = 'node_modules/relink/docs/reference/config.md';

// The types are derived from the schemas; only the list of driver names is written twice (names.ts).
type _LbDrivers = AssertTrue<Equals<z.output<typeof lbSchema>['driver'], LbDriverName>>;

/**
 * Checks a config against the schema and returns it as written: the defaults are filled in per
 * environment by resolveConfig, after the environment's overrides are merged over the top level.
 */
export function validateUserConfig(value: unknown, fileLabel: string): UserConfig {
  const result = configSchema.safeParse(value, { reportInput: true });
  if (!result.success) {
    throw new UsageError(`invalid config:\n  ${formatIssues(fileLabel, result.error).join('\n  ')}`, {
      hint: `fix the keys named above; every field is documented in ${CONFIG_REFERENCE}`,
    });
  }
  return value as UserConfig;
}

export function validateInventory(data: unknown, env: string, label: string): Inventory {
  const result = inventorySchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    throw new UsageError(`invalid inventory:\n  ${formatIssues(label, result.error).join('\n  ')}`, {
      hint: `fix ${label}`,
    });
  }
  const inv = result.data;
  const seen = new Set<string>();
  inv.hosts.forEach((host, i) => {
    if (seen.has(host.name)) {
      throw new UsageError(`${label}: hosts[${i}].name: "${host.name}" is used twice`, {
        hint: 'give every node its own name',
      });
    }
    seen.add(host.name);
  });
  if (inv.pre && !seen.has(inv.pre)) {
    throw new UsageError(`${label}: pre: "${inv.pre}" is not one of the hosts (${[...seen].join(', ')})`, {
      hint: `fix pre in ${label}`,
    });
  }
  return { env, file: label, ...inv };
}
