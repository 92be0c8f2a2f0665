import { describe, expect, it } from 'vitest';
import { phrase } from '../../src/app/phrase.js';
import { EXIT, type RelinkError } from '../../src/errors.js';
import type { PoisonRecord } from '../../src/gates/poison.js';
import { computeStats, type RunRecord } from '../../src/journal/history.js';
import { renderReport } from '../../src/pipeline/lifecycle/report.js';
import { bugsOfTargets, judgeRollback, type TargetBugs } from '../../src/pipeline/phases/rollback-gate.js';
import { rollbackConfirm } from '../../src/web/pages/confirm.js';
import { gateBody } from '../../src/web/pages/gate.js';

const bug = (id: string, comment: string): PoisonRecord => ({
  id,
  commit: 'b0'.repeat(20),
  comment,
  who: 'ana',
  when: '2026-11-15T10:00:00Z',
  cures: [],
});
const A = bug('p-aaaa0001', 'orders lost');
const B = bug('p-bbbb0002', 'slow login');
const target = (version: string) => ({
  release: `hello_prod_${version}_main_20261101-120000_ana`,
  version,
  commit: 'c0'.repeat(20),
  branch: '',
});
const onV1: TargetBugs[] = [{ target: target('v1.0.0'), open: [{ record: A }, { record: B }] }];

function refusal(run: () => unknown): RelinkError {
  try {
    run();
  } catch (error) {
    return error as RelinkError;
  }
  throw new Error('not refused');
}

