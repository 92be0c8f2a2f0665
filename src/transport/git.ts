import { pushVerdict } from './git-push.js';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { RelinkError } from '../errors.js';
import { runLocal } from './local.js';
import * as tar from 'tar';

/**
 * Every revision given to git comes after this: a revision can come from a user or a node's
 * journal, and one that starts with `-` (`--output=FILE`) must never be read as an option.
 */
const EOO = '--end-of-options';

/** A bare mirror of the application repository under `.relink/`, the only checkout relink uses. */
export class GitMirror {
  constructor(
    readonly dir: string,
    readonly remote: string,
  ) {}

  async git(args: readonly string[]): Promise<string> {
    const result = await runLocal('git', ['--git-dir', this.dir, ...args], {
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    });
    if (result.code !== 0)
      throw new RelinkError(`git ${args[0]} failed: ${result.stderr.trim().split('\n').pop() ?? ''}`);
    return result.stdout;
  }

  async tryGit(args: readonly string[]): Promise<string | undefined> {
    const result = await runLocal('git', ['--git-dir', this.dir, ...args]);
    return result.code === 0 ? result.stdout : undefined;
  }

  /**
   * Clones or updates the mirror. When the remote cannot be reached but a
   * mirror exists, it carries on with what was fetched last and says so.
   */
  async sync(options: { readonly timeoutMs?: number } = {}): Promise<{ offline: boolean; reason?: string }> {
    if (!fs.existsSync(this.dir)) {
      const result = await runLocal('git', ['clone', '--quiet', '--mirror', '--', this.remote, this.dir], {
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
      });
      if (result.code !== 0) {
        throw new RelinkError(`cannot clone ${this.remote}: ${result.stderr.trim().split('\n').pop() ?? ''}`, {
          hint: 'check repo in deploy.config.ts and that this machine can read it',
        });
      }
      return { offline: false };
    }
    const result = await runLocal('git', ['--git-dir', this.dir, 'fetch', '--quiet', '--prune', '--tags', 'origin'], {
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
      timeoutMs: options.timeoutMs,
    });
    return result.code === 0 ? { offline: false } : { offline: true, reason: result.stderr.trim().split('\n').pop() };
  }

  async resolve(ref: string): Promise<string | undefined> {
    const out = await this.tryGit(['rev-parse', '--verify', '--quiet', EOO, `${ref}^{commit}`]);
    return out?.trim() || undefined;
  }

  async tags(): Promise<string[]> {
    return (await this.git(['tag', '--list'])).split('\n').filter(Boolean);
  }

  /** Local branch names whose history contains the commit, the default branch first. */
  async branchesContaining(commit: string): Promise<string[]> {
    const out = await this.git(['branch', '--format=%(refname:short)', `--contains=${commit}`]);
    const head = (await this.tryGit(['symbolic-ref', '--short', 'HEAD']))?.trim();
    const branches = out
      .split('\n')
      .map((b) => b.trim())
      .filter(Boolean);
    return branches.sort((a, b) => Number(b === head) - Number(a === head));
  }

  async subject(commit: string): Promise<string> {
    return (await this.git(['log', '-1', '--format=%s', EOO, commit])).trim();
  }

  /** The commits after `from` up to `to` (the last 50 of `to` without `from`), newest first; none when git fails. */
  async commitsBetween(from: string | undefined, to: string): Promise<{ sha: string; subject: string }[]> {
    const range = from ? [EOO, `${from}..${to}`] : ['-n', '50', EOO, to];
    const lines = ((await this.tryGit(['log', '--format=%H %s', ...range])) ?? '').split('\n').filter(Boolean);
    return lines.map((l) => ({ sha: l.slice(0, l.indexOf(' ')), subject: l.slice(l.indexOf(' ') + 1) }));
  }

  /** The commit's committer time, in seconds since the epoch (the time of `REVISION_TIME`). */
  async commitTime(commit: string): Promise<number> {
    const out = await this.git(['show', '-s', '--format=%ct', EOO, commit]);
    const seconds = Number.parseInt(out.trim(), 10);
    if (!Number.isSafeInteger(seconds)) throw new RelinkError(`git show gave no commit time for ${commit}`);
    return seconds;
  }

  /** Writes a clean tree of the commit into `dest` (no working-copy leftovers, no .git). */
  async export(commit: string, dest: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const git = spawn('git', ['--git-dir', this.dir, 'archive', '--format=tar', EOO, commit], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      git.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const extract = tar.x({ cwd: dest, strict: true });
      git.stdout.pipe(extract);
      let gitDone = false;
      let tarDone = false;
      const finish = () => gitDone && tarDone && resolve();
      extract.on('finish', () => {
        tarDone = true;
        finish();
      });
      extract.on('error', reject);
      git.on('close', (code) => {
        if (code !== 0) reject(new RelinkError(`git archive failed: ${stderr.trim()}`));
        gitDone = true;
        finish();
      });
    });
  }
}

/** Git plumbing for the poison records and reachability checks, all on the mirror. */
export class GitRecords {
  constructor(private readonly mirror: GitMirror) {}

