import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RelinkError } from '../../errors.js';
import type { Artifact } from '../context.js';
import * as tar from 'tar';

export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Seconds from 1971 on; a content stamp spans 2^30 of them (about 34 years, all in the past). */
const STAMP_BASE = 365 * 86_400;

/**
 * Gives every regular file under `root` an mtime derived from its content
 * (30 bits of its sha256, in seconds), so rsync's quick check (size and
 * mtime) hard-links exactly the unchanged files against the current release
 * without reading them on either side, and two deploy machines stamp the same
 * content alike. A changed file is sent unless it keeps its size and its stamp
 * collides: about one in a billion per such file. Returns the sha256 of the
 * tree's manifest (path, type, mode, content hash or link target per entry)
 * and its total size.
 */
export async function stampTree(root: string): Promise<{ sha256: string; bytes: number }> {
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
      } else if (entry.isFile()) {
        const hash = await sha256File(full);
        const stamp = STAMP_BASE + (Number.parseInt(hash.slice(0, 8), 16) >>> 2);
        fs.utimesSync(full, stamp, stamp);
        bytes += stat.size;
        lines.push(`f ${mode} ${name} ${hash}`);
      }
    }
  };
  await walk(root, '');
  return { sha256: crypto.createHash('sha256').update(lines.join('\n')).digest('hex'), bytes };
}

/** Inspects an artifact of either format before it goes anywhere. */
export async function inspectArtifact(artifact: Pick<Artifact, 'file' | 'format'>): Promise<void> {
  if (artifact.format === 'dir') inspectDir(artifact.file);
  else await inspectTarball(artifact.file);
}

/** The directory form of inspectTarball: no link may point outside the release. */
export function inspectDir(root: string): void {
  const problems: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) {
        const target = fs.readlinkSync(path.join(dir, entry.name));
        if (leavesRelease(name, target)) problems.push(`symlink ${name} -> ${target} points outside the release`);
      } else if (entry.isDirectory()) walk(path.join(dir, entry.name), name);
    }
  };
  walk(root, '');
  refuse(problems, 'release directory');
}

/** Whether a link at `from` (relative to the release root) with this target resolves outside the release. */
function leavesRelease(from: string, target: string): boolean {
  if (target.startsWith('/')) return true;
  const parts = [...path.posix.dirname(from).split('/'), ...target.split('/')];
  let depth = 0;
  for (const part of parts) {
    if (part === '..') depth--;
    else if (part && part !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}

function refuse(problems: readonly string[], what: string): void {
  if (problems.length === 0) return;
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
  throw new RelinkError(`${what} refused: ${problems.slice(0, 5).join('; ')}${more}`, {
    hint:
      'the build must produce files inside its output dir only; ' +
      'fix the build (links into shared/ come from shared: in deploy.config.ts)',
  });
}

/**
 * Refuses a release tarball that could write outside its release dir on a
 * node: absolute paths, `..` parts, links whose target leaves the release.
 * Checked before every distribute, cached artifact or not.
 */
export async function inspectTarball(file: string): Promise<void> {
  const problems: string[] = [];
  await tar.t({
    file,
    strict: true,
    // node-tar strips these by default; here they must be seen to be refused.
    preservePaths: true,
    onReadEntry: (entry) => {
      const name = entry.path;
      if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) problems.push(`absolute path ${name}`);
      else if (name.split('/').includes('..')) problems.push(`path with .. ${name}`);
      else if (
        (entry.type === 'SymbolicLink' || entry.type === 'Link') &&
        entry.linkpath &&
        leavesRelease(entry.type === 'Link' ? '' : name.replace(/^\.\//, ''), entry.linkpath)
      ) {
        problems.push(
          `${entry.type === 'Link' ? 'hard link' : 'symlink'} ${name} -> ${entry.linkpath} points outside the release`,
        );
      }
      entry.resume();
    },
  });
  refuse(problems, 'release tarball');
}
