import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, type RelinkError } from '../../src/errors.js';
import type { Finding, PoisonRecord } from '../../src/gates/poison.js';
import type { KnownBugs } from '../../src/pipeline/phases/rollback-gate.js';
import { rollback } from '../../src/pipeline/rollback.js';
import { deploy } from '../../src/pipeline/run.js';
import { SECTION } from '../../src/remote/inspect.js';
import { fakeRun, journalLine } from '../helpers/fake-run.js';

const R0 = 'hello_prod_v1.0.0_main_20261101-120000_ana';
const R1 = 'hello_prod_v1.1.0_main_20261110-120000_ana';
/** The commit journalLine gives every release: the one v1.0.0 was built from. */
const OLD_COMMIT = 'c0'.repeat(20);

const record: PoisonRecord = {
  id: 'p-0badc0de',
  commit: 'b0'.repeat(20),
  comment: 'orders are lost on retry',
  ticket: 'OPS-7',
  who: 'ana',
  when: '2026-11-15T10:00:00Z',
  cures: [{ commit: 'c1'.repeat(20), who: 'bo', when: '2026-11-16T10:00:00Z' }],
};

/** The repository's records: v1.0.0's commit has the bug without its fix (v1.1.0 has the fix). */
const bugs: KnownBugs = {
  findings: async (commit) => (commit === OLD_COMMIT ? [{ record }] : []),
};

/** Four nodes that ran v1.0.0 and run v1.1.0 now: `rollback --last` goes back to v1.0.0. */
function twoReleases() {
  const journal = [
    journalLine('a', 'activated', R0, 'v1.0.0', '2026-11-01T12:00:00Z'),
    journalLine('a', 'smoke_ok', R0, 'v1.0.0', '2026-11-01T12:00:01Z'),
    journalLine('b', 'activated', R1, 'v1.1.0', '2026-11-10T12:00:00Z'),
    journalLine('b', 'smoke_ok', R1, 'v1.1.0', '2026-11-10T12:00:01Z'),
  ].join('\n');
  const state = `releases/${R1}\n${SECTION}\n${R0}\n${R1}\n${SECTION}\n${SECTION}\n${journal}\n`;
  return fakeRun({
    answer: (_node, command) => (command.includes('readlink /srv/app/current') ? { stdout: state } : undefined),
  });
}

const relinks = (run: ReturnType<typeof fakeRun>) => run.transport.log.filter((r) => r.command.includes('mv -Tf'));
const finished = (run: ReturnType<typeof fakeRun>) =>
  run.transport.log.filter((r) => r.command.includes('run_finished')).map((r) => r.command);

