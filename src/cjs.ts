import { createRequire } from 'node:module';

/**
 * Loads a CommonJS package with require. `import()` of a CommonJS package
 * makes Node scan its source (and what it re-exports) for named exports,
 * which cost ~35 ms per run for node-ssh, ssh2 and yaml together.
 */
export const requireCjs = createRequire(import.meta.url);
