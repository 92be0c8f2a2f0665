// The schema checks, in a module of their own: the schema library is loaded
// only when a config or inventory is new (see validatedOnce in cache.ts).
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import { inventorySchema, type lbSchema, type nodeSchema } from '../inventory/schema.js';
import type { Inventory, NodeSpec } from '../inventory/types.js';
import { formatIssues } from './issues.js';
import type { LbDriverName } from './names.js';
import { configSchema, type environmentSchema } from './schema.js';
import type { AssertTrue, DeepMutable, Equals } from './type-equals.js';
import type { EnvironmentSettings, UserConfig } from './types.js';

// The documented types and the schemas must describe the same shape, key for
// key; tsc fails here when one changes without the other. The config schema
// has no defaults or transforms, so what a user writes (input) is also what
// validation returns (output). The inventory types are the output (defaults
// filled in), read-only; the inventory adds its env and file name.
type _ConfigIn = AssertTrue<Equals<z.input<typeof configSchema>, UserConfig>>;
type _ConfigOut = AssertTrue<Equals<z.output<typeof configSchema>, UserConfig>>;
type _Environment = AssertTrue<Equals<z.input<typeof environmentSchema>, EnvironmentSettings>>;
type _Node = AssertTrue<Equals<z.output<typeof nodeSchema>, DeepMutable<NodeSpec>>>;
type _Inventory = AssertTrue<Equals<z.output<typeof inventorySchema>, DeepMutable<Omit<Inventory, 'env' | 'file'>>>>;
type _LbDrivers = AssertTrue<Equals<z.output<typeof lbSchema>['driver'], LbDriverName>>;

export function validateUserConfig(value: unknown, fileLabel: string): UserConfig {
  const result = configSchema.safeParse(value, { reportInput: true });
  if (!result.success) {
    throw new UsageError(`invalid config:\n  ${formatIssues(fileLabel, result.error).join('\n  ')}`, {
      hint: 'fix the keys named above; every field is documented in src/config/types.ts',
    });
  }
  return result.data;
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
