// How many SSH handshakes a run has under way at once. sshd counts every
// connection that has not logged in yet against MaxStartups (10:30:100 by
// default: past 10 it drops new ones at random, past 100 all of them), so
// opening every node's connection at once fails runs of more than a few
// dozen nodes, and many more through one jump host.

/** Retries after a dropped start, and the first pause (it doubles per retry, jittered). */
export const START_RETRIES = 4;
export const START_BACKOFF_MS = 250;

/**
 * Whether a handshake failed because the server dropped it before it began
 * (MaxStartups, a full accept queue), not because it refused us: those are
 * worth another try. A failed login or host-key check never is.
 */
export function droppedAtStart(error: unknown): boolean {
  const { message = '', code = '' } = (error ?? {}) as { message?: string; code?: string };
  return /connection lost before handshake|exceeded maxstartups|ECONNRESET/i.test(message) || code === 'ECONNRESET';
}

/** The pause before retry `attempt` (0-based): between half and all of base * 2^attempt. */
export function backoffMs(attempt: number, baseMs: number, random: () => number): number {
  const ceiling = baseMs * 2 ** attempt;
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export interface StartOptions {
  readonly retries?: number;
  readonly baseMs?: number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** At most `max` starts at once, in the order they asked; a dropped start is retried after a back-off. */
export class ConnectionStarts {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly retries: number;
  private readonly baseMs: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly max: number,
    options: StartOptions = {},
  ) {
    this.retries = options.retries ?? START_RETRIES;
    this.baseMs = options.baseMs ?? START_BACKOFF_MS;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Runs `start` in a slot; retried (outside the slot, after the back-off) while it fails with `retryable`. */
  async run<T>(start: () => Promise<T>, retryable: (error: unknown) => boolean = droppedAtStart): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.acquire();
      try {
        return await start();
      } catch (error) {
        if (attempt >= this.retries || !retryable(error)) throw error;
      } finally {
        this.release();
      }
      await this.sleep(backoffMs(attempt, this.baseMs, this.random));
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.max) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next in line.
    if (next) next();
    else this.running--;
  }
}
