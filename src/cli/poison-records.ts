// What the verbs poison, cure, check and impact share: the repository's mirror and its poison records.
import path from 'node:path';
import type { GitRecords } from '../transport/git.js';

/** The application repository's mirror, fetched (or, offline, as fetched last). */
export async function openRepo(configPath?: string): Promise<{ git: GitRecords; user: string; root: string }> {
  const { findConfigFile, loadUserConfig, resolveRepo } = await import('../config/load.js');
  const { GitMirror, GitRecords } = await import('../transport/git.js');
  const { whoAmI } = await import('./compose.js');
  const file = findConfigFile(process.cwd(), configPath);
  const user = await loadUserConfig(file);
  const root = path.dirname(file);
  const mirror = new GitMirror(path.join(root, '.relink', 'repo.git'), resolveRepo(user, file));
  const synced = await mirror.sync();
  if (synced.offline) {
    const why = synced.reason ?? 'unreachable';
    process.stderr.write(
      `warning: cannot fetch ${mirror.remote} (${why}); working offline on the last fetched state\n`,
    );
  }
  return { git: new GitRecords(mirror), user: await whoAmI(), root };
}

export async function records(git: GitRecords) {
  const { loadRecords } = await import('../gates/poison.js');
  const loaded = await loadRecords(git);
  for (const file of loaded.malformed) {
    process.stderr.write(`warning: skipped a malformed poison record on refs/relink/poison: ${file}\n`);
  }
  return loaded.records;
}

export async function commitOrFail(git: GitRecords, rev: string): Promise<string> {
  const { UsageError } = await import('../errors.js');
  const sha = /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/.test(rev) ? await git.resolve(rev) : undefined;
  if (!sha) {
    const hint = 'give a commit id, tag or branch that exists (git log --oneline)';
    throw new UsageError(`no commit "${rev}" in the repository`, { hint });
  }
  return sha;
}

export async function recordOrFail<T extends { id: string }>(list: readonly T[], id: string): Promise<T> {
  const { UsageError } = await import('../errors.js');
  const { closest } = await import('../pipeline/phases/version.js');
  const found = list.find((r) => r.id === id);
  if (!found) {
    const near = closest(
      id,
      list.map((r) => r.id),
    );
    const which = near.length ? `; closest: ${near.join(', ')}` : ' (there are none)';
    throw new UsageError(`no poison record "${id}"${which}`, { hint: 'deploy poison list shows them all' });
  }
  return found;
}
