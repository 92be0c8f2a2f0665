import { inside, releaseDir, type Layout } from './paths.js';
import { and, group, or, type Command } from './tokens.js';

/** Where a release's own settings live, relative to the release dir (see config/release-settings.ts). */
export const RELEASE_SETTINGS_FILE = '.relink/settings.json';
/** A copy larger than this is not read (a node's file is untrusted). */
export const RELEASE_SETTINGS_MAX_BYTES = 64 * 1024;

/** What readSettings prints when the release has no settings file (a release made before they existed). */
export const NO_SETTINGS = '@@relink-no-settings@@';

/** The settings file inside a release dir. */
export function settingsPath(l: Layout, release: string): string {
  return inside(releaseDir(l, release), RELEASE_SETTINGS_FILE);
}

/**
 * Prints a release's settings file, at most one byte past the limit (so an oversized file shows as one), or
 * NO_SETTINGS when there is none. Reading changes nothing.
 */
export function readSettings(l: Layout, release: string): Command {
  const file = settingsPath(l, release);
  return or(
    group(and(['test', '-f', file], ['head', '-c', String(RELEASE_SETTINGS_MAX_BYTES + 1), '--', file])),
    group(and(['test', '!', '-e', file], ['echo', NO_SETTINGS])),
  );
}
