// Branch environments (`deploy <env> --branches a,b,c [--base main]`): the pure half of the merge, what is
// asked checked and what the merge is called, with no git in it (src/app/branches.ts runs git).
import { UsageError } from '../errors.js';
import type { MergedBranches } from '../journal/events.js';
import { isBranchName } from '../remote/node-values.js';

/** More branches than this in one test environment is a mistake, not a plan. */
export const MAX_BRANCHES = 20;

/**
 * The branches of `--branches feat-a,feat-b` (the option may also be repeated): each a valid branch name,
 * none twice, none the base itself, at least one, at most MAX_BRANCHES.
 */
export function parseBranchList(values: readonly string[], base?: string): string[] {
  const names = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const hint = 'name branches as git shows them, e.g. --branches feat-a,feat-b';
  if (names.length === 0) throw new UsageError('--branches names no branch', { hint });
  for (const name of names) {
    if (!isBranchName(name)) throw new UsageError(`"${name}" is not a branch name relink accepts`, { hint });
  }
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw new UsageError(`--branches names ${twice} twice`, { hint });
  if (base && names.includes(base)) {
    throw new UsageError(`${base} is the base the branches are merged onto: leave it out of --branches`, {
      hint: 'the base is --base (by default the repository default branch)',
    });
  }
  if (names.length > MAX_BRANCHES) {
    throw new UsageError(`--branches names ${names.length} branches; at most ${MAX_BRANCHES} go together`, { hint });
  }
  return names;
}

/** The base given with --base, checked like a branch. */
export function checkBase(base: string): string {
  if (!isBranchName(base)) {
    throw new UsageError(`"${base}" is not a branch name relink accepts`, { hint: 'give --base a branch, e.g. main' });
  }
  return base;
}

/**
 * The version label of a merge, in the release name and journal: how many branches it holds and its commit,
 * `3-branches-1a2b3c4d5e6f` (unique per merge, so `rollback --to` can name it).
 */
export function mergedVersion(count: number, commit: string): string {
  return `${count}-${count === 1 ? 'branch' : 'branches'}-${commit.slice(0, 12)}`;
}

/** The options that say what a merge holds, as a command line shows them: `--branches a,b --base main`. */
export function mergedArgs(m: MergedBranches): string {
  return `--branches ${m.branches.map((b) => b.name).join(',')} --base ${m.base.name}`;
}

/** The message of the throwaway merge commit: what it holds, each branch at its commit. */
export function mergeMessage(m: MergedBranches): string {
  const lines = m.branches.map((b) => `${b.name} ${b.commit}`);
  const count = `${m.branches.length} branch${m.branches.length === 1 ? '' : 'es'}`;
  return `relink: ${count} merged onto ${m.base.name} (${m.base.commit})\n\n${lines.join('\n')}\n`;
}

/** What `git merge-tree --write-tree --name-only --no-messages -z` answered: a tree, or the conflicting files. */
export type MergeTreeResult = { readonly tree: string } | { readonly conflicts: readonly string[] };

/** Reads merge-tree's answer: exit 0 is a clean tree; exit 1 its tree, then each conflicting file, NUL-ended. */
export function readMergeTree(code: number, stdout: string): MergeTreeResult | undefined {
  const parts = stdout.split('\0');
  const tree = parts[0]?.trim() ?? '';
  if (!/^[0-9a-f]{40,64}$/.test(tree)) return undefined;
  if (code === 0) return { tree };
  if (code !== 1) return undefined;
  const files = parts.slice(1).filter(Boolean);
  return { conflicts: [...new Set(files)] };
}

/** The refusal of a merge: the two sides that conflict and the files they both change. */
export function conflictError(left: string, right: string, files: readonly string[], base: string): UsageError {
  const shown = files.slice(0, 20).join(', ') + (files.length > 20 ? `, and ${files.length - 20} more` : '');
  return new UsageError(`${left} and ${right} conflict in: ${shown || '(no file named by git)'}`, {
    hint:
      `nothing was built or deployed; merge ${right} with ${left} (or onto ${base}) and push it, ` +
      'or leave one of them out of --branches',
  });
}

/** The ref of an environment's newest merge, in the app repository: never a branch. */
export function mergeRef(env: string): string {
  return `refs/relink/merges/${env.replace(/[^A-Za-z0-9._-]+/g, '-')}`;
}
