import { Writable } from 'node:stream';
import { createLogUpdate } from 'log-update';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunEvent } from '../../src/log/events.js';
import { consoleReporter, LiveReporter, TICK_MS } from '../../src/log/live.js';
import { Redactor } from '../../src/log/redact.js';
import { LineReporter } from '../../src/log/reporter.js';
import { Screen } from '../helpers/screen.js';

/** A terminal's stdout: what is written goes to a screen model. */
function tty(columns: number, rows: number) {
  const screen = new Screen();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      screen.write(chunk.toString('utf8'));
      done();
    },
  }) as Writable & { isTTY: boolean; columns: number; rows: number };
  Object.assign(stream, { isTTY: true, columns, rows });
  const redactor = new Redactor();
  redactor.add('s3cret-token');
  return { screen, stream: stream as unknown as NodeJS.WriteStream, redactor };
}

function terminal(columns = 120, rows = 40) {
  const { screen, stream, redactor } = tty(columns, rows);
  return { screen, reporter: new LiveReporter(stream, redactor, createLogUpdate(stream)) };
}

const start = (node: string, step: string): RunEvent => ({ type: 'step', node, step, status: 'start' });
const ok = (node: string, step: string, ms: number): RunEvent => ({ type: 'step', node, step, status: 'ok', ms });
/** The row of a running step on the screen: node, step, the mark, the elapsed time. */
const runningRow = (screen: Screen, node: string, step: string) =>
  screen.lines().find((l) => new RegExp(`^ +${node} +${step} +… +`).test(l));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the live view on a terminal', () => {
  it("ticks a running step's elapsed time every 250 ms, and stops ticking when nothing runs", () => {
    const { screen, reporter } = terminal();
    reporter.emit({ type: 'run', runId: 'r1', env: 'prod', command: 'deploy', detail: 'v1 to 2 node(s)' });
    reporter.emit({ type: 'phase', phase: 'rollout' });
    reporter.emit(start('node1', 'rollout:restart'));
    vi.advanceTimersByTime(0);
    expect(runningRow(screen, 'node1', 'rollout:restart')).toMatch(/… +0ms$/);
    vi.advanceTimersByTime(TICK_MS);
    expect(runningRow(screen, 'node1', 'rollout:restart')).toMatch(/… +250ms$/);
    vi.advanceTimersByTime(1250);
    expect(runningRow(screen, 'node1', 'rollout:restart')).toMatch(/… +1\.5s$/);
    vi.advanceTimersByTime(1000);
    expect(runningRow(screen, 'node1', 'rollout:restart')).toMatch(/… +2\.5s$/);
    reporter.emit(ok('node1', 'rollout:restart', 2500));
    vi.advanceTimersByTime(1);
    // Nothing runs: no live block, no timer keeping the process alive.
    expect(screen.lines().some((l) => l.includes('…'))).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    reporter.close();
  });

  it('keeps every finished step in the scrollback, under its header, and leaves the summary last', () => {
    const { screen, reporter } = terminal();
    reporter.emit({ type: 'run', runId: 'r1', env: 'prod', command: 'deploy', detail: 'v1 to 2 node(s)' });
    reporter.emit({ type: 'phase', phase: 'rollout' });
    for (const node of ['node1', 'node2']) reporter.emit(start(node, 'rollout:relink'));
    vi.advanceTimersByTime(TICK_MS * 2);
    for (const node of ['node1', 'node2']) reporter.emit(ok(node, 'rollout:relink', 30));
    reporter.emit(start('node1', 'rollout:restart'));
    vi.advanceTimersByTime(TICK_MS * 2);
    reporter.emit(ok('node1', 'rollout:restart', 500));
    reporter.emit({ type: 'phase', phase: 'finish' });
    reporter.emit({ type: 'step', step: 'finish:cleanup', node: 'node1', status: 'start' });
    reporter.emit({ type: 'info', message: 'deployed v1 to 2 node(s) of prod in 3.0s: r' });
    reporter.emit({ type: 'info', message: 'report: .relink/reports/r1.md (deploy report r1)' });
    // The command closes its reporter at once: the pending lines are written, the live block erased.
    reporter.close();
    const lines = screen.lines();
    expect(lines).toEqual([
      'relink deploy prod: v1 to 2 node(s) (run r1)',
      '== rollout',
      expect.stringMatching(/^node1 +rollout:relink +ok +30ms$/),
      expect.stringMatching(/^node2 +rollout:relink +ok +30ms$/),
      expect.stringMatching(/^node1 +rollout:restart +ok +500ms$/),
      '== finish',
      'deployed v1 to 2 node(s) of prod in 3.0s: r',
      'report: .relink/reports/r1.md (deploy report r1)',
    ]);
    expect(screen.lastLine()).toMatch(/^report: /);
    expect(vi.getTimerCount()).toBe(0);
    // After close, anything late is a plain line below, never a new live block.
    reporter.emit(start('node2', 'rollout:smoke'));
    vi.advanceTimersByTime(TICK_MS * 2);
    expect(screen.lines()).toEqual(lines);
  });

  it('shows bytes and percent of a running upload and the overall progress: phase, nodes done of all', () => {
    const { screen, reporter } = terminal();
    reporter.emit({ type: 'run', runId: 'r1', env: 'prod', command: 'deploy', detail: 'v1 to 3 node(s)' });
    reporter.emit({ type: 'phase', phase: 'distribute' });
    for (const node of ['node1', 'node2', 'node3']) reporter.emit(start(node, 'distribute:upload'));
    reporter.emit(ok('node3', 'distribute:upload', 90));
    reporter.emit({ type: 'progress', step: 'distribute:upload', node: 'node1', bytes: 12_345_678, percent: 31 });
    reporter.emit({ type: 'progress', step: 'distribute:upload', node: 'node2', bytes: 40_000, percent: 2 });
    vi.advanceTimersByTime(TICK_MS);
    expect(runningRow(screen, 'node1', 'distribute:upload')).toMatch(/… +\d+ms {2}12\.3 MB 31%$/);
    expect(runningRow(screen, 'node2', 'distribute:upload')).toMatch(/… +\d+ms {2}40 kB 2%$/);
    expect(screen.lastLine()).toMatch(/^ {2}distribute: 1\/3 nodes done, 250ms$/);
    reporter.emit({ type: 'step', node: 'node2', step: 'distribute:upload', status: 'fail', ms: 300, detail: 'x' });
    vi.advanceTimersByTime(TICK_MS);
    expect(screen.lastLine()).toMatch(/^ {2}distribute: 1\/3 nodes done, 1 failed, 500ms$/);
    expect(screen.lines()).toContainEqual(expect.stringMatching(/^node2 +distribute:upload +FAIL +300ms {2}x$/));
    reporter.close();
    expect(screen.lastLine()).toMatch(/^node2 +distribute:upload +FAIL/);
  });

  it('keeps each node on its row as it moves from step to step', () => {
    const { screen, reporter } = terminal();
    reporter.emit({ type: 'phase', phase: 'distribute' });
    for (const node of ['node1', 'node2']) reporter.emit(start(node, 'distribute:upload'));
    reporter.emit(ok('node1', 'distribute:upload', 10));
    reporter.emit(start('node1', 'distribute:verify'));
    vi.advanceTimersByTime(TICK_MS);
    const rows = screen.lines().filter((l) => l.includes('…'));
    expect(rows).toEqual([
      expect.stringMatching(/^ +node1 +distribute:verify +…/),
      expect.stringMatching(/^ +node2 +distribute:upload +…/),
    ]);
    reporter.close();
  });

  it('redacts the live block as it redacts the lines', () => {
    const { screen, reporter } = terminal();
    reporter.emit(start('node1', 'backup:run s3cret-token'));
    vi.advanceTimersByTime(TICK_MS);
    expect(screen.lines().join('\n')).not.toContain('s3cret-token');
    expect(screen.lines().join('\n')).toContain('[REDACTED]');
    reporter.close();
  });

  it('writes a burst of more finished lines than the terminal has rows whole, into the scrollback', () => {
    const { screen, reporter } = terminal(120, 10);
    reporter.emit({ type: 'phase', phase: 'distribute' });
    reporter.emit(start('node0', 'distribute:upload'));
    vi.advanceTimersByTime(TICK_MS);
    for (let i = 1; i <= 30; i++) reporter.emit(ok(`node${i}`, 'distribute:upload', i));
    vi.advanceTimersByTime(TICK_MS);
    expect(screen.lines().filter((l) => / ok +\d+ms$/.test(l))).toHaveLength(30);
    reporter.close();
  });

  it('draws on a pseudo-terminal nobody sized (0 columns, 0 rows) as on 80x24', async () => {
    vi.stubEnv('CI', '');
    const { screen, stream, redactor } = tty(0, 0);
    const reporter = await consoleReporter(redactor, stream);
    reporter.emit({ type: 'phase', phase: 'rollout' });
    reporter.emit(start('node1', 'rollout:restart'));
    vi.advanceTimersByTime(TICK_MS * 4);
    expect(runningRow(screen, 'node1', 'rollout:restart')).toMatch(/… +1\.0s$/);
    reporter.emit(ok('node1', 'rollout:restart', 1000));
    reporter.emit({ type: 'info', message: 'deployed' });
    reporter.close();
    expect(screen.lines()).toEqual([
      '== rollout',
      expect.stringMatching(/^node1 +rollout:restart +ok +1\.0s$/),
      'deployed',
    ]);
    vi.unstubAllEnvs();
  });

  it('erases correctly when a row is wider than the terminal (it wraps)', () => {
    const { screen, reporter } = terminal(40);
    reporter.emit({ type: 'phase', phase: 'distribute' });
    reporter.emit(start('node-with-a-long-name', 'distribute:templates'));
    vi.advanceTimersByTime(TICK_MS * 3);
    reporter.emit(ok('node-with-a-long-name', 'distribute:templates', 12));
    reporter.close();
    expect(screen.lines().join('\n')).not.toContain('…');
    expect(screen.lines()[0]).toBe('== distribute');
  });
});

