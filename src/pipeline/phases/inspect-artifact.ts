import fs from 'node:fs';
import path from 'node:path';
import { RelinkError } from '../../errors.js';
import type { Artifact } from '../context.js';
import * as tar from 'tar';

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
