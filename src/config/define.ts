import type { UserConfig } from './types.js';

/** Typed identity: gives deploy.config.ts completion and checking, changes nothing. */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}
