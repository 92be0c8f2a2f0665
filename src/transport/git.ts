import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { RelinkError } from '../errors.js';
import { runLocal } from './local.js';

/** A bare mirror of the application repository under `.relink/`, the only checkout relink uses. */
export class GitMirror {
  constructor(readonly dir: string, readonly remote: string) {}

  async git(args: readonly string[]): Promise<string> {
    const result = await runLocal('git', ['--git-dir', this.dir, ...args], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    if (result.code !== 0) throw new RelinkError(`git ${args[0]} failed: ${result.stderr.trim().split('\n').pop() ?? ''}`);
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
  async sync(): Promise<{ offline: boolean; reason?: string }> {
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
    });
    return result.code === 0 ? { offline: false } : { offline: true, reason: result.stderr.trim().split('\n').pop() };
  }

  async resolve(ref: string): Promise<string | undefined> {
    const out = await this.tryGit(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
    return out?.trim() || undefined;
  }

  async tags(): Promise<string[]> {
    return (await this.git(['tag', '--list'])).split('\n').filter(Boolean);
  }

  /** Local branch names whose history contains the commit, the default branch first. */
  async branchesContaining(commit: string): Promise<string[]> {
    const out = await this.git(['branch', '--format=%(refname:short)', '--contains', commit]);
    const head = (await this.tryGit(['symbolic-ref', '--short', 'HEAD']))?.trim();
    const branches = out.split('\n').map((b) => b.trim()).filter(Boolean);
    return branches.sort((a, b) => Number(b === head) - Number(a === head));
  }

  async subject(commit: string): Promise<string> {
    return (await this.git(['log', '-1', '--format=%s', commit])).trim();
  }

  /** Writes a clean tree of the commit into `dest` (no working-copy leftovers, no .git). */
  async export(commit: string, dest: string): Promise<void> {
    const { x } = await import('tar');
    await new Promise<void>((resolve, reject) => {
      const git = spawn('git', ['--git-dir', this.dir, 'archive', '--format=tar', commit], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      git.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const extract = x({ cwd: dest, strict: true });
      git.stdout.pipe(extract);
      let gitDone = false;
      let tarDone = false;
      const finish = () => gitDone && tarDone && resolve();
      extract.on('finish', () => ((tarDone = true), finish()));
      extract.on('error', reject);
      git.on('close', (code) => {
        if (code !== 0) reject(new RelinkError(`git archive failed: ${stderr.trim()}`));
        gitDone = true;
        finish();
      });
    });
  }
}