describe('the release gate of a rollback', () => {
  it('refuses to go back onto a release with a known bug without its fix: exit 3, the bug and the release named', async () => {
    const run = twoReleases();
    const request = { ...run.request, target: { kind: 'last' as const } };
    const error = (await rollback(request, run.deps, bugs).catch((e: unknown) => e)) as RelinkError;
    expect(error.exitCode).toBe(EXIT.gate);
    expect(error.message).toMatch(
      /^rollback target v1\.0\.0 \(hello_prod_v1\.0\.0_main_20261101-120000_ana\) contains 1 known bug\(s\) without their fix:\n {2}p-0badc0de {2}poison b0b0b0b0b0b0 {2}orders are lost on retry \[OPS-7\]/,
    );
    expect(run.deps.phrase(error.hint!)).toMatch(/--allow-poison p-0badc0de --reason/);
    expect(run.deps.phrase(error.hint!)).toMatch(/--emergency/);
    // Nothing moved, nothing journaled as a run; the locks are given back.
    expect(relinks(run)).toEqual([]);
    expect(finished(run)).toEqual([]);
    expect(run.transport.log.filter((r) => r.command.startsWith('grep -qF')).length).toBe(4);
  });

  it('goes back with --allow-poison and a reason, journaled on every node; without a reason it is bad input', async () => {
    const noReason = twoReleases();
    const asked = { ...noReason.request, target: { kind: 'last' as const }, allowPoison: [record.id] };
    const error = (await rollback(asked, noReason.deps, bugs).catch((e: unknown) => e)) as RelinkError;
    expect(error.exitCode).toBe(EXIT.usage);
    expect(relinks(noReason)).toEqual([]);

    const run = twoReleases();
    const request = {
      ...asked,
      ...run.request,
      target: asked.target,
      allowPoison: [record.id],
      reason: 'v1.1.0 fails',
    };
    const outcome = await rollback(request, run.deps, bugs);
    expect(outcome.moved).toEqual(['node1', 'node2', 'node3', 'node4']);
    const lines = finished(run);
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toMatch(/\\?"allowedPoisons\\?":\[\\?"p-0badc0de\\?"\]/);
    const warned = run.events.filter((e) => e.type === 'warn').map((e) => (e as { message: string }).message);
    expect(warned).toContain('rolling back onto known bugs allowed by --allow-poison p-0badc0de: v1.1.0 fails');
  });

  it('an emergency rollback goes ahead, and says and journals the known bugs it lands on', async () => {
    const run = twoReleases();
    const request = { ...run.request, target: { kind: 'last' as const }, emergency: true, reason: 'site down' };
    const outcome = await rollback(request, run.deps, bugs);
    expect(outcome.moved).toHaveLength(4);
    const warned = run.events.filter((e) => e.type === 'warn').map((e) => (e as { message: string }).message);
    expect(warned.join('\n')).toMatch(
      /emergency rollback lands on v1\.0\.0 \(hello_prod_v1\.0\.0_main_20261101-120000_ana\), with 1 known bug\(s\) without their fix:\n {2}p-0badc0de/,
    );
    for (const line of finished(run)) expect(line).toMatch(/\\?"landedOnPoisons\\?":\[\\?"p-0badc0de\\?"\]/);
  });

  it('a target without known bugs goes back as before', async () => {
    const run = twoReleases();
    const clean: KnownBugs = { findings: async () => [{ record, curedBy: record.cures[0]!.commit, how: 'commit' }] };
    const outcome = await rollback({ ...run.request, target: { kind: 'last' } }, run.deps, clean);
    expect(outcome.moved).toHaveLength(4);
    for (const line of finished(run)) expect(line).not.toMatch(/Poisons/);
  });
});

describe('the check after a hotfix', () => {
  it('a release that carries the cure of a known bug says where the bug still runs without it, in its report', async () => {
    const run = fakeRun();
    const cured: Finding = { record, curedBy: record.cures[0]!.commit, how: 'commit' };
    const asked: (readonly PoisonRecord[])[] = [];
    const source = {
      ...run.source,
      check: async () => [cured],
      stillRunning: async (records: readonly PoisonRecord[]) => {
        asked.push(records);
        const nodes = [{ env: 'test', node: 'node9', release: R0, version: 'v1.0.0' }];
        return { affected: new Map([[record.id, nodes]]), unreachable: [{ env: 'dev', node: 'node8' }] };
      },
    };
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-hotfix-'));
    await deploy({ ...run.request, stateDir }, run.deps, source);
    expect(asked).toEqual([[record]]);
    const warned = run.events.filter((e) => e.type === 'warn').map((e) => (e as { message: string }).message);
    expect(warned).toContain(
      'this release fixes p-0badc0de (orders are lost on retry); still running without the fix: test/node9 (v1.0.0)',
    );
    expect(warned).toContain('not checked (unreachable): dev/node8');
    const report = fs.readFileSync(path.join(stateDir, 'reports', 'run42.md'), 'utf8');
    fs.rmSync(stateDir, { recursive: true, force: true });
    expect(report).toMatch(
      /## Fixed here, still running elsewhere without the fix\n\n- p-0badc0de: orders are lost on retry \(OPS-7\): test\/node9 \(v1\.0\.0\)\n/,
    );
  });

  it('a release that cures nothing reads no other environment', async () => {
    const run = fakeRun();
    let read = 0;
    const stillRunning = async () => {
      read++;
      return { affected: new Map(), unreachable: [] };
    };
    await deploy(run.request, run.deps, { ...run.source, stillRunning });
    expect(read).toBe(0);
  });
});
