import path from 'node:path/posix';
import { and, or, type Command } from './command.js';
import { releaseDir, assertReleaseName, type Layout } from './paths.js';

/**
 * Points `current` at a release atomically: a symlink under a temp name,
 * then rename(2) over `current` (`mv -T`), so no reader ever sees it missing.
 * The link is relative, so the deploy dir can be moved or mounted elsewhere.
 */
export function relinkCurrent(l: Layout, release: string, runId: string): Command {
  assertReleaseName(release);
  const tmp = path.join(l.deployTo, `.current-${runId}`);
  return and(
    ['test', '-d', releaseDir(l, release)],
    ['ln', '-sfn', path.join('releases', release), tmp],
    ['mv', '-Tf', tmp, l.current],
  );
}

/** Removes `current` (used when the first release ever is rolled back: there is nothing to go back to). */
export function unlinkCurrent(l: Layout): Command {
  return ['rm', '-f', l.current];
}

/** Prints where `current` points, or nothing when there is no `current` yet. */
export function readCurrent(l: Layout): Command {
  return or(['readlink', l.current], ['true']);
}

/**
 * Runs a user command (restart, smoke) in a release dir with the release
 * facts in its environment. The command is a value passed to `sh -c`, so it is
 * quoted like every other value.
 */
export function runInRelease(dir: string, command: string, env: Readonly<Record<string, string>>): Command {
  const assignments = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  return and(['cd', dir], ['env', ...assignments, 'sh', '-c', command]);
}
