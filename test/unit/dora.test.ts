import { describe, expect, it } from 'vitest';
import { computeDora, DORA_BANDS } from '../../src/journal/dora.js';
import type { RunRecord } from '../../src/journal/history.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const t0 = Date.UTC(2026, 10, 1);

/** A run that finished `hours` after t0. */
const run = (id: string, hours: number, fields: Partial<RunRecord> = {}): RunRecord => ({
  run: id,
  env: 'prod',
  ts: new Date(t0 + hours * HOUR).toISOString(),
  user: 'ana',
  command: 'deploy prod v1',
  kind: 'deploy',
  result: 'success',
  ms: 1000,
  nodes: ['n1'],
  ...fields,
});
const rollback = (id: string, hours: number, fields: Partial<RunRecord> = {}) =>
  run(id, hours, { kind: 'rollback', command: 'rollback prod --last', ...fields });
const options = { spanMs: 10 * DAY, changeFailureWindowMs: 24 * HOUR };

describe('DORA keys', () => {
  it('a failed deploy then a success: one change failure in two, restored in the time between', () => {
    const dora = computeDora([run('a', 0, { result: 'failed' }), run('b', 3)], options);
    expect(dora.change_failure_rate).toEqual({ value: 0.5, unit: 'ratio', band: 'low' });
    expect(dora.time_to_restore_service).toEqual({ value: 3, unit: 'hours', band: 'high' });
    // One successful deploy over ten days.
    expect(dora.deployment_frequency).toEqual({ value: 0.1, unit: 'deploys/day', band: 'medium' });
  });

  it('a deploy rolled back within the window is a change failure; outside it, not', () => {
    const within = computeDora([run('a', 0), rollback('rb', 2), run('c', 30), run('d', 40)], options);
    expect(within.change_failure_rate.value).toBeCloseTo(1 / 3);
    expect(within.time_to_restore_service.value).toBe(2);
    const outside = computeDora([run('a', 0), rollback('rb', 25), run('c', 30), run('d', 40)], options);
    expect(outside.change_failure_rate).toEqual({ value: 0, unit: 'ratio', band: 'elite' });
    expect(outside.time_to_restore_service).toEqual({ value: null, unit: 'hours', band: null });
    const wider = computeDora([run('a', 0), rollback('rb', 25)], { ...options, changeFailureWindowMs: 48 * HOUR });
    expect(wider.change_failure_rate.value).toBe(1);
  });

  it('a rollback after the next deploy is laid to that deploy, not the one before', () => {
    const dora = computeDora([run('a', 0), run('b', 1), rollback('rb', 2)], options);
    expect(dora.change_failure_rate.value).toBe(0.5);
  });

  it('interrupted deploys count neither way; a failed rollback restores nothing', () => {
    const runs = [
      run('a', 0, { result: 'rolled_back' }),
      run('i', 1, { result: 'interrupted' }),
      rollback('rb', 2, { result: 'failed' }),
      run('b', 5, { result: 'partial' }),
    ];
    const dora = computeDora(runs, options);
    expect(dora.change_failure_rate.value).toBe(0.5);
    expect(dora.time_to_restore_service.value).toBe(5);
  });

  it('lead time: the median from the first commit of each known release to its deploy', () => {
    const runs = [run('a', 10), run('b', 20), run('c', 30), run('x', 31, { result: 'failed' })];
    const firstCommitMs = new Map([
      ['a', t0 + 9 * HOUR],
      ['b', t0 - 10 * HOUR],
      ['c', t0 - 200 * HOUR],
      ['x', t0],
    ]);
    const dora = computeDora(runs, { ...options, firstCommitMs });
    // 1 h, 30 h, 230 h: the failed deploy released nothing.
    expect(dora.lead_time_for_changes).toEqual({ value: 30, unit: 'hours', band: 'high' });
    expect(computeDora(runs, options).lead_time_for_changes.value).toBeNull();
  });

  it('no runs: every key is null and has no band', () => {
    const dora = computeDora([], options);
    for (const key of Object.values(dora))
      expect([key.value, key.band]).toEqual([
        key.unit === 'deploys/day' ? 0 : null,
        key.unit === 'deploys/day' ? 'low' : null,
      ]);
  });

  it('bands follow the thresholds at their bounds', () => {
    const daily = (n: number) => Array.from({ length: n }, (_, i) => run(`r${i}`, i));
    const freq = (n: number, days: number) =>
      computeDora(daily(n), { ...options, spanMs: days * DAY }).deployment_frequency.band;
    expect([freq(7, 7), freq(1, 7), freq(1, 30), freq(1, 31)]).toEqual(['elite', 'high', 'medium', 'low']);
    expect(DORA_BANDS.change_failure_rate).toEqual({ elite: 0.05, high: 0.1, medium: 0.15 });
    const restore = (hours: number) =>
      computeDora([run('a', 0, { result: 'failed' }), run('b', hours)], options).time_to_restore_service.band;
    expect([restore(1), restore(24), restore(7 * 24), restore(7 * 24 + 1)]).toEqual(['elite', 'high', 'medium', 'low']);
  });
});
