import { describe, expect, it } from 'vitest';
import { EXIT, GateError } from '../../src/errors.js';
import { parseWindow, windowGate, windowState } from '../../src/gates/window.js';
import { hintOf } from '../../src/app/phrase.js';
import { nextStep } from '../../src/next.js';

const at = (iso: string) => new Date(iso);
const prod = ['Tue 17:00-19:00', 'Thu 17:00-19:00'];

describe('parsing windows', () => {
  it('reads days, ranges of days and times', () => {
    expect(parseWindow('Tue 17:00-19:00')).toMatchObject({ days: [2], startMinute: 1020, minutes: 120 });
    expect(parseWindow('Mon-Fri 09:00-11:30')).toMatchObject({ days: [1, 2, 3, 4, 5], minutes: 150 });
    expect(parseWindow('Fri-Mon 08:00-09:00').days).toEqual([0, 1, 5, 6]);
    expect(parseWindow('daily 02:00-04:00').days).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(parseWindow('Fri 22:00-02:00')).toMatchObject({ days: [5], minutes: 240 });
  });

  it.each(['Tue', 'Tue 17:00', 'Tue 25:00-26:00', 'Funday 10:00-11:00', 'Tue 17:00-1900'])('refuses %j', (text) => {
    expect(() => parseWindow(text)).toThrow();
  });
});

describe('window maths (UTC)', () => {
  it('is inside from the first minute to just before the end', () => {
    expect(windowState(prod, 'UTC', at('2026-11-24T17:00:00Z')).inside).toBe(true);
    expect(windowState(prod, 'UTC', at('2026-11-24T18:59:59Z')).inside).toBe(true);
    expect(windowState(prod, 'UTC', at('2026-11-24T19:00:00Z')).inside).toBe(false);
    expect(windowState(prod, 'UTC', at('2026-11-24T16:59:59Z')).inside).toBe(false);
  });

  it('names the next window start', () => {
    const s = windowState(prod, 'UTC', at('2026-11-24T19:30:00Z'));
    expect(s.opens?.toISOString()).toBe('2026-11-26T17:00:00.000Z');
    expect(s.next).toBe('Thu 17:00-19:00');
    expect(windowState(prod, 'UTC', at('2026-11-21T12:00:00Z')).opens?.toISOString()).toBe('2026-11-24T17:00:00.000Z');
  });

  it('handles a window spanning midnight on both sides of it', () => {
    const w = ['Fri 22:00-02:00'];
    expect(windowState(w, 'UTC', at('2026-11-27T23:30:00Z')).inside).toBe(true);
    expect(windowState(w, 'UTC', at('2026-11-28T01:59:00Z')).inside).toBe(true);
    expect(windowState(w, 'UTC', at('2026-11-28T02:00:00Z')).inside).toBe(false);
    expect(windowState(w, 'UTC', at('2026-11-27T21:59:00Z')).inside).toBe(false);
  });
});

describe('window maths in a time zone, across daylight saving', () => {
  it('Tue 17:00 Berlin is 16:00Z in winter and 15:00Z in summer', () => {
    expect(windowState(prod, 'Europe/Berlin', at('2026-11-24T16:30:00Z')).inside).toBe(true);
    expect(windowState(prod, 'Europe/Berlin', at('2026-11-24T15:30:00Z')).inside).toBe(false);
    expect(windowState(prod, 'Europe/Berlin', at('2026-06-02T15:30:00Z')).inside).toBe(true);
    // The week daylight saving starts (Sun 29 March 2026): Tue 31 March opens at 15:00Z.
    expect(windowState(prod, 'Europe/Berlin', at('2026-03-28T12:00:00Z')).opens?.toISOString()).toBe(
      '2026-03-31T15:00:00.000Z',
    );
  });

  it('Asia/Shanghai has no daylight saving: 17:00 is always 09:00Z', () => {
    expect(windowState(prod, 'Asia/Shanghai', at('2026-11-24T09:10:00Z')).inside).toBe(true);
    expect(windowState(prod, 'Asia/Shanghai', at('2026-06-02T09:10:00Z')).inside).toBe(true);
  });
});

describe('the window gate', () => {
  it('refuses outside a window with the next start, exit code of a gate', () => {
    const error = (() => {
      try {
        windowGate(
          'prod',
          prod,
          'UTC',
          at('2026-11-21T12:00:00Z'),
          { on: false },
          nextStep('deploy', 'prod', {}, ['v1.1.1']),
        );
      } catch (e) {
        return e as GateError;
      }
    })();
    expect(error).toBeInstanceOf(GateError);
    expect(error!.exitCode).toBe(EXIT.gate);
    expect(error!.message).toBe(
      'prod is outside its release windows (Tue 17:00-19:00, Thu 17:00-19:00, UTC); the next window opens Tue, 24/11/2026, 17:00 UTC (in 3d 5h)',
    );
    expect(hintOf(error!)).toMatch(/deploy prod v1\.1\.1 --emergency --reason/);
  });

  it('lets an emergency with a reason through, and wants the reason', () => {
    expect(
      windowGate('prod', prod, 'UTC', at('2026-11-21T12:00:00Z'), { on: true, reason: 'outage' }, 'x')?.inside,
    ).toBe(false);
    expect(() => windowGate('prod', prod, 'UTC', at('2026-11-21T12:00:00Z'), { on: true }, 'x')).toThrow(
      /--emergency needs --reason/,
    );
    expect(windowGate('dev', [], 'UTC', at('2026-11-21T12:00:00Z'), { on: false }, 'x')).toBeUndefined();
  });
});
