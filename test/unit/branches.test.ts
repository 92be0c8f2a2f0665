import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/errors.js';
import {
  checkBase,
  conflictError,
  MAX_BRANCHES,
  mergeMessage,
  mergeRef,
  mergedArgs,
  mergedVersion,
  parseBranchList,
  readMergeTree,
} from '../../src/gates/branches.js';
import { parseJournal } from '../../src/journal/events.js';
import { renderReport } from '../../src/pipeline/lifecycle/report.js';
import { mergeRuns } from '../../src/journal/history.js';
import { isBranchName } from '../../src/remote/node-values.js';
import { grepLogs } from '../../src/remote/logs.js';
import { layout } from '../../src/remote/paths.js';
import { render } from '../../src/remote/tokens.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const M = 'c'.repeat(40);

describe('--branches: what is asked, checked before git sees it', () => {
  it('splits on commas and repeats, trims, and keeps the order given', () => {
    expect(parseBranchList(['feat-a, feat-b', 'fix/login'])).toEqual(['feat-a', 'feat-b', 'fix/login']);
  });

  it('refuses, as bad input, what is not a branch name: options, ranges, reflog expressions, hostile text', () => {
    for (const bad of [
      '--upload-pack=touch x',
      '-b',
      'a..b',
      'main@{1}',
      'x.lock',
      'a//b',
      'a/.b',
      'trailing/',
      'dot.',
      '$(rm -rf /)',
      '`id`',
      "it's",
      'new\nline',
      'ünïcode',
      'x'.repeat(101),
    ]) {
      expect(isBranchName(bad), bad).toBe(false);
      expect(() => parseBranchList([bad]), bad).toThrow(/is not a branch name relink accepts/);
    }
    expect(isBranchName('release/2026-11.1')).toBe(true);
  });

  it('refuses none, the same branch twice, the base itself, and more than the limit', () => {
    const refused = (values: string[], base?: string) => {
      try {
        parseBranchList(values, base);
      } catch (error) {
        expect((error as { exitCode: number }).exitCode).toBe(EXIT.usage);
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused([' , '])).toBe('--branches names no branch');
    expect(refused(['a,b,a'])).toBe('--branches names a twice');
    expect(refused(['a,main'], 'main')).toMatch(/main is the base the branches are merged onto/);
    const many = Array.from({ length: MAX_BRANCHES + 1 }, (_, i) => `b${i}`);
    expect(refused(many)).toMatch(`at most ${MAX_BRANCHES} go together`);
    expect(() => checkBase('-x')).toThrow(/is not a branch name/);
  });
});

describe('the merge: its name, its message, its ref', () => {
  const merged = {
    base: { name: 'main', commit: M },
    branches: [
      { name: 'feat-a', commit: A },
      { name: 'feat-b', commit: B },
    ],
  };

  it('names the version by how many branches it holds and its commit (a valid release-name part)', () => {
    expect(mergedVersion(3, A)).toBe('3-branches-aaaaaaaaaaaa');
    expect(mergedVersion(1, B)).toBe('1-branch-bbbbbbbbbbbb');
  });

  it('says what it holds in the command line, the commit message and one ref per environment', () => {
    expect(mergedArgs(merged)).toBe('--branches feat-a,feat-b --base main');
    expect(mergeMessage(merged)).toBe(`relink: 2 branches merged onto main (${M})\n\nfeat-a ${A}\nfeat-b ${B}\n`);
    expect(mergeRef('test')).toBe('refs/relink/merges/test');
  });

  it("reads merge-tree's answer: a clean tree, or the conflicting files once each", () => {
    expect(readMergeTree(0, `${A}\0`)).toEqual({ tree: A });
    expect(readMergeTree(1, `${A}\0a.txt\0a.txt\0dir/b c.txt\0`)).toEqual({ conflicts: ['a.txt', 'dir/b c.txt'] });
    expect(readMergeTree(128, 'fatal: not a commit')).toBeUndefined();
    expect(readMergeTree(2, `${A}\0`)).toBeUndefined();
  });

  it('refuses a conflict as bad input naming both sides and the files', () => {
    const error = conflictError('feat-x', 'feat-y', ['features/shared.txt', 'README.md'], 'main');
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toBe('feat-x and feat-y conflict in: features/shared.txt, README.md');
    expect(String(error.hint)).toMatch(/nothing was built or deployed/);
    const many = Array.from({ length: 25 }, (_, i) => `f${i}`);
    expect(conflictError('a', 'b', many, 'main').message).toMatch(/f19, and 5 more$/);
  });

  it('is journaled and read back per run; a malformed record of it is dropped, the line kept', () => {
    const line = (merged: unknown) =>
      JSON.stringify({
        v: 1,
        ts: '2026-11-21T17:02:03.000Z',
        run: '20261121-170203-a1b2c3',
        node: 'node1',
        env: 'test',
        user: 'ana',
        event: 'run_finished',
        result: 'success',
        command: 'deploy test --branches feat-a,feat-b --base main',
        merged,
      });
    const good = parseJournal(line({ ...merged, base: { ...merged.base, extra: 'x' } }));
    expect(mergeRuns([good.events])[0]!.merged).toEqual(merged);
    const hostile = parseJournal(line({ base: { name: '--exec=x', commit: M }, branches: [] }));
    expect(hostile.dropped).toEqual([{ line: 1, field: 'merged' }]);
    expect(hostile.events[0]!.merged).toBeUndefined();
  });
});

describe('deploy logs --grep: the search on a node', () => {
  const l = layout('/srv/app');

  it('passes the text as one quoted value after -e, fixed by default, and asks one line more than --max', () => {
    expect(render(grepLogs(l, 'shared/log', '*.log', 'trace=7f3a9c', 100, {}))).toBe(
      "cd /srv/app/shared/log && find . -maxdepth 1 -type f -name '*.log' -print0 | xargs -0 -r grep -a -h -F -e " +
        'trace=7f3a9c -- | tail -n 101',
    );
    expect(render(grepLogs(l, 'shared/log', '*.log', 'a|b', 5, { regex: true, ignoreCase: true }))).toContain(
      "grep -a -h -E -i -e 'a|b' -- | tail -n 6",
    );
  });

  it('never lets the text become an option or shell', () => {
    for (const hostile of ['-v', '--help', '$(rm -rf /)', "'; touch x; '", '`id`', 'a\nb']) {
      const text = render(grepLogs(l, 'shared/log', '*.log', hostile, 1, {}));
      expect(text).toContain(`-e ${render([hostile])} --`);
    }
    expect(() => grepLogs(l, '../../etc', '*', 'x', 1, {})).toThrow(/leaves/);
  });
});

describe('the report of a branch deploy', () => {
  it('lists the base and each branch merged onto it, with their commits, in order', () => {
    const report = {
      runId: 'r1',
      command: 'deploy test --branches feat-a,feat|b --base main',
      env: 'test',
      user: 'ana',
      started: new Date('2026-12-08T17:00:00Z'),
      finished: new Date('2026-12-08T17:00:05Z'),
      result: 'success',
      steps: [],
      rollbackCommand: 'rollback test --last',
    };
    const merged = {
      base: { name: 'main', commit: 'a'.repeat(40) },
      branches: [
        { name: 'feat-a', commit: 'b'.repeat(40) },
        { name: 'feat|b', commit: 'c'.repeat(40) },
      ],
    };
    expect(renderReport({ ...report, merged })).toContain(
      '## Branches merged onto main (`aaaaaaaaaa`)\n\n- feat-a `bbbbbbbbbb`\n- feat\\|b `cccccccccc`\n',
    );
    expect(renderReport(report)).not.toContain('Branches merged');
  });
});
