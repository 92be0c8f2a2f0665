import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/events.js';
import { computeStats, isDefaultReason, mergeRuns, parseSince } from '../../src/journal/history.js';

const fin = (node: string, run: string, minute: number, fields: Partial<JournalEvent>): JournalEvent => ({
  v: 1,
  ts: new Date(Date.UTC(2026, 10, 21, 17, minute)).toISOString(),
  run,
  node,
  env: 'prod',
  user: 'ana',
  event: 'run_finished',
  command: 'deploy prod v1',
  result: 'success',
  ms: 1000,
  ...fields,
});

describe('history', () => {
  it('merges runs across nodes, de-duplicated by run id, newest first', () => {
    const n1 = [fin('n1', 'r1', 0, {}), fin('n1', 'r2', 5, { result: 'rolled_back' })];
    const n2 = [
      fin('n2', 'r1', 0, {}),
      fin('n2', 'r2', 5, { result: 'rolled_back' }),
      fin('n2', 'r3', 9, { command: 'rollback --emergency', emergency: true }),
    ];
    const runs = mergeRuns([n1, n2]);
    expect(runs.map((r) => [r.run, r.kind, r.nodes.join(',')])).toEqual([
      ['r3', 'emergency-rollback', 'n2'],
      ['r2', 'deploy', 'n1,n2'],
      ['r1', 'deploy', 'n1,n2'],
    ]);
  });

  it('names a rollback by its command line, also in records that journaled only `rollback`', () => {
    const runs = mergeRuns([
      [
        fin('n1', 'new', 1, { command: 'rollback prod --to v1.0.0 --emergency', emergency: true }),
        fin('n1', 'old-last', 2, { command: 'rollback', reason: 'rollback --last', version: 'v1' }),
        fin('n1', 'old-emergency', 3, { command: 'rollback --emergency', reason: 'rollback --emergency --to v2' }),
        fin('n1', 'old-reason', 4, { command: 'rollback', reason: 'checkout broken', version: 'v0.9.0' }),
      ],
    ]);
    expect(runs.map((r) => [r.run, r.command, r.kind])).toEqual([
      ['old-reason', 'rollback prod --to v0.9.0', 'rollback'],
      ['old-emergency', 'rollback prod --to v2 --emergency', 'emergency-rollback'],
      ['old-last', 'rollback prod --last', 'rollback'],
      ['new', 'rollback prod --to v1.0.0 --emergency', 'emergency-rollback'],
    ]);
    expect(isDefaultReason('rollback --emergency --last')).toBe(true);
    expect(isDefaultReason('checkout broken')).toBe(false);
    expect(isDefaultReason(undefined)).toBe(false);
  });

  it('parses --since', () => {
    expect(parseSince('30d')).toBe(30 * 86400e3);
    expect(parseSince('90m')).toBe(90 * 60e3);
    expect(() => parseSince('soon')).toThrow(/not a duration/);
  });
});

describe('stats', () => {
  it('counts deploys, failures, rollbacks, durations and time to recover', () => {
    const events = [
      fin('n1', 'a', 0, { ms: 1000 }),
      fin('n1', 'b', 10, { ms: 2000 }),
      fin('n1', 'c', 20, { ms: 9000, result: 'rolled_back' }),
      fin('n1', 'd', 26, { command: 'rollback', ms: 500 }),
      fin('n1', 'e', 30, { ms: 3000 }),
      fin('n1', 'f', 40, { command: 'rollback --emergency', emergency: true, ms: 300, result: 'failed' }),
    ];
    const stats = computeStats(mergeRuns([events]));
    expect(stats).toMatchObject({
      deploys: 4,
      successes: 3,
      failures: 1,
      rollbacks: 2,
      rollbacksNormal: 1,
      rollbacksEmergency: 1,
      rollbacksFailed: 1,
      successRate: 0.75,
      medianMs: 2500,
      mttrMs: 6 * 60e3,
      lastSuccess: new Date(Date.UTC(2026, 10, 21, 17, 30)).toISOString(),
      lastFailure: new Date(Date.UTC(2026, 10, 21, 17, 20)).toISOString(),
    });
    expect(stats.p95Ms).toBeCloseTo(8100);
  });

  it('is empty but well-formed with no runs', () => {
    expect(computeStats([])).toMatchObject({
      deploys: 0,
      successRate: null,
      medianMs: null,
      mttrMs: null,
      lastSuccess: null,
    });
  });
});
