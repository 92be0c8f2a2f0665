import { UsageError } from '../errors.js';
import { isVersion } from '../remote/node-values.js';
import type { GitMirror } from '../transport/git.js';
import type { VersionInfo } from '../pipeline/context.js';

/** Edit distance, to suggest the tags closest to a mistyped one. */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

export function closest(wanted: string, candidates: readonly string[], count = 3): string[] {
  return [...candidates]
    .sort((x, y) => distance(wanted, x) - distance(wanted, y) || y.localeCompare(x))
    .slice(0, count);
}

/**
 * Resolves what the user asked for to a commit. A tag always works; a branch
 * or commit only where the environment does not require tags.
 */
export async function resolveVersion(
  mirror: GitMirror,
  requested: string,
  env: string,
  requireTag: boolean,
): Promise<VersionInfo> {
  if (!isVersion(requested)) {
    throw new UsageError(
      `"${requested}" is not a valid version: use a tag such as v1.2.3${requireTag ? '' : ', a branch or a commit'}`,
    );
  }
  const tagCommit = await mirror.resolve(`refs/tags/${requested}`);
  if (tagCommit) {
    const branches = await mirror.branchesContaining(tagCommit);
    return {
      requested,
      version: requested,
      commit: tagCommit,
      branch: branches[0] ?? 'detached',
      isTag: true,
      subject: await mirror.subject(tagCommit),
    };
  }
  const branchCommit = await mirror.resolve(`refs/heads/${requested}`);
  const commit = branchCommit ?? (/^[0-9a-f]{7,40}$/.test(requested) ? await mirror.resolve(requested) : undefined);
  if (commit && requireTag) {
    const tagIt = `git tag v1.2.3 ${commit.slice(0, 12)} && git push --tags`;
    throw new UsageError(`${env} takes tags only, and "${requested}" is a ${branchCommit ? 'branch' : 'commit'}`, {
      hint: `tag it (${tagIt}), or set environments.${env}.requireTag: false`,
    });
  }
  if (commit) {
    const branch = branchCommit ? requested : ((await mirror.branchesContaining(commit))[0] ?? 'detached');
    return {
      requested,
      version: commit.slice(0, 12),
      commit,
      branch,
      isTag: false,
      subject: await mirror.subject(commit),
    };
  }
  const tags = await mirror.tags();
  const near = closest(requested, tags);
  throw new UsageError(
    `no tag "${requested}" in the repository${near.length ? `; closest: ${near.join(', ')}` : ' (it has no tags)'}`,
    {
      hint: near.length
        ? `deploy one of those, or push the tag first (git push origin ${requested})`
        : 'create and push a tag first',
    },
  );
}
