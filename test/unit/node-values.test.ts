import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOwner, parseOwner } from '../../src/gates/lock.js';
import { parseJournal } from '../../src/journal/events.js';
import { parseInspection, SECTION } from '../../src/remote/inspect.js';
import {
  currentRelease,
  isCommit,
  isId,
  isPid,
  isReleaseName,
  isTime,
  isVersion,
} from '../../src/remote/node-values.js';
import { layout } from '../../src/remote/paths.js';
import { GitMirror, GitRecords } from '../../src/transport/git.js';

const SHA1 = 'a1'.repeat(20);
const SHA256 = 'b2'.repeat(32);
const NAME = 'hello_prod_v1.1.0_main_20261121-170203_ana';
const l = layout('/srv/app');

/** What a hostile journal, lock or symlink on a node may hold: options, paths, shell, terminal sequences. */
const HOSTILE = [
  '--output=/tmp/x',
  `--output=/tmp/x..${SHA1}`,
  '-rf',
  '../../etc',
  'a/b',
  '$(touch /tmp/x)',
  '`id`',
  "it's",
  'v1 v2',
  'v1\nv2',
  'v1\u001b[2J',
  'v1\u202e',
  '',
  ' ',
  'x'.repeat(300),
];

describe('values read from a node', () => {
  it('a commit is 40 or 64 hex digits, nothing else', () => {
    expect([SHA1, SHA256].every(isCommit)).toBe(true);
    const bad = [...HOSTILE, SHA1.slice(1), `${SHA1}a`, SHA1.toUpperCase(), `${SHA1}..${SHA1}`, `${SHA1}\n`, 5, null];
    expect(bad.filter(isCommit)).toEqual([]);
  });

  it('a version is what deploy accepts: a tag, a branch or a short commit', () => {
    expect(['v1.2.3', 'release/1.0', '1a2b3c4d5e6f', 'v2.0.0-rc.1+build'].every(isVersion)).toBe(true);
    // `a/b` is a fine tag name; every other hostile value is not a version.
    const bad = [...HOSTILE, 'v1..v2', '.v1', '/v1', 'v'.repeat(201), 1, {}];
    expect(bad.filter(isVersion)).toEqual(['a/b']);
  });

  it('a release name is what releaseName() writes: no option, no slash, no dot-dot', () => {
    expect([NAME, 'r1', 'app-1.0_x'].every(isReleaseName)).toBe(true);
    expect([...HOSTILE, '.hidden', 'a..b', 'x'.repeat(256), ['r1']].filter(isReleaseName)).toEqual([]);
  });

  it('run ids, times and pids are what relink writes', () => {
    expect(['20261121-170203-a1b2c3', 'p-1a2b3c4d', 'run42'].every(isId)).toBe(true);
    expect([...HOSTILE, 7].filter(isId)).toEqual([]);
    expect(['2026-11-21T17:02:03.000Z', '2026-11-21T17:02:03Z'].every(isTime)).toBe(true);
    expect(
      ['2026-11-21', '2026-13-45T99:99:99Z', 'now', '2026-11-21T17:02:03Z\n', 1_700_000_000].filter(isTime),
    ).toEqual([]);
    expect([1, 4242].every(isPid)).toBe(true);
    expect([0, -1, 1.5, '1', Number.NaN, 2 ** 60].filter(isPid)).toEqual([]);
  });

  it('current counts only when it points at a release dir, as relinkCurrent writes it', () => {
    expect(currentRelease(l, `releases/${NAME}`)).toBe(NAME);
    expect(currentRelease(l, `/srv/app/releases/${NAME}`)).toBe(NAME);
    for (const target of [
      '/etc',
      `/tmp/releases/${NAME}`,
      `releases/../releases/${NAME}`,
      'releases/--output=x',
      'releases/..',
      `shared/${NAME}`,
      NAME,
      'releases/a\u001b[2J',
    ]) {
      expect(currentRelease(l, target), target).toBeUndefined();
    }
  });
});

