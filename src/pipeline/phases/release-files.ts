import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { globMatcher } from '../../config/glob.js';
import { DEFAULT_EXCLUDE } from '../../config/schema-release.js';
import type { ResolvedConfig } from '../../config/types.js';

/** What relink puts at the root of every release: the full commit sha, and its commit time (ISO 8601, UTC). */
export const REVISION_FILES = ['REVISION', 'REVISION_TIME'] as const;

/** A commit time (seconds since the epoch) as REVISION_TIME holds it: `2026-12-07T12:53:19Z`. */
export function revisionTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The secrets file's path inside the release, when the build output holds it (the project directory is the
 * repository's root and the file sits under `build.output`): it is left out of every release.
 */
export function secretsInRelease(config: Pick<ResolvedConfig, 'root' | 'secretsFile' | 'build'>): string[] {
  if (!config.secretsFile) return [];
  const inRepo = path.relative(config.root, config.secretsFile);
  const inRelease = path.posix.relative(config.build.output, inRepo.split(path.sep).join('/'));
  return inRelease && !inRelease.startsWith('..') && !path.isAbsolute(inRelease) ? [inRelease] : [];
}

/**
 * Removes from the build output what `release.exclude` and the list always left out match, unless
 * `release.include` matches it or a directory above it; `never` (exact paths) goes whatever `include` says.
 * A directory left out takes everything under it that `include` does not keep, and goes itself once it
 * is empty. Links are removed as themselves, never followed. Returns the paths removed (for the tests and
 * the build's report), directories as `dir/`.
 */
export function pruneRelease(
  root: string,
  release: { readonly exclude: readonly string[]; readonly include: readonly string[] },
  never: readonly string[] = [],
): string[] {
  const excluded = globMatcher([...DEFAULT_EXCLUDE, ...release.exclude]);
  const included = globMatcher(release.include);
  const removed: string[] = [];
  const walk = (dir: string, rel: string, outside: boolean, kept: boolean): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      const isDir = entry.isDirectory();
      const keep = kept || included(name, isDir);
      const out = outside || excluded(name, isDir);
      if (never.includes(name) && !isDir) {
        fs.rmSync(full, { force: true });
        removed.push(name);
      } else if (isDir) {
        walk(full, name, out, keep);
        if (out && !keep && fs.readdirSync(full).length === 0) {
          fs.rmdirSync(full);
          removed.push(`${name}/`);
        }
      } else if (out && !keep) {
        fs.rmSync(full, { force: true });
        removed.push(name);
      }
    }
  };
  walk(root, '', false, false);
  return removed;
}

/** Writes REVISION and REVISION_TIME at the release root, over any file of those names the build made. */
export function writeRevision(root: string, commit: string, commitTime: number): void {
  const [revision, time] = REVISION_FILES;
  for (const name of REVISION_FILES) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  fs.writeFileSync(path.join(root, revision), `${commit}\n`, { mode: 0o644 });
  fs.writeFileSync(path.join(root, time), `${revisionTime(commitTime)}\n`, { mode: 0o644 });
}

/** The sha256 of a file's content, in hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Gives every file and directory under `root` the commit's time, the time `ls -l` and an HTTP server's
 * `Last-Modified` then show. Times tell nothing about content here: distribution compares content
 * (rsync's `--checksum`, see transport/rsync.ts), so two versions of a same-sized file made in the same
 * second are told apart. Returns the sha256 of the tree's manifest (path, type, mode, content hash or link
 * target per entry; no times) and its total size.
 */
export async function stampTree(root: string, commitTime: number): Promise<{ sha256: string; bytes: number }> {
  const lines: string[] = [];
  let bytes = 0;
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, entry.name);
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      const stat = fs.lstatSync(full);
      const mode = (stat.mode & 0o7777).toString(8);
      if (entry.isSymbolicLink()) {
        lines.push(`l ${mode} ${name} ${fs.readlinkSync(full)}`);
      } else if (entry.isDirectory()) {
        lines.push(`d ${mode} ${name}`);
        await walk(full, name);
        fs.utimesSync(full, commitTime, commitTime);
      } else if (entry.isFile()) {
        fs.utimesSync(full, commitTime, commitTime);
        bytes += stat.size;
        lines.push(`f ${mode} ${name} ${await sha256File(full)}`);
      }
    }
  };
  await walk(root, '');
  fs.utimesSync(root, commitTime, commitTime);
  return { sha256: crypto.createHash('sha256').update(lines.join('\n')).digest('hex'), bytes };
}
