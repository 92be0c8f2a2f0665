import { describe, expect, it } from 'vitest';
import { pollUntil } from '../../src/poll.js';

/** A clock that moves only when the code under test sleeps (or a check takes time). */
function fakeClock() {
  const clock = {
    t: 0,
    sleeps: [] as number[],
    now: () => new Date(clock.t),
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

describe('pollUntil', () => {
  it('resolves true as soon as the check passes, sleeping the interval between checks', async () => {
    const clock = fakeClock();
    let checks = 0;
    expect(await pollUntil(clock, { timeoutMs: 1000, intervalMs: 100 }, async () => ++checks === 3)).toBe(true);
    expect(checks).toBe(3);
    expect(clock.sleeps).toEqual([100, 100]);
  });

  it('does not sleep when the first check passes', async () => {
    const clock = fakeClock();
    expect(await pollUntil(clock, { timeoutMs: 1000, intervalMs: 100 }, async () => true)).toBe(true);
    expect(clock.sleeps).toEqual([]);
  });

  it('times out at the deadline after one last check there', async () => {
    const clock = fakeClock();
    const at: number[] = [];
    const passed = await pollUntil(clock, { timeoutMs: 1000, intervalMs: 300 }, async () => {
      at.push(clock.t);
      return false;
    });
    expect(passed).toBe(false);
    expect(at).toEqual([0, 300, 600, 900, 1000]);
    expect(clock.sleeps).toEqual([300, 300, 300, 100]);
    expect(clock.t).toBe(1000);
  });

  it('checks timeout/interval + 1 times when the interval divides the timeout', async () => {
    const clock = fakeClock();
    let checks = 0;
    const never = async () => {
      checks++;
      return false;
    };
    expect(await pollUntil(clock, { timeoutMs: 1000, intervalMs: 250 }, never)).toBe(false);
    expect(checks).toBe(5);
  });

  it('never sleeps past the deadline, even when checks take time', async () => {
    const clock = fakeClock();
    const ends: number[] = [];
    const sleep = clock.sleep;
    clock.sleep = async (ms) => {
      await sleep(ms);
      ends.push(clock.t);
    };
    const passed = await pollUntil(clock, { timeoutMs: 1000, intervalMs: 300 }, async () => {
      clock.t += 70;
      return false;
    });
    expect(passed).toBe(false);
    expect(ends).toEqual([370, 740, 1000]);
    expect(Math.max(...ends)).toBeLessThanOrEqual(1000);
  });

  it('checks once and never sleeps with a zero timeout', async () => {
    const clock = fakeClock();
    let checks = 0;
    const never = async () => {
      checks++;
      return false;
    };
    expect(await pollUntil(clock, { timeoutMs: 0, intervalMs: 50 }, never)).toBe(false);
    expect(checks).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('ends with the error of a check that throws', async () => {
    const clock = fakeClock();
    const fail = async (): Promise<boolean> => {
      throw new Error('no answer');
    };
    await expect(pollUntil(clock, { timeoutMs: 1000, intervalMs: 50 }, fail)).rejects.toThrow('no answer');
  });
});
