import path from 'node:path/posix';
import { and, group, op, or, type Command } from './tokens.js';
import { incomingDelta } from './delta.js';
import { inside, releaseDir, type Layout } from './paths.js';

/** Checks that deployTo exists (or can be made) and that this user may write there. */
export function checkWritable(l: Layout): Command {
  return and(['mkdir', '-p', l.incoming, l.releases, l.shared], ['test', '-w', l.deployTo], ['test', '-w', l.releases]);
}

/**
 * Prints the sha256 of an uploaded file (the first word of the line); the caller compares it. OpenSSL's where
 * the node has it (about 7x less CPU than coreutils' sha256sum: remote/delta.ts), else sha256sum's.
 */
export function checksum(file: string): Command {
  const openssl = and(['command', '-v', 'openssl', op('>/dev/null')], ['openssl', 'dgst', '-sha256', '-r', file]);
  return or(group(openssl), ['sha256sum', '--', file]);
}

/** Where the tarball of a release is uploaded before unpacking. */
export function incomingTarball(l: Layout, release: string): string {
  return path.join(l.incoming, `${release}.tar.gz`);
}

/**
 * Unpacks an uploaded tarball into a fresh release dir, then removes the
 * tarball. `--no-same-owner` so files belong to the deploying user; GNU tar
 * refuses members with `..` and strips leading `/` on its own.
 */
export function unpackRelease(l: Layout, release: string, tarball: string): Command {
  const dir = releaseDir(l, release);
  return and(
    ['rm', '-rf', dir],
    ['mkdir', '-p', dir],
    ['tar', '-xzf', tarball, '-C', dir, '--no-same-owner', '--no-overwrite-dir'],
    ['rm', '-f', tarball],
  );
}

/** Removes release dirs (and any half-uploaded tarballs or delta tars of them). */
export function removeReleases(l: Layout, releases: readonly string[]): Command {
  if (releases.length === 0) return ['true'];
  return [
    'rm',
    '-rf',
    ...releases.flatMap((name) => [releaseDir(l, name), incomingTarball(l, name), incomingDelta(l, name)]),
  ];
}

/**
 * Links shared dirs and files into a release. A shared dir is created when
 * missing; a shared file must already exist on the node (it usually holds
 * settings nobody should invent), so its absence fails the step.
 */
export function linkShared(l: Layout, release: string, dirs: readonly string[], files: readonly string[]): Command {
  const dir = releaseDir(l, release);
  const steps: Command[] = [];
  for (const entry of dirs) {
    const target = inside(l.shared, entry);
    const link = inside(dir, entry);
    steps.push(['mkdir', '-p', target, path.dirname(link)], ['rm', '-rf', link], ['ln', '-s', target, link]);
  }
  for (const entry of files) {
    const target = inside(l.shared, entry);
    const link = inside(dir, entry);
    steps.push(
      group(
        or(
          ['test', '-e', target],
          group(and(['echo', `shared file missing on the node: ${target}`, op('>&2')], ['exit', '3'])),
        ),
      ),
      ['mkdir', '-p', path.dirname(link)],
      ['rm', '-rf', link],
      ['ln', '-s', target, link],
    );
  }
  return steps.length === 0 ? ['true'] : and(...steps);
}

/**
 * Writes stdin to a file inside a release with the given mode. The content
 * travels on stdin, never on the command line, so rendered secrets never
 * show up in a process list or a log.
 */
export function writeReleaseFile(l: Layout, release: string, relative: string, mode: number): Command {
  const file = inside(releaseDir(l, release), relative);
  const tmp = `${file}.relink-tmp`;
  return and(
    ['mkdir', '-p', path.dirname(file)],
    ['umask', '077'],
    ['cat', op('>'), tmp],
    ['chmod', mode.toString(8), tmp],
    ['mv', '-f', tmp, file],
  );
}

/** Lists release dir names on the node, one per line. */
export function listReleases(l: Layout): Command {
  return or(['ls', '-1', l.releases, op('2>/dev/null')], ['true']);
}

/**
 * After rsync into a release dir: gives the files rsync wrote (a link count of 1: not linked from the
 * current release) and every directory the commit's time, `seconds` since the epoch. Linked files keep
 * the time of the release they came with, so an unchanged file keeps one inode and one time.
 */
export function stampWritten(l: Layout, release: string, seconds: number): Command {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new Error(`not a commit time: ${seconds}`);
  // touch -t reads local time: with TZ=UTC0 it is UTC, on any node.
  // 2026-12-07T12:53:19.000Z -> 202612071253.19
  const iso = new Date(seconds * 1000).toISOString();
  const stamp = `${iso.slice(0, 16).replace(/\D/g, '')}.${iso.slice(17, 19)}`;
  const which = ['(', '-type', 'd', '-o', '-type', 'f', '-links', '1', ')'];
  return [
    'env',
    'TZ=UTC0',
    'find',
    releaseDir(l, release),
    ...which,
    '-exec',
    'touch',
    '-c',
    '-m',
    '-t',
    stamp,
    '{}',
    '+',
  ];
}
