import type { UserConfig } from './types.js';

/**
 * Typed identity: gives deploy.config.ts completion and checking, changes nothing. Every field, its
 * default and an example: node_modules/relink/docs/reference/config.md.
 */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}
