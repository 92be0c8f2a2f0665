// The state that must survive a release: whether each shared file exists under shared/, and whether each
// shared link of the running release is still a link (an app that writes a file by temp file + rename replaces
// the link with a file of its own, and what it wrote since would stay behind in the old release). The node's
// answers name entries by index only, never by path, and are checked like any value a node says.
import path from 'node:path/posix';
import { and, group, op, or, seq, type Command } from './tokens.js';
import { inside, releaseDir, type Layout } from './paths.js';

/** What a shared link of the running release became: a regular file, a directory, or something else. */
export type ReplacedKind = 'file' | 'dir' | 'other';

export interface Replaced {
  /** The entry, as the config names it (`db.json`, `data`). */
  readonly entry: string;
  readonly kind: ReplacedKind;
  /** Its size in bytes (of the directory entry itself for a directory), when the node gave a sane one. */
  readonly bytes?: number;
  /** Its modification time, when the node gave a sane one. */
  readonly modified?: Date;
}

export interface SharedState {
  /** Shared files (shared.files) missing under shared/ (or not confirmed there by the node). */
  readonly missing: readonly string[];
  /** Shared entries (dirs and files) of the running release that are no longer links. */
  readonly replaced: readonly Replaced[];
}

/** The links a probe checks: the entries (dirs and files, as the release's `shared` names them) in a release dir. */
export interface SharedLinks {
  /** A release dir, or `current`. */
  readonly dir: string;
  readonly entries: readonly string[];
}

/**
 * Reads, changing nothing, whether each shared file exists under shared/ and what each entry of `links` is in its
 * release dir (none: only the files are checked). The files are those the next release links (the local
 * config's); the entries those the running release links (its own settings). One line per entry:
 * `F <index> ok|missing`, `L <index> <bytes> <mtime> <type>` (stat's words) or `L <index> none`.
 */
export function probeShared(l: Layout, files: readonly string[], links?: SharedLinks): Command {
  const steps: Command[] = files.map((file, i) =>
    group(or(and(['test', '-e', inside(l.shared, file)], ['echo', `F ${i} ok`]), ['echo', `F ${i} missing`])),
  );
  links?.entries.forEach((entry, i) => {
    const format = `L ${i} %s %Y %F`;
    steps.push(
      group(or(['stat', '-c', format, '--', inside(links.dir, entry), op('2>/dev/null')], ['echo', `L ${i} none`])),
    );
  });
  return steps.length === 0 ? ['true'] : seq(...steps, ['true']);
}

const MAX_TIME_S = 253_402_300_799; // 9999-12-31T23:59:59Z

/** What probeShared printed, checked: unknown indexes, odd sizes and times dropped; a file not said ok is missing. */
export function parseShared(stdout: string, files: readonly string[], entries: readonly string[]): SharedState {
  const ok = new Set<number>();
  const replaced = new Map<number, Replaced>();
  for (const line of stdout.split('\n')) {
    const f = /^F (\d{1,6}) ok$/.exec(line);
    if (f && Number(f[1]) < files.length) ok.add(Number(f[1]));
    const s = /^L (\d{1,6}) (\d{1,20}) (-?\d{1,20}) ([a-z ]{1,40})$/.exec(line);
    if (!s || Number(s[1]) >= entries.length || replaced.has(Number(s[1]))) continue;
    const kind = kindOf(s[4]!);
    if (!kind) continue;
    const bytes = Number(s[2]);
    const seconds = Number(s[3]);
    replaced.set(Number(s[1]), {
      entry: entries[Number(s[1])]!,
      kind,
      ...(Number.isSafeInteger(bytes) ? { bytes } : {}),
      ...(Number.isSafeInteger(seconds) && seconds >= 0 && seconds <= MAX_TIME_S
        ? { modified: new Date(seconds * 1000) }
        : {}),
    });
  }
  return {
    missing: files.filter((_, i) => !ok.has(i)),
    replaced: [...replaced.entries()].sort(([a], [b]) => a - b).map(([, r]) => r),
  };
}

/** stat's `%F` as a replaced kind; undefined for a symbolic link (as it should be) or words it does not print. */
function kindOf(type: string): ReplacedKind | undefined {
  if (type === 'symbolic link') return undefined;
  if (type === 'regular file' || type === 'regular empty file') return 'file';
  if (type === 'directory') return 'dir';
  return /^(fifo|socket|character special file|block special file)$/.test(type) ? 'other' : undefined;
}

/** The suffix a shared copy is kept aside under when a release's copy takes its place: `.relink-20261207T125500Z`. */
export function asideSuffix(now: Date): string {
  return `.relink-${now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(/[-:]/g, '')}`;
}

/**
 * Moves the release's copy of a shared entry into shared/ and puts the link back: the copy in shared/ (if any)
 * is first kept aside as `<entry><suffix>`, never overwritten (the command fails when that name is taken),
 * and the release's copy is never overwritten either (`ln` without -f fails if the app wrote a new one
 * meanwhile; both copies are then still there). Fails, changing nothing, when the entry is a link again.
 */
export function adoptShared(l: Layout, release: string, entry: string, suffix: string): Command {
  if (!/^\.relink-\d{8}T\d{6}Z$/.test(suffix)) throw new Error(`unsafe suffix: ${JSON.stringify(suffix)}`);
  const link = inside(releaseDir(l, release), entry);
  const target = inside(l.shared, entry);
  const aside = `${target}${suffix}`;
  const keep = and(['test', '!', '-e', aside], ['test', '!', '-L', aside], ['mv', '-T', '--', target, aside]);
  const absent = and(['test', '!', '-e', target], ['test', '!', '-L', target]);
  return and(
    ['test', '!', '-L', link],
    ['test', '-e', link],
    ['mkdir', '-p', path.dirname(target)],
    group(or(absent, group(keep))),
    ['mv', '-T', '--', link, target],
    ['ln', '-s', target, link],
  );
}
