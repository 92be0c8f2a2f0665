import { describe, expect, it } from 'vitest';
import { parseJournal, type JournalEvent } from '../../src/journal/events.js';
import {
  goodReleases,
  matchReleases,
  previousGood,
  releaseRecords,
  releasesToRemove,
} from '../../src/journal/releases.js';

let ts = 0;
const ev = (event: JournalEvent['event'], release: string, extra: Partial<JournalEvent> = {}): JournalEvent => ({
  v: 1,
  ts: new Date(1_700_000_000_000 + ts++ * 1000).toISOString(),
  run: `run-${release}`,
  node: 'n1',
  env: 'prod',
  user: 'ana',
  event,
  release,
  version: release.toUpperCase(),
  ...extra,
});
const good = (r: string) => [ev('unpacked', r), ev('activated', r), ev('smoke_ok', r)];

describe('journal parsing', () => {
  it('skips corrupt lines and reports their numbers', () => {
    const text = `${JSON.stringify(ev('unpacked', 'a'))}\n{not json\n\n${JSON.stringify({ x: 1 })}\n${JSON.stringify(ev('activated', 'a'))}\n`;
    const parsed = parseJournal(text);
    expect(parsed.events.map((e) => e.event)).toEqual(['unpacked', 'activated']);
    expect(parsed.corrupt).toEqual([2, 4]);
  });
});

describe('release status and rollback target', () => {
  it('is good only after its smoke test passed', () => {
    const records = releaseRecords([
      ...good('a'),
      ev('unpacked', 'b'),
      ev('activated', 'b'),
      ev('smoke_failed', 'b'),
      ev('unpacked', 'c'),
    ]);
    expect(records.get('a')?.status).toBe('good');
    expect(records.get('b')?.status).toBe('failed');
    expect(records.get('c')?.status).toBe('unpacked');
  });

  it('orders by activation in the journal, not by name, and never picks failed ones', () => {
    const events = [
      ...good('zeta'),
      ...good('alpha'),
      ev('unpacked', 'mid'),
      ev('activated', 'mid'),
      ev('smoke_failed', 'mid'),
      ev('rolled_back', 'alpha', { from: 'mid' }),
    ];
    const records = releaseRecords(events);
    expect(goodReleases(records).map((r) => r.name)).toEqual(['alpha', 'zeta']);
    expect(previousGood(records, 'alpha')?.name).toBe('zeta');
  });

  it('marks the release rolled back from as bad', () => {
    const records = releaseRecords([...good('a'), ...good('b'), ev('rolled_back', 'a', { from: 'b' })]);
    expect(records.get('b')?.status).toBe('bad');
    expect(previousGood(records, 'a')).toBeUndefined();
  });
});

describe('keepReleases cleanup', () => {
  it('removes failed releases first and never current, the previous good one or protected ones', () => {
    const names = ['r1', 'r2', 'r3', 'r4', 'r5'];
    const events = [
      ...names.flatMap(good),
      ev('unpacked', 'f1'),
      ev('activated', 'f1'),
      ev('smoke_failed', 'f1'),
      ev('rolled_back', 'r5', { from: 'f1' }),
      ev('unpacked', 'u1'),
    ];
    const records = releaseRecords(events);
    const onDisk = [...names, 'f1', 'u1', 'handmade'];
    expect(releasesToRemove(records, onDisk, 'r5', 2).sort()).toEqual(['f1', 'r1', 'r2', 'r3', 'u1']);
    expect(releasesToRemove(records, onDisk, 'r5', 2, ['u1']).sort()).toEqual(['f1', 'r1', 'r2', 'r3']);
    expect(releasesToRemove(records, onDisk, 'r5', 10).sort()).toEqual(['f1', 'u1']);
  });

  it('keeps the previous good release even with keep 1', () => {
    const records = releaseRecords([...good('a'), ...good('b'), ...good('c')]);
    expect(releasesToRemove(records, ['a', 'b', 'c'], 'c', 1)).toEqual(['a']);
  });
});

describe('rollback chains', () => {
  it('--last goes further back after a rollback, --to may return to the release rolled back from', () => {
    const events = [
      ...good('v1'),
      ...good('v2'),
      ...good('v3'),
      ev('rolled_back', 'v2', { from: 'v3' }),
      ev('smoke_ok', 'v2'),
    ];
    let records = releaseRecords(events);
    expect(records.get('v3')?.status).toBe('bad');
    expect(previousGood(records, 'v2')?.name).toBe('v1');
    events.push(ev('rolled_back', 'v1', { from: 'v2' }), ev('smoke_ok', 'v1'));
    records = releaseRecords(events);
    expect(previousGood(records, 'v1')).toBeUndefined();
    expect(matchReleases(records, 'V3').map((r) => r.name)).toEqual(['v3']);
    events.push(ev('rolled_back', 'v3', { from: 'v1' }), ev('smoke_ok', 'v3'));
    records = releaseRecords(events);
    expect(records.get('v3')?.status).toBe('good');
    // Moving forward does not make the release left behind bad.
    expect(records.get('v1')?.status).toBe('good');
    expect(previousGood(records, 'v3')?.name).toBe('v1');
  });

  it('an emergency rollback (no smoke test) keeps a proven release good', () => {
    const records = releaseRecords([
      ...good('v1'),
      ...good('v2'),
      ev('rolled_back', 'v1', { from: 'v2', emergency: true }),
    ]);
    expect(records.get('v1')?.status).toBe('good');
    expect(records.get('v2')?.status).toBe('bad');
  });

  it('--to never offers a release whose smoke test failed or that never ran', () => {
    const records = releaseRecords([
      ...good('v1'),
      ev('unpacked', 'v2'),
      ev('activated', 'v2'),
      ev('smoke_failed', 'v2'),
      ev('unpacked', 'v3'),
    ]);
    expect(matchReleases(records, 'V2')).toEqual([]);
    expect(matchReleases(records, 'v3')).toEqual([]);
    expect(matchReleases(records, 'v1').map((r) => r.name)).toEqual(['v1']);
  });
});