  private run(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
    return runLocal('git', ['--git-dir', this.mirror.dir, ...args], {
      input: options.input,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...options.env },
    });
  }

  /**
   * Fetches one ref from the remote; false when the remote cannot be reached.
   * A ref the remote lacks is not an error.
   */
  async fetchRef(ref: string): Promise<{ ok: boolean; reason?: string }> {
    const result = await this.run(['fetch', '--quiet', '--no-tags', EOO, this.mirror.remote, `+${ref}:${ref}`]);
    if (result.code === 0) return { ok: true };
    if (/couldn't find remote ref|could not find remote ref/i.test(result.stderr)) return { ok: true };
    return { ok: false, reason: result.stderr.trim().split('\n').pop() };
  }

  async tip(ref: string): Promise<string | undefined> {
    const result = await this.run(['rev-parse', '--verify', '--quiet', EOO, ref]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** Every file under `dir` in the tree of `ref`: path -> content, read in one `cat-file --batch`. */
  async readFiles(ref: string, dir: string): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    const listed = await this.run(['ls-tree', '-r', '--format=%(objectname) %(path)', EOO, ref, '--', dir]);
    if (listed.code !== 0) return files;
    const entries = listed.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const);
    if (entries.length === 0) return files;
    const batch = await this.run(['cat-file', '--batch'], { input: `${entries.map(([oid]) => oid).join('\n')}\n` });
    let rest = Buffer.from(batch.stdout, 'utf8');
    for (const [, file] of entries) {
      const nl = rest.indexOf(10);
      const size = Number(rest.subarray(0, nl).toString().split(' ')[2]);
      files.set(file, rest.subarray(nl + 1, nl + 1 + size).toString('utf8'));
      rest = rest.subarray(nl + 1 + size + 1);
    }
    return files;
  }

  /** A commit on top of `parent` (or a root commit) with `files` written into its tree. */
  async commitFiles(parent: string | undefined, files: ReadonlyMap<string, string>, message: string): Promise<string> {
    const index = `${this.mirror.dir}/relink-records-${process.pid}-${Date.now()}.index`;
    const env = {
      GIT_INDEX_FILE: index,
      GIT_AUTHOR_NAME: 'relink',
      GIT_AUTHOR_EMAIL: 'relink@localhost',
      GIT_COMMITTER_NAME: 'relink',
      GIT_COMMITTER_EMAIL: 'relink@localhost',
    };
    try {
      if (parent) await this.checked(['read-tree', EOO, parent], env);
      else await this.checked(['read-tree', '--empty'], env);
      for (const [file, content] of files) {
        const blob = (await this.checked(['hash-object', '-w', '--stdin'], env, content)).trim();
        await this.checked(['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], env);
      }
      const tree = (await this.checked(['write-tree'], env)).trim();
      return (
        await this.checked(['commit-tree', ...(parent ? ['-p', parent] : []), '-m', message, EOO, tree], env)
      ).trim();
    } finally {
      fs.rmSync(index, { force: true });
    }
  }

  private async checked(args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
    const result = await this.run(args, { env, input });
    if (result.code !== 0) throw new RelinkError(`git ${args[0]} failed: ${result.stderr.trim()}`);
    return result.stdout;
  }

  /** Pushes `commit` to `ref` on the remote as a fast-forward; `rejected` when someone else pushed first. */
  async push(commit: string, ref: string): Promise<'ok' | 'rejected' | { error: string }> {
    const result = await this.run(['push', '--quiet', '--porcelain', EOO, this.mirror.remote, `${commit}:${ref}`]);
    return pushVerdict(result);
  }

  async setRef(ref: string, commit: string): Promise<void> {
    await this.checked(['update-ref', EOO, ref, commit], {});
  }

  /** Every commit in the history of `rev`, in one `rev-list`. */
  async history(rev: string): Promise<Set<string>> {
    return new Set((await this.checked(['rev-list', EOO, rev], {})).split('\n').filter(Boolean));
  }

  /** Commits named in `(cherry picked from commit X)` trailers in the history of `rev`. */
  async cherryPickedFrom(rev: string): Promise<Set<string>> {
    const out = await this.checked(['log', '--format=%B', '--grep=cherry picked from commit', EOO, rev], {});
    return new Set([...out.matchAll(/cherry picked from commit ([0-9a-f]{7,40})/g)].map((m) => m[1]!));
  }

  /** Whether `rev` holds a commit with the same patch (git patch-id) as `commit`. */
  async hasEquivalent(rev: string, commit: string): Promise<boolean> {
    const out = await this.checked(
      ['rev-list', '--left-right', '--cherry-mark', '--no-merges', EOO, `${commit}...${rev}`],
      {},
    );
    return out.split('\n').some((line) => line === `=${commit}`);
  }

  async isAncestor(ancestor: string, rev: string): Promise<boolean> {
    return (await this.run(['merge-base', '--is-ancestor', EOO, ancestor, rev])).code === 0;
  }

  async resolve(rev: string): Promise<string | undefined> {
    return this.mirror.resolve(rev);
  }
}

/** The top directory of the git work tree `dir` is in, or undefined outside one (or without git). */
export async function gitTopLevel(dir: string): Promise<string | undefined> {
  const result = await runLocal('git', ['-C', dir, 'rev-parse', '--show-toplevel']);
  return result.code === 0 ? result.stdout.trim() || undefined : undefined;
}
