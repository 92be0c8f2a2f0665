// Branch environments, for both doors: `deploy <env> --branches a,b,c [--base main]` and the dashboard's
// branch picker. The branches are merged onto the base in a throwaway commit, made in relink's mirror of the
// app repository and kept on refs/relink/merges/<env> (never a branch); a conflict refuses the run, naming
// the two branches and the files, before anything is built.
import type { ResolvedConfig } from '../config/types.js';
import { RelinkError, UsageError } from '../errors.js';
import {
  checkBase,
  conflictError,
  mergedVersion,
  mergeMessage,
  mergeRef,
  parseBranchList,
  readMergeTree,
} from '../gates/branches.js';
import type { BranchAt, MergedBranches } from '../journal/events.js';
import type { VersionInfo } from '../pipeline/context.js';
import { isBranchName } from '../remote/node-values.js';
import type { GitMirror } from '../transport/git.js';
import { type BranchTip, GitMerger } from '../transport/git-merge.js';
import { closest } from './version.js';

export type { BranchTip, MergedBranches };

/** What a branch deploy is asked: the branches (as typed, commas allowed) and the base. */
export interface BranchesAsk {
  readonly branches: readonly string[];
  readonly base?: string;
}

export interface Merge {
  readonly merged: MergedBranches;
  readonly version: VersionInfo;
}

/** Refuses --branches where the environment takes tags only. */
export function allowBranches(config: ResolvedConfig): void {
  if (!config.requireTag) return;
  const env = config.env;
  throw new UsageError(`${env} takes tags only: branch environments are for environments that do not require a tag`, {
    hint: `deploy the branches to a test environment, or set environments.${env}.requireTag: false`,
  });
}

/** The dashboard's branch picker: whether the environment takes branches, its default base, the branches. */
export interface BranchPicker {
  readonly allowed: boolean;
  readonly base?: string;
  readonly branches: readonly BranchTip[];
}

/** The picker of an environment, read from the (fetched) mirror; an environment that takes tags only has none. */
export async function branchPicker(config: ResolvedConfig, mirror: GitMirror): Promise<BranchPicker> {
  if (config.requireTag) return { allowed: false, branches: [] };
  const base = await new GitMerger(mirror).defaultBranch();
  return { allowed: true, base, branches: await listBranches(mirror) };
}

/** The branches of the mirror that relink would accept as names, newest commit first. */
export async function listBranches(mirror: GitMirror): Promise<BranchTip[]> {
  return (await new GitMerger(mirror).branches()).filter((b) => isBranchName(b.name));
}

/**
 * Merges the branches onto the base on the (already fetched) mirror: the version the run deploys, and what it
 * holds. A conflict is bad input (exit 2), naming the two sides and the files; nothing is built.
 */
export async function mergeBranches(
  config: ResolvedConfig,
  mirror: GitMirror,
  ask: BranchesAsk,
  warn: (message: string) => void,
): Promise<Merge> {
  allowBranches(config);
  const git = new GitMerger(mirror);
  const base = ask.base ? checkBase(ask.base) : ((await git.defaultBranch()) ?? 'main');
  const names = parseBranchList(ask.branches, base);
  const known = async () => (await git.branches(1000)).map((b) => b.name);
  const at = async (name: string): Promise<BranchAt> => {
    const commit = await mirror.resolve(`refs/heads/${name}`);
    if (commit) return { name, commit };
    const near = closest(name, await known());
    throw new UsageError(`no branch "${name}" in ${config.repo}${near.length ? `; closest: ${near.join(', ')}` : ''}`, {
      hint: `push the branch first (git push origin ${name}), or leave it out`,
    });
  };
  const baseAt = await at(base);
  const branches: BranchAt[] = [];
  for (const name of names) branches.push(await at(name));
  const merged: MergedBranches = { base: baseAt, branches };

  const times = await Promise.all([baseAt, ...branches].map((b) => mirror.commitTime(b.commit)));
  const newest = Math.max(...times);
  const tree = await mergeAll(git, merged, newest);
  const parents = [baseAt.commit, ...branches.map((b) => b.commit)];
  // One commit whose parents are the base and each branch: what it holds is in its parents.
  const commit = await git.commit(tree, parents, mergeMessage(merged), newest);
  const kept = await git.keep(mergeRef(config.env), commit);
  if (kept !== 'ok')
    warn(`the merge is kept on this machine only: cannot push ${mergeRef(config.env)} (${kept.error})`);
  const version = mergedVersion(branches.length, commit);
  const subject = mergeMessage(merged).split('\n')[0]!;
  return { merged, version: { requested: version, version, commit, branch: base, isTag: false, subject } };
}

/** The tree of base + every branch, merged one after another; the first conflict is refused. */
async function mergeAll(git: GitMerger, m: MergedBranches, seconds: number): Promise<string> {
  let head = m.base.commit;
  let tree = '';
  for (const [k, branch] of m.branches.entries()) {
    const step = await treeOf(git, head, branch.commit);
    if ('conflicts' in step) throw await whoConflicts(git, m, k, step.conflicts);
    tree = step.tree;
    // The next branch merges onto this step: a commit of it (dangling once the final merge is made).
    if (k + 1 < m.branches.length) head = await git.commit(tree, [head, branch.commit], `step ${k + 1}`, seconds);
  }
  return tree;
}

async function treeOf(git: GitMerger, ours: string, theirs: string) {
  const answer = await git.mergeTree(ours, theirs);
  const read = readMergeTree(answer.code, answer.stdout);
  if (!read) throw new RelinkError(`git merge-tree failed: ${answer.stderr.trim() || `exit ${answer.code}`}`);
  return read;
}

/** Which two sides conflict: the branch and the base, else the branch and an earlier one, else all before it. */
async function whoConflicts(git: GitMerger, m: MergedBranches, k: number, files: readonly string[]) {
  const branch = m.branches[k]!;
  const withBase = await treeOf(git, m.base.commit, branch.commit);
  if ('conflicts' in withBase) return conflictError(m.base.name, branch.name, withBase.conflicts, m.base.name);
  for (const earlier of m.branches.slice(0, k)) {
    const pair = await treeOf(git, earlier.commit, branch.commit);
    if ('conflicts' in pair) return conflictError(earlier.name, branch.name, pair.conflicts, m.base.name);
  }
  const before = m.branches.slice(0, k).map((b) => b.name);
  return conflictError(`the merge of ${before.join(', ')}`, branch.name, files, m.base.name);
}