describe('the release gate of a rollback decides', () => {
  it('a target without known bugs passes, with nothing to journal', () => {
    const passed = judgeRollback([{ target: target('v1.0.0'), open: [] }], {}, 'prod');
    expect(passed).toMatchObject({ allowed: [], landsOn: [], fields: {}, warnings: [] });
  });

  it('a target with open bugs is refused (exit 3) naming each bug and the release; the hint names the ways on', () => {
    const error = refusal(() => judgeRollback(onV1, {}, 'prod'));
    expect(error.exitCode).toBe(EXIT.gate);
    expect(error.message).toMatch(
      /^rollback target v1\.0\.0 \(hello_prod_v1\.0\.0_main_20261101-120000_ana\) contains 2 known bug\(s\)/,
    );
    expect(error.message).toMatch(/p-aaaa0001 .* orders lost/);
    expect(error.message).toMatch(/p-bbbb0002 .* slow login/);
    const hint = phrase(error.hint!);
    expect(hint).toMatch(/rollback prod --to <version>; each release's known bugs: deploy releases prod\)/);
    expect(hint).toMatch(/deliberately: --allow-poison p-aaaa0001 --allow-poison p-bbbb0002 --reason/);
    expect(hint).toMatch(/--emergency --reason/);
  });

  it('allowing one of two bugs is not enough; allowing both needs a reason, then passes and journals them', () => {
    expect(refusal(() => judgeRollback(onV1, { allowPoison: [A.id], reason: 'x' }, 'prod')).message).toMatch(
      /contains 1 known bug\(s\) without their fix:\n {2}p-bbbb0002/,
    );
    const both = [A.id, B.id];
    expect(refusal(() => judgeRollback(onV1, { allowPoison: both }, 'prod')).exitCode).toBe(EXIT.usage);
    const passed = judgeRollback(onV1, { allowPoison: both, reason: 'v1.1.0 is worse' }, 'prod');
    expect(passed.fields).toEqual({ allowedPoisons: both });
    expect(passed.records.map((r) => r.id)).toEqual(both);
    expect(passed.warnings).toEqual([
      'rolling back onto known bugs allowed by --allow-poison p-aaaa0001, p-bbbb0002: v1.1.0 is worse',
    ]);
  });

  it('an emergency is never refused: it says and journals what it lands on', () => {
    const passed = judgeRollback(onV1, { emergency: true }, 'prod');
    expect(passed.landsOn).toEqual([A.id, B.id]);
    expect(passed.fields).toEqual({ landedOnPoisons: [A.id, B.id] });
    expect(passed.warnings[0]).toMatch(/^emergency rollback lands on v1\.0\.0 .*2 known bug\(s\) without their fix/);
  });

  it('checks each distinct target once and leaves a target without a commit unchecked', async () => {
    const asked: string[] = [];
    const found = await bugsOfTargets(
      [target('v1.0.0'), target('v1.0.0'), { ...target('v0.9.0'), commit: 'unknown' }],
      {
        findings: async (commit) => {
          asked.push(commit);
          return [{ record: A }, { record: B, curedBy: 'c1'.repeat(20), how: 'commit' }];
        },
      },
    );
    expect(asked).toEqual(['c0'.repeat(20)]);
    expect(found.map((t) => t.open.map((f) => f.record.id))).toEqual([[A.id]]);
  });
});

describe('what a gated rollback leaves behind', () => {
  const run = (kind: RunRecord['kind'], allowedPoisons?: string[]): RunRecord => ({
    run: `r-${kind}-${allowedPoisons?.length ?? 0}`,
    env: 'prod',
    ts: '2026-11-20T10:00:00Z',
    user: 'ana',
    command: kind,
    kind,
    result: 'success',
    ms: 1,
    nodes: ['node1'],
    allowedPoisons,
  });

  it('stats count a rollback onto an allowed bug as an override, as a deploy is', () => {
    const stats = computeStats([run('deploy', ['p-1']), run('rollback', ['p-2']), run('rollback')]);
    expect(stats.poisonOverrides).toBe(2);
  });

  it('a report lists where the bugs a release fixes still run without the fix', () => {
    const now = new Date('2026-11-20T10:00:00Z');
    const text = renderReport({
      runId: 'r1',
      command: 'deploy prod v1.2.1',
      env: 'prod',
      user: 'ana',
      started: now,
      finished: now,
      result: 'success',
      steps: [],
      rollbackCommand: 'rollback prod --last',
      notYetFixed: [
        { id: 'p-1', comment: 'orders lost', ticket: 'OPS-7', nodes: ['test/node3 (v1.1.0)'] },
        { id: 'p-2', comment: 'slow', nodes: [] },
      ],
    });
    expect(text).toContain(
      '## Fixed here, still running elsewhere without the fix\n\n' +
        '- p-1: orders lost (OPS-7): test/node3 (v1.1.0)\n- p-2: slow: nowhere: every node has the fix\n',
    );
  });
});

describe('the dashboard shows the known bugs of rollback targets and where a fixed bug still runs', () => {
  const rel = (v: string) => `hello_prod_${v}_main_20261101-120000_ana`;
  const rows = [
    {
      node: 'node1',
      current: rel('v1.2.0'),
      currentVersion: 'v1.2.0',
      target: { ...target('v1.1.0'), release: rel('v1.1.0') },
      knownBugs: [A.id],
    },
  ];

  it('a rollback page offers each known bug of the targets as --allow-poison, with a reason required', () => {
    const page = String(rollbackConfirm('prod', rows, { kind: 'last' }, false, 'tok'));
    expect(page).toContain(`known bugs without their fix: ${A.id}`);
    expect(page).toContain(`name="allowPoison" value="${A.id}"`);
    expect(page).toMatch(/<input name="reason" required>/);
    const emergency = String(rollbackConfirm('prod', rows, { kind: 'last' }, true, 'tok'));
    expect(emergency).toContain(`lands on known bugs without their fix: ${A.id} (journaled, notified)`);
    expect(emergency).not.toContain('name="allowPoison"');
  });

  it('the gate page lists a bug with its fix recorded that a node still runs without it', () => {
    const cured = { ...A, cures: [{ commit: 'c1'.repeat(20), who: 'bo', when: '2026-11-16T10:00:00Z' }] };
    const affected = [
      { env: 'test', node: 'node4', release: rel('v1.1.0'), version: 'v1.1.0', commit: 'c0'.repeat(20) },
    ];
    const gate = {
      readAt: '2026-11-20T10:00:00Z',
      records: [cured, B],
      malformed: [],
      impact: [
        { id: A.id, poison: A.commit, affected, unreachable: [] },
        { id: B.id, poison: B.commit, affected: [], unreachable: [] },
      ],
    };
    const page = String(gateBody(gate, undefined, false));
    expect(page).toMatch(
      new RegExp(
        `Fixed, but still running without the fix</h2><ul><li><a href="#${A.id}">${A.id}</a> orders lost:\\s+test/node4 \\(v1\\.1\\.0\\)</li></ul>`,
      ),
    );
    expect(page).not.toMatch(new RegExp(`still running without the fix.*${B.id}.*</ul>`, 's'));
  });
});
