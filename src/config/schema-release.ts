// The `release` setting of deploy.config.ts: what of the build's output goes into a release.
import { z } from 'zod';
import { globRegExp } from './glob.js';
import { doc, parsed } from './schema-parts.js';

/**
 * Left out of every release whatever `release.exclude` says (`release.include` brings any of them back):
 * relink's own files (the config, the inventory, the templates), which the nodes never read. The
 * secrets file is left out as well, always (pruneRelease's `never`).
 */
export const DEFAULT_EXCLUDE: readonly string[] = [
  'deploy.config.ts',
  'deploy.config.mts',
  'deploy.config.js',
  'deploy.config.mjs',
  'hosts/',
  'templates/',
];

const glob = parsed(globRegExp);

export const releaseSchema = z.strictObject({
  exclude: doc(
    z.array(glob).default([]),
    "Globs of paths left out of the release, added to those left out by default: relink's own files " +
      '(`deploy.config.ts` (`.mts`, `.js`, `.mjs`), `hosts/`, `templates/`) and the `secretsFile`. Matched ' +
      'against the whole path relative to the release root after the build: `*` and `?` stay within one ' +
      'path part (and match names starting with `.`), `**` spans any number of parts, `[a-z]` and `[!a-z]` ' +
      'are sets; a trailing `/` matches directories only; a directory left out takes everything under it.',
    ['src/', '**/*.map', 'test/**'],
  ),
  include: doc(
    z.array(glob).default([]),
    'Globs (as in `exclude`) of paths kept although an `exclude` glob or a default matches them or a ' +
      'directory above them; the `secretsFile` is never kept.',
    ['templates/public/**'],
  ),
});
