// The schema checks, in a module of their own: the schema library is loaded
// only when a config or inventory is new (see validatedOnce in cache.ts).
import { UsageError } from '../errors.js';
import type { Inventory } from '../inventory/types.js';
import { configSchema, formatIssues, inventorySchema } from './schema.js';
import type { UserConfig } from './types.js';

export function validateUserConfig(value: unknown, fileLabel: string): UserConfig {
  const result = configSchema.safeParse(value, { reportInput: true });
  if (!result.success) {
    throw new UsageError(`invalid config:\n  ${formatIssues(fileLabel, result.error).join('\n  ')}`, {
      hint: 'fix the keys named above; every field is documented in src/config/types.ts',
    });
  }
  return result.data as UserConfig;
}

export function validateInventory(data: unknown, env: string, label: string): Inventory {
  const result = inventorySchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    throw new UsageError(`invalid inventory:\n  ${formatIssues(label, result.error).join('\n  ')}`, { hint: `fix ${label}` });
  }
  const inv = result.data;
  const seen = new Set<string>();
  inv.hosts.forEach((host, i) => {
    if (seen.has(host.name)) throw new UsageError(`${label}: hosts[${i}].name: "${host.name}" is used twice`, { hint: 'give every node its own name' });
    seen.add(host.name);
  });
  if (inv.pre && !seen.has(inv.pre)) {
    throw new UsageError(`${label}: pre: "${inv.pre}" is not one of the hosts (${[...seen].join(', ')})`, { hint: `fix pre in ${label}` });
  }
  return { env, file: label, ...inv } as Inventory;
}
