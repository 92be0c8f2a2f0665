import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firstCommits } from '../../src/app/dora.js';
import type { RunRecord } from '../../src/journal/history.js';
import { GitMirror } from '../../src/transport/git.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-dora-git-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A repository whose commit N was made at N hours after the epoch; the commit ids by N. */
function repo(count: number): string[] {
  const git = (args: string[], hours = 0) =>
    execFileSync('git', ['-C', dir, ...args], {
      encoding: 'utf8',
      env: { ...process.env, GIT_COMMITTER_DATE: `@${hours * 3600} +0000`, GIT_AUTHOR_DATE: `@${hours * 3600} +0000` },
    }).trim();
  git(['init', '-q', '-b', 'main']);
  const commits: string[] = [];
  for (let n = 1; n <= count; n++) {
    git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', `c${n}`], n);
    commits.push(git(['rev-parse', 'HEAD']));
  }
  return commits;
}

const run = (id: string, hours: number, commit: string, fields: Partial<RunRecord> = {}): RunRecord => ({
  run: id,
  env: 'prod',
  ts: new Date(hours * 3_600_000).toISOString(),
  user: 'ana',
  command: 'deploy',
  kind: 'deploy',
  result: 'success',
  ms: 1,
  nodes: ['n1'],
  commit,
  ...fields,
});

describe('lead time: the first commit of each release, from the mirror', () => {
  it('is the oldest commit the release before did not have; the first release counts from its own commit', async () => {
    const c = repo(6);
    const mirror = new GitMirror(path.join(dir, '.git'), dir);
    const runs = [
      run('first', 10, c[1]!),
      run('second', 20, c[4]!),
      // A failed deploy releases nothing: the next one still counts from `second`'s commit.
      run('failed', 21, c[5]!, { result: 'failed' }),
      run('third', 22, c[5]!),
      run('again', 23, c[5]!),
    ];
    const times = await firstCommits(mirror, runs, runs.slice(1));
    expect(Object.fromEntries([...times].map(([r, ms]) => [r, ms / 3_600_000]))).toEqual({
      second: 3,
      third: 6,
      again: 6,
    });
    expect((await firstCommits(mirror, runs, runs)).get('first')).toBe(2 * 3_600_000);
    const missing = new GitMirror(path.join(dir, 'no-such.git'), dir);
    expect((await firstCommits(missing, runs, runs)).size).toBe(0);
  });
});
