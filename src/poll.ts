/**
 * Waiting for something outside relink to become true (a load balancer that
 * reports a node drained or serving), with the clock injected so a test can
 * run the whole wait without waiting.
 */

/** The clock of a wait: the run's `deps.now` and `deps.sleep`. */
export interface PollClock {
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface PollTiming {
  /** How long to keep checking, from the first check. */
  readonly timeoutMs: number;
  /** The pause between two checks; the last pause is cut short at the deadline. */
  readonly intervalMs: number;
}

/**
 * Runs `check` until it returns true (resolves true) or the deadline passed
 * (resolves false, after one last check at the deadline). Never sleeps past
 * the deadline. A `check` that throws ends the wait with its error.
 */
export async function pollUntil(clock: PollClock, timing: PollTiming, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = clock.now().getTime() + timing.timeoutMs;
  for (;;) {
    if (await check()) return true;
    const left = deadline - clock.now().getTime();
    if (left <= 0) return false;
    await clock.sleep(Math.min(timing.intervalMs, left));
  }
}
