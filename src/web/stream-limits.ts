// Event streams one client may hold open: 10 per user or token, 100 in all.
export const STREAM_LIMITS = { perUser: 10, total: 100 } as const;

/** Open event streams per principal and in all; each stream holds a socket and a follower of its run. */
export class StreamLimits {
  private readonly open = new Map<string, number>();
  private count = 0;

  constructor(
    private readonly perUser: number = STREAM_LIMITS.perUser,
    private readonly total: number = STREAM_LIMITS.total,
  ) {}

  /** A release to call once when the stream ends, or why not. */
  take(who: string): { release: () => void } | { refused: string } {
    const mine = this.open.get(who) ?? 0;
    if (mine >= this.perUser) return { refused: `${this.perUser} event streams open for ${who} already` };
    if (this.count >= this.total) return { refused: `${this.total} event streams open already` };
    this.open.set(who, mine + 1);
    this.count++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.count--;
      const left = (this.open.get(who) ?? 1) - 1;
      if (left > 0) this.open.set(who, left);
      else this.open.delete(who);
    };
    return { release };
  }

  get streams(): number {
    return this.count;
  }

  get limits(): { perUser: number; total: number } {
    return { perUser: this.perUser, total: this.total };
  }
}