describe('a journal with hostile values', () => {
  const base = {
    v: 1,
    ts: '2026-11-21T17:02:03.000Z',
    run: 'r1',
    node: 'node1',
    env: 'prod',
    user: 'ana',
    event: 'activated',
    release: NAME,
    version: 'v1.1.0',
    commit: SHA1,
  };
  const line = (extra: Record<string, unknown>) => JSON.stringify({ ...base, ...extra });

  it('keeps a valid record as written', () => {
    const parsed = parseJournal(`${line({ reason: 'it\u001b[2J broke', emergency: true })}\n`);
    expect(parsed).toEqual({
      events: [{ ...base, reason: 'it\u001b[2J broke', emergency: true }],
      corrupt: [],
      dropped: [],
    });
  });

  it.each([
    ['commit', '--output=/tmp/x'],
    ['commit', `--output=/tmp/x..${SHA1}`],
    ['commit', 'c0'],
    ['release', '--output=/tmp/x'],
    ['release', '../../../etc'],
    ['from', 'a/b'],
    ['version', '--output=/tmp/x'],
    ['version', 'v1\u001b[2J$(touch /tmp/x)'],
    ['retryOf', '--output=/tmp/x'],
    ['allowedPoisons', ['p-1', '-rf']],
    ['setAside', [{}]],
    ['result', 'pwned'],
    ['ms', -1],
    ['reason', { a: 1 }],
  ])('drops a %s of %j, keeps the record and says which line', (field, value) => {
    const parsed = parseJournal(`${line({})}\n${line({ [field]: value })}\n`);
    expect(parsed.corrupt).toEqual([]);
    expect(parsed.dropped).toEqual([{ line: 2, field }]);
    expect(parsed.events).toHaveLength(2);
    expect(parsed.events[1]).not.toHaveProperty(field);
  });

  it.each([
    ['run', '--output=/tmp/x'],
    ['run', 5],
    ['ts', 'yesterday'],
    ['event', 'Activated; rm'],
    ['node', ['node1']],
    ['user', null],
  ])('skips a record whose %s is %j as corrupt', (field, value) => {
    const parsed = parseJournal(`${line({ [field]: value })}\n${line({})}\n[1]\n"x"\n`);
    expect(parsed.corrupt).toEqual([1, 3, 4]);
    expect(parsed.events).toHaveLength(1);
  });

  it('keeps no field it does not know', () => {
    expect(parseJournal(line({ extra: '--output=/tmp/x' })).events[0]).not.toHaveProperty('extra');
  });
});

describe('an inspection with hostile names', () => {
  const inspect = (current: string, dirs: string[]) =>
    parseInspection(`${current}\n${SECTION}\n${dirs.map((d) => `${d}\n`).join('')}${SECTION}\n${SECTION}\n`, l);

  it('takes a current that points elsewhere as nothing deployed, and keeps where it points', () => {
    const seen = inspect('/tmp/x/--output=/tmp/x', [NAME]);
    expect(seen.current).toBeUndefined();
    expect(seen.strayTarget).toBe('/tmp/x/--output=/tmp/x');
    expect(inspect(`releases/${NAME}`, [NAME]).current).toBe(NAME);
    expect(inspect('', [NAME])).toMatchObject({ current: undefined, onDisk: [NAME], strayDirs: [] });
  });

  it('sets apart release dirs with names relink never writes', () => {
    const seen = inspect(`releases/${NAME}`, [NAME, '--output=x', '-rf', 'a b', 'v1\u001b[2J']);
    expect(seen.onDisk).toEqual([NAME]);
    expect(seen.strayDirs).toEqual(['--output=x', '-rf', 'a b', 'v1\u001b[2J']);
  });
});

