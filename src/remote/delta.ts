import { inside, releaseDir, type Layout } from './paths.js';
import { and, group, op, or, type Command } from './tokens.js';

/** relink's files in a release (see pipeline/shared/manifest.ts), relative to the release dir. */
export interface OwnFiles {
  readonly dir: string;
  readonly manifest: string;
  readonly sums: string;
  readonly list: string;
  readonly maxBytes: number;
}

/** What verifyRelease prints when a file's content differs, and when the set of entries or a mode differs. */
export const CONTENT_DIFFERS = '@@relink-content-differs@@';
export const LISTING_DIFFERS = '@@relink-listing-differs@@';

/** Prints a release's manifest, at most one byte past the limit; nothing when it has none. Changes nothing. */
export function readManifest(l: Layout, release: string, own: OwnFiles): Command {
  const file = inside(releaseDir(l, release), own.manifest);
  return or(group(and(['test', '-f', file], ['head', '-c', String(own.maxBytes + 1), '--', file])), ['true']);
}

/** Where the delta tar of a release is uploaded before it is unpacked. */
export function incomingDelta(l: Layout, release: string): string {
  return inside(l.incoming, `${release}.delta.tar.gz`);
}

/**
 * Makes a fresh release dir, hard-links into it from the node's current release every file named on stdin
 * (NUL-separated relative paths: they never reach a command line), then unpacks the delta tar over it with
 * the modes it carries (gzipped or not), and removes the tar. Without `current` only the tar is unpacked.
 */
export function linkAndUnpack(
  l: Layout,
  release: string,
  current: string | undefined,
  tarball: string,
  gzip = true,
): Command {
  const dir = releaseDir(l, release);
  return and(
    ['rm', '-rf', dir],
    ['mkdir', '-p', dir],
    ...(current
      ? [
          and(
            ['cd', releaseDir(l, current)],
            ['xargs', '-0', '-r', 'cp', '-l', '--parents', '-t', dir, '--'],
          ) as Command,
        ]
      : []),
    ['tar', gzip ? '-xzpf' : '-xpf', tarball, '-C', dir, '--no-same-owner'],
    ['rm', '-f', tarball],
  );
}

/**
 * Checks a release dir against its manifest's check lists on the node: every file's sha256, then the set of
 * entries with their types, modes and link targets. On success the check lists go; on a difference it prints
 * CONTENT_DIFFERS or LISTING_DIFFERS (after sha256sum's own lines) and fails.
 */
export function verifyRelease(l: Layout, release: string, own: OwnFiles): Command {
  const sums = ['sha256sum', '--quiet', '--strict', '-c', own.sums];
  // The same SHA-256 by OpenSSL where the node has it: coreutils' sha256sum does not use the CPU's SHA
  // instructions and takes ~7x the CPU (100 MB: 0.63 s against 0.09 s here). OpenSSL's lines, made into
  // sha256sum's, must equal the check list; any difference (or a path the two would print differently) goes
  // to sha256sum -c, which names the files.
  const files = ['cut', '-c67-', own.sums, op('|'), 'tr', '\\n', '\\0', op('|'), 'xargs', '-0', '-r'];
  const fast = and(
    ['command', '-v', 'openssl', op('>/dev/null')],
    [...files, 'openssl', 'dgst', '-sha256', '-r', op('|'), 'sed', 's/ \\*/  /', op('|'), 'cmp', '-s', '-', own.sums],
  );
  const listing = [
    ...['find', '.', '-mindepth', '1', '(', '-path', `./${own.dir}`, '-prune', '-o'],
    ...['-printf', '%y %m %P -> %l\\n', ')', op('|'), 'env', 'LC_ALL=C', 'sort', op('|')],
    ...['cmp', '-s', '-', own.list],
  ];
  const fail = (mark: string): Command => group(and(['echo', mark], ['exit', '1']));
  return and(
    ['cd', releaseDir(l, release)],
    group(or(fast, sums, fail(CONTENT_DIFFERS))),
    group(or(listing, fail(LISTING_DIFFERS))),
    ['rm', '-f', own.sums, own.list],
  );
}
