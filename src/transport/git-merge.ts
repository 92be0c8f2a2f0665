// The git of branch environments, on relink's mirror of the app repository: the remote branches with their
// last commit, and a merge made without a work tree (merge-tree), kept on a refs/relink/ ref.
import { RelinkError } from '../errors.js';
import type { GitMirror } from './git.js';
import { pushVerdict } from './git-push.js';
import { runLocal } from './local.js';

/** Every branch or commit given to git comes after this (see git.ts). */
const EOO = '--end-of-options';

/** A remote branch as the branch picker shows it. */
export interface BranchTip {
  readonly name: string;
  readonly commit: string;
  readonly author: string;
  /** The last commit's committer time, ISO. */
  readonly date: string;
  readonly subject: string;
}

/** The merges' git, on the mirror (whose refs/heads are the remote's branches). */
export class GitMerger {
  constructor(private readonly mirror: GitMirror) {}

  private run(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    return runLocal('git', ['--git-dir', this.mirror.dir, ...args], {
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...env },
    });
  }

  /** The branches, newest commit first (at most `max`); names are checked by the caller. */
  async branches(max = 200): Promise<BranchTip[]> {
    const format = '%(refname:strip=2)%00%(objectname)%00%(authorname)%00%(committerdate:iso-strict)%00%(subject)';
    const args = ['for-each-ref', '--sort=-committerdate', `--count=${max}`, `--format=${format}`, 'refs/heads/'];
    const result = await this.run(args);
    if (result.code !== 0) throw new RelinkError(`git for-each-ref failed: ${result.stderr.trim()}`);
    return result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name = '', commit = '', author = '', date = '', subject = ''] = line.split('\0');
        return { name, commit, author, date, subject };
      });
  }

  /** The repository's default branch (the remote's HEAD), if it has one. */
  async defaultBranch(): Promise<string | undefined> {
    const result = await this.run(['symbolic-ref', '--quiet', '--short', 'HEAD']);
    return result.code === 0 ? result.stdout.trim() || undefined : undefined;
  }

  /** merge-tree's raw answer for two commits (exit 0: clean; 1: conflicts). */
  async mergeTree(ours: string, theirs: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const args = ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', EOO, ours, theirs];
    return this.run(args);
  }

  /**
   * The commit of `tree` with `parents`, its dates those of the newest parent: the same branches at the same
   * commits make the same merge commit (and so reuse the same build).
   */
  async commit(tree: string, parents: readonly string[], message: string, seconds: number): Promise<string> {
    const date = `${seconds} +0000`;
    const env = {
      GIT_AUTHOR_NAME: 'relink',
      GIT_AUTHOR_EMAIL: 'relink@localhost',
      GIT_COMMITTER_NAME: 'relink',
      GIT_COMMITTER_EMAIL: 'relink@localhost',
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
    };
    const args = ['commit-tree', ...parents.flatMap((p) => ['-p', p]), '-m', message, EOO, tree];
    const result = await this.run(args, env);
    if (result.code !== 0) throw new RelinkError(`git commit-tree failed: ${result.stderr.trim()}`);
    return result.stdout.trim();
  }

  /** Points `ref` (a refs/relink/ ref) at `commit` here, then on the remote; false when the remote refused. */
  async keep(ref: string, commit: string): Promise<'ok' | { error: string }> {
    const local = await this.run(['update-ref', EOO, ref, commit]);
    if (local.code !== 0) throw new RelinkError(`git update-ref failed: ${local.stderr.trim()}`);
    // Forced: each merge replaces the last; the ref is relink's own, never a branch.
    const pushed = await this.run(['push', '--quiet', '--porcelain', EOO, this.mirror.remote, `+${commit}:${ref}`]);
    const verdict = pushVerdict(pushed);
    return verdict === 'rejected' ? { error: 'the remote refused the ref' } : verdict;
  }
}
