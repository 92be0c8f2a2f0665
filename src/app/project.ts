// The project on this machine: where its config file is, and whether a directory is in a git repository
// (`deploy init`, `deploy report`, `deploy serve`).
import path from 'node:path';
import { findConfigFile } from '../config/load.js';

export { CONFIG_FILES } from '../config/load.js';
export { knownEnvironments } from '../inventory/load.js';
export { gitTopLevel } from '../transport/git.js';

/** The directory of the nearest deploy.config.ts above the cwd (or of `configPath`). */
export function projectRoot(configPath?: string): string {
  return path.dirname(findConfigFile(process.cwd(), configPath));
}