describe('phase headers', () => {
  function lines(events: RunEvent[]): string[] {
    let out = '';
    const stream = new Writable({
      write(chunk: Buffer, _e, done) {
        out += chunk.toString();
        done();
      },
    });
    const reporter = new LineReporter(stream, new Redactor());
    for (const e of events) reporter.emit(e);
    return out.split('\n').filter(Boolean);
  }

  it("put every step line under its own phase's header, even when the run announced another", () => {
    const printed = lines([
      { type: 'phase', phase: 'gates' },
      ok('node1', 'plan:connect', 10),
      { type: 'step', step: 'gates:lock', status: 'fail', ms: 5, detail: 'held by a freeze' },
      { type: 'phase', phase: 'build (started with the connections)' },
      { type: 'step', step: 'build:artifact', status: 'ok', ms: 1 },
      { type: 'phase', phase: 'rollback of 1 switched node(s)' },
      ok('node1', 'rollback:relink', 3),
    ]);
    expect(printed).toEqual([
      '== gates',
      '== plan',
      expect.stringMatching(/^node1 +plan:connect +ok/),
      '== gates',
      expect.stringMatching(/^- +gates:lock +FAIL +5ms {2}held by a freeze$/),
      '== build (started with the connections)',
      expect.stringMatching(/^- +build:artifact +ok/),
      '== rollback of 1 switched node(s)',
      expect.stringMatching(/^node1 +rollback:relink +ok/),
    ]);
  });
});
