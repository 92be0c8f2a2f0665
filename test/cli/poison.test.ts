import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distDir } from '../helpers/project.js';
import { cliJson } from '../helpers/json.js';

const bin = path.join(distDir, 'bin', 'deploy.js');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'dev',
      GIT_AUTHOR_EMAIL: 'd@x',
      GIT_COMMITTER_NAME: 'dev',
      GIT_COMMITTER_EMAIL: 'd@x',
    },
  }).trim();
}

function commit(work: string, file: string, content: string, message: string): string {
  fs.writeFileSync(path.join(work, file), content);
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', message);
  return git(work, 'rev-parse', 'HEAD');
}

async function cli(cwd: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [bin, ...args], {
      cwd,
      env: { ...process.env, CI: 'true' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A project whose repo is a bare "remote", and a work clone to make history in. */
function makeProject(remote: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-poison-project-'));
  fs.mkdirSync(path.join(dir, 'hosts'));
  fs.writeFileSync(
    path.join(dir, 'deploy.config.ts'),
    `export default { project: 'p', repo: ${JSON.stringify(remote)}, deployTo: '/srv/p' };\n`,
  );
  return dir;
}

let tmp: string;
let remote: string;
let work: string;
let project: string;
const c: Record<string, string> = {};

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-poison-'));
  remote = path.join(tmp, 'remote.git');
  work = path.join(tmp, 'work');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
  execFileSync('git', ['clone', '-q', remote, work]);
  c.base = commit(work, 'a.txt', 'one\n', 'base');
  c.poison = commit(work, 'b.txt', 'bug\n', 'introduce the bug');
  git(work, 'branch', 'lts');
  git(work, 'branch', 'lts-picked');
  git(work, 'branch', 'lts-patch');
  c.more = commit(work, 'c.txt', 'more\n', 'more work');
  c.fix = commit(work, 'b.txt', 'fixed\n', 'fix the bug');
  // LTS branches cut before the fix: one without it, one with `cherry-pick -x`, one with a plain cherry-pick.
  git(work, 'checkout', '-q', 'lts-picked');
  git(work, 'cherry-pick', '-x', c.fix);
  git(work, 'checkout', '-q', 'lts-patch');
  commit(work, 'd.txt', 'lts only\n', 'lts change');
  git(work, 'cherry-pick', c.fix);
  // A feature branch forked before the poison, merged after it: the merge brings the poison to `feature`.
  git(work, 'checkout', '-q', '-b', 'feature', c.base);
  commit(work, 'e.txt', 'feature\n', 'feature work');
  git(work, 'merge', '-q', '--no-edit', c.poison);
  git(work, 'checkout', '-q', 'main');
  git(work, 'push', '-q', 'origin', 'main', 'lts', 'lts-picked', 'lts-patch', 'feature');
  project = makeProject(remote);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('poison and cure, kept in git', () => {
  let id: string;

  it('poisons a commit, prints the id, and pushes the record to the remote', async () => {
    const result = await cli(
      project,
      'poison',
      c.poison!.slice(0, 10),
      '-m',
      'null deref in checkout',
      '--ticket',
      'BUG-1',
    );
    expect(result.code).toBe(0);
    id = result.stdout.trim();
    expect(id).toMatch(/^p-[0-9a-f]{8}$/);
    expect(
      execFileSync('git', ['--git-dir', remote, 'ls-tree', '-r', '--name-only', 'refs/relink/poison'], {
        encoding: 'utf8',
      }).trim(),
    ).toBe(`records/${id}.json`);
    const show = cliJson('poisonShow', (await cli(project, 'poison', 'show', id, '--json')).stdout);
    expect(show).toMatchObject({ commit: c.poison, ticket: 'BUG-1', cures: [] });
    const text = (await cli(project, 'poison', 'show', id)).stdout;
    expect(text).not.toMatch(/^\{/);
    expect(text.split('\n')).toEqual(
      expect.arrayContaining([
        `poison    ${id}  OPEN`,
        `commit    ${c.poison}`,
        'bug       null deref in checkout',
        'ticket    BUG-1',
        expect.stringMatching(/^recorded {2}.+, \d{4}-\d\d-\d\dT/),
        'cured by  (no cure yet: deploy cure <id> <fix-commit>)',
      ]),
    );
  });

  it('check: every branch with the poison and without the fix is refused, with comment, ticket and who', async () => {
    for (const rev of ['main', 'lts', 'lts-picked', 'lts-patch', 'feature']) {
      const result = await cli(project, 'check', rev);
      expect(result.code, rev).toBe(3);
      expect(result.stdout).toMatch(
        new RegExp(`${id}  poison ${c.poison!.slice(0, 12)}  null deref in checkout \\[BUG-1\\] \\(by `),
      );
    }
    expect((await cli(project, 'check', c.base!)).stdout).toMatch(/healthy/);
  });

  it('a cure counts by commit, by cherry-pick trailer and by patch-id, on exactly the branches that have it', async () => {
    const cured = await cli(project, 'cure', id, c.fix!);
    expect(cured.code).toBe(0);
    expect(cured.stderr).toBe('');
    const verdict = async (rev: string) => cliJson('check', (await cli(project, 'check', rev, '--json')).stdout);
    expect(await verdict('main')).toMatchObject({ healthy: true, cured: [{ how: 'commit' }] });
    expect(await verdict('lts-picked')).toMatchObject({ healthy: true, cured: [{ how: 'cherry-pick trailer' }] });
    expect(await verdict('lts-patch')).toMatchObject({ healthy: true, cured: [{ how: 'patch-id' }] });
    expect((await verdict('lts')).healthy).toBe(false);
    expect((await verdict('feature')).healthy).toBe(false);
    expect((await cli(project, 'poison', 'list', '--open')).stdout).toMatch(/no open poison records/);
  });

  it('two writers at the same moment both keep their records', async () => {
    const other = makeProject(remote);
    const [a, b] = await Promise.all([
      cli(project, 'poison', c.more!, '-m', 'writer A'),
      cli(other, 'poison', c.base!, '-m', 'writer B'),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const list = cliJson('poisonList', (await cli(project, 'poison', 'list', '--json')).stdout);
    expect(list.map((r) => r.comment).sort()).toEqual(['null deref in checkout', 'writer A', 'writer B']);
    expect(list.map((r) => r.id)).toEqual(expect.arrayContaining([a.stdout.trim(), b.stdout.trim()]));
    fs.rmSync(other, { recursive: true, force: true });
  });

  it('refuses a commit that does not exist and an unknown id, naming the next step', async () => {
    const missing = await cli(project, 'poison', 'deadbeef12', '-m', 'x');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no commit "deadbeef12" in the repository/);
    const unknown = await cli(project, 'cure', `${id}x`, c.fix!);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(new RegExp(`no poison record "${id}x"; closest: ${id}`));
  });

  it('warns, and records, a cure that does not descend from the poison', async () => {
    const list = cliJson('poisonList', (await cli(project, 'poison', 'list', '--json')).stdout);
    const writerA = list.find((r) => r.comment === 'writer A')!.id;
    const result = await cli(project, 'cure', writerA, c.base!);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/does not descend from the poison .*recorded anyway/);
  });

  it('skips a malformed record with a warning naming it', async () => {
    const scratch = path.join(tmp, 'scratch');
    execFileSync('git', ['clone', '-q', remote, scratch]);
    git(scratch, 'fetch', '-q', 'origin', 'refs/relink/poison:refs/relink/poison');
    git(scratch, 'checkout', '-q', 'refs/relink/poison');
    fs.writeFileSync(path.join(scratch, 'records', 'broken.json'), '{ not json');
    git(scratch, 'add', '-A');
    git(scratch, 'commit', '-q', '-m', 'a bad record');
    git(scratch, 'push', '-q', 'origin', 'HEAD:refs/relink/poison');
    const result = await cli(project, 'check', 'main');
    expect(result.stderr).toMatch(
      /warning: skipped a malformed poison record on refs\/relink\/poison: records\/broken\.json/,
    );
    expect(result.code).toBe(3);
  });

  it('works offline on the last fetched state and says so; writing needs the remote', async () => {
    fs.renameSync(remote, `${remote}.away`);
    try {
      const check = await cli(project, 'check', 'lts-picked');
      expect(check.stderr).toMatch(/working offline on the last fetched state/);
      // Checked against the records fetched last: the cherry-picked fix still counts, writer B's open poison still shows.
      expect(check.stdout).not.toMatch(/null deref in checkout/);
      expect(check.stdout).toMatch(/writer B/);
      const write = await cli(project, 'poison', c.more!, '-m', 'offline');
      expect(write.code).toBe(1);
      expect(write.stderr).toMatch(/cannot reach the repository to share the record: .*Nothing was recorded/);
    } finally {
      fs.renameSync(`${remote}.away`, remote);
    }
  });

  it('lists a comment with a newline and an escape sequence on one row, escaped (list, show, check)', async () => {
    const made = await cli(project, 'poison', c.more!, '-m', 'line one\n\x1b[31mline two', '--ticket', 'T\n1');
    expect(made.code, made.stderr).toBe(0);
    const shown = 'line one\\n\\x1b[31mline two';
    const records = cliJson('poisonList', (await cli(project, 'poison', 'list', '--json')).stdout);
    const list = (await cli(project, 'poison', 'list')).stdout.trimEnd().split('\n');
    expect(list).toHaveLength(records.length);
    expect(list.filter((l) => l.includes(`${shown}  [T\\n1]`))).toHaveLength(1);
    const show = (await cli(project, 'poison', 'show', made.stdout.trim())).stdout;
    expect(show).toContain(`bug       ${shown}\n`);
    const check = await cli(project, 'check', 'main');
    expect(check.code).toBe(3);
    expect(check.stdout).toContain(`${shown} [T\\n1] (by `);
    for (const out of [list.join('\n'), show, check.stdout]) expect(out).not.toContain('\x1b');
  });
});
