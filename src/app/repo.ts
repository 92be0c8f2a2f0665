// The application repository as the operations see it: its mirror under .relink/ (the one place that
// path is spelled), the poison records on it, and a revision a person typed, resolved to a commit.
import path from 'node:path';
import { findConfigFile, loadUserConfig, resolveRepo } from '../config/load.js';
import { UsageError } from '../errors.js';
import { loadRecords, type PoisonRecord } from '../gates/poison.js';
import { isVersion } from '../remote/node-values.js';
import { GitMirror, GitRecords } from '../transport/git.js';
import { whoAmI } from './deps.js';

export type { GitMirror, GitRecords };

/** The mirror of the application repository, kept in the project's state dir. */
export function openMirror(stateDir: string, repo: string): GitMirror {
  return new GitMirror(path.join(stateDir, 'repo.git'), repo);
}

/** The project's repository, read from its config file (no inventory needed). */
export async function projectRepo(
  configPath?: string,
): Promise<{ project: string; root: string; stateDir: string; mirror: GitMirror; git: GitRecords }> {
  const file = findConfigFile(process.cwd(), configPath);
  const user = await loadUserConfig(file);
  const root = path.dirname(file);
  const stateDir = path.join(root, '.relink');
  const mirror = openMirror(stateDir, resolveRepo(user, file));
  return { project: user.project, root, stateDir, mirror, git: new GitRecords(mirror) };
}

/** The application repository's mirror, fetched (or, offline, as fetched last); offline is warned about. */
export async function openRepo(
  configPath: string | undefined,
  warn: (message: string) => void,
): Promise<{ git: GitRecords; user: string; root: string }> {
  const { mirror, git, root } = await projectRepo(configPath);
  const synced = await mirror.sync();
  if (synced.offline) {
    const why = synced.reason ?? 'unreachable';
    warn(`cannot fetch ${mirror.remote} (${why}); working offline on the last fetched state`);
  }
  return { git, user: await whoAmI(), root };
}

/** The poison records; a malformed one is warned about and skipped. */
export async function poisonRecords(git: GitRecords, warn: (message: string) => void): Promise<PoisonRecord[]> {
  const loaded = await loadRecords(git);
  for (const file of loaded.malformed) warn(`skipped a malformed poison record on refs/relink/poison: ${file}`);
  return loaded.records;
}

/** A commit id, tag or branch a person typed, as a commit; what is not one is a usage error. */
export async function resolveCommit(git: GitRecords, rev: string): Promise<string> {
  // The shape of a revision is the shape of a version label: never an option, never `..`.
  const sha = isVersion(rev) ? await git.resolve(rev) : undefined;
  if (!sha) {
    const hint = 'give a commit id, tag or branch that exists (git log --oneline)';
    throw new UsageError(`no commit "${rev}" in the repository`, { hint });
  }
  return sha;
}