describe('a lock owner record with hostile values', () => {
  const now = new Date('2026-11-21T17:10:00.000Z');
  const owner = {
    run: 'r1',
    kind: 'run',
    user: 'ana',
    host: 'laptop',
    pid: 4242,
    command: 'deploy prod v1.1.0',
    version: 'v1.1.0',
    since: '2026-11-21T17:02:03.000Z',
    heartbeat: '2026-11-21T17:09:00.000Z',
  };
  const raw = (extra: Record<string, unknown>) => JSON.stringify({ ...owner, ...extra });

  it('reads a valid record as written', () => {
    expect(parseOwner(raw({ message: 'freeze' }))).toEqual({ ...owner, message: 'freeze' });
  });

  it.each([
    ['run', '--output=/tmp/x'],
    ['kind', 'root'],
    ['pid', -1],
    ['pid', '1; rm -rf /'],
    ['since', 5],
    ['heartbeat', 'never'],
    ['user', ['ana']],
    ['command', null],
  ])('takes a record whose %s is %j as unreadable: held by an unknown run, never taken over', (field, value) => {
    expect(parseOwner(raw({ [field]: value }))).toBeUndefined();
    expect(describeOwner(raw({ [field]: value }), now)).toMatch(/^an unreadable owner record: /);
  });

  it('drops a version or message that fails its check', () => {
    const { version: _, ...rest } = owner;
    expect(parseOwner(raw({ version: '--output=/tmp/x', message: 7 }))).toEqual(rest);
  });

  it('escapes what it prints of the text fields, and of a record it cannot read', () => {
    const text = describeOwner(raw({ user: 'ana\u001b[2J', host: 'a\nb', command: 'deploy \u202eprod' }), now);
    expect(text).toContain('ana\\x1b[2J on a\\nb');
    expect(text).toContain('deploy \\u{202e}prod');
    expect(describeOwner('{"run":"\u001b]0;x\u0007"}', now)).toBe(
      'an unreadable owner record: {"run":"\\x1b]0;x\\x07"}',
    );
  });
});

describe('git never reads a revision as an option', () => {
  let dir: string;
  let watched: string;
  let git: GitRecords;
  let mirror: GitMirror;
  let head: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-eoo-'));
    watched = path.join(dir, 'watched');
    fs.mkdirSync(watched);
    const repo = path.join(dir, 'repo.git');
    const run = (...args: string[]) => execFileSync('git', ['--git-dir', repo, ...args], { encoding: 'utf8' }).trim();
    execFileSync('git', ['init', '-q', '--bare', repo]);
    const tree = run('write-tree');
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't' };
    head = execFileSync('git', ['--git-dir', repo, 'commit-tree', tree, '-m', 'one'], {
      encoding: 'utf8',
      env: { ...env, GIT_COMMITTER_EMAIL: 't@x' },
    }).trim();
    run('update-ref', 'refs/heads/main', head);
    mirror = new GitMirror(repo, repo);
    git = new GitRecords(mirror);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('with every method that takes a revision, an --output revision writes no file', async () => {
    const file = path.join(watched, 'F');
    for (const rev of [`--output=${file}`, `--output=${file}..${SHA1}`]) {
      const calls: Promise<unknown>[] = [
        mirror.resolve(rev),
        mirror.branchesContaining(rev),
        mirror.subject(rev),
        mirror.commitsBetween(rev, head),
        mirror.commitsBetween(undefined, rev),
        mirror.export(rev, dir),
        git.tip(rev),
        git.readFiles(rev, 'records'),
        git.history(rev),
        git.cherryPickedFrom(rev),
        git.hasEquivalent(rev, head),
        git.hasEquivalent(head, rev),
        git.isAncestor(rev, head),
        git.isAncestor(head, rev),
        git.setRef('refs/relink/x', rev),
      ];
      await Promise.allSettled(calls);
    }
    expect(fs.readdirSync(watched)).toEqual([]);
    // And the same methods still work with ordinary revisions.
    expect(await mirror.commitsBetween(undefined, 'main')).toEqual([{ sha: head, subject: 'one' }]);
    expect(await git.history('main')).toEqual(new Set([head]));
    expect(await git.isAncestor(head, 'main')).toBe(true);
    expect(await mirror.subject(head)).toBe('one');
  });
});
