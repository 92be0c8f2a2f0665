import { createRequire } from 'node:module';

/**
 * Loads a CommonJS package that stays outside the bundle (jiti, yaml) with
 * require: `import()` of a CommonJS package makes Node scan its source (and
 * what it re-exports) for named exports.
 */
export const requireCjs = createRequire(import.meta.url);
