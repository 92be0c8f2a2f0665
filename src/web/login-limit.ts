// The login limit. A password check costs 32 MiB and about 0.1 s of CPU (scrypt), so the limit decides
// before the check, counts the attempt before the check, and lets only a few checks run at once: a
// burst of wrong passwords costs at most a handful of checks, and nothing waits in a queue.

export interface LoginLimits {
  /** Attempts per client address and user name in `windowMs` (default 5). */
  readonly perUser: number;
  /** Attempts per client address, whatever the names (default 10). */
  readonly perAddress: number;
  /** Attempts at one user name from everywhere (default 20); it holds back only addresses that failed already. */
  readonly perName: number;
  readonly windowMs: number;
  /** Password checks at once from one address (default 2), and in all (default 4). */
  readonly checksPerAddress: number;
  readonly checks: number;
}

export const LOGIN_LIMITS: LoginLimits = {
  perUser: 5,
  perAddress: 10,
  perName: 20,
  windowMs: 15 * 60_000,
  checksPerAddress: 2,
  checks: 4,
};

/** Leave to check one password; `end` it whatever the outcome. */
export interface LoginTicket {
  readonly keys: readonly string[];
  readonly address: string;
  readonly at: number;
}

export type LoginDecision =
  | { readonly ok: true; readonly ticket: LoginTicket }
  | { readonly ok: false; readonly status: 429 | 503; readonly retryAfter: number; readonly why: string };

/** Keys kept at most (oldest dropped first): a flood of made-up names cannot grow the map without end. */
const MAX_KEYS = 10_000;

export class LoginLimiter {
  private readonly attempts = new Map<string, number[]>();
  private readonly running = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly limits: LoginLimits = LOGIN_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Leave to check a password now, or why not and for how many seconds. Counts the attempt when it says yes. */
  begin(clientAddress: string, user: string): LoginDecision {
    const t = this.now();
    const address = addressKey(clientAddress);
    const name = user.slice(0, 64).toLowerCase();
    const keys = [`pair:${address}|${name}`, `addr:${address}`, `name:${name}`];
    const caps = [this.limits.perUser, this.limits.perAddress, this.limits.perName];
    // The name-wide limit must not lock a user out of an address that has done nothing wrong.
    const clean = this.recent(keys[1]!, t).length === 0;
    let wait = 0;
    keys.forEach((key, i) => {
      if (i === 2 && clean) return;
      const recent = this.recent(key, t);
      if (recent.length >= caps[i]!)
        wait = Math.max(wait, recent[recent.length - caps[i]!]! + this.limits.windowMs - t);
    });
    if (wait > 0) {
      const why = `too many failed logins: try again in ${Math.ceil(wait / 60_000)} min`;
      return { ok: false, status: 429, retryAfter: Math.ceil(wait / 1000), why };
    }
    if ((this.running.get(address) ?? 0) >= this.limits.checksPerAddress) {
      return { ok: false, status: 429, retryAfter: 1, why: 'another login from this address is being checked' };
    }
    if (this.total >= this.limits.checks) {
      return { ok: false, status: 503, retryAfter: 1, why: 'too many logins at once: try again in a second' };
    }
    for (const key of keys) this.attempts.set(key, [...this.recent(key, t), t]);
    this.prune(t);
    this.running.set(address, (this.running.get(address) ?? 0) + 1);
    this.total++;
    return { ok: true, ticket: { keys, address, at: t } };
  }

  /** The check is over: a success takes back its attempt and forgets the failures of this address and name. */
  end(ticket: LoginTicket, success: boolean): void {
    const left = (this.running.get(ticket.address) ?? 1) - 1;
    if (left > 0) this.running.set(ticket.address, left);
    else this.running.delete(ticket.address);
    this.total = Math.max(0, this.total - 1);
    if (!success) return;
    const [pair, ...shared] = ticket.keys;
    this.attempts.delete(pair!);
    for (const key of shared) {
      const list = this.attempts.get(key) ?? [];
      const i = list.indexOf(ticket.at);
      if (i >= 0) list.splice(i, 1);
    }
  }

  private recent(key: string, t: number): number[] {
    return (this.attempts.get(key) ?? []).filter((x) => t - x < this.limits.windowMs);
  }

  private prune(t: number): void {
    if (this.attempts.size <= MAX_KEYS) return;
    for (const [key] of this.attempts) if (this.recent(key, t).length === 0) this.attempts.delete(key);
    for (const [key] of this.attempts) {
      if (this.attempts.size <= MAX_KEYS) break;
      this.attempts.delete(key);
    }
  }
}

/**
 * The address the limit counts: IPv4 as is (also when mapped into IPv6), IPv6 by its /64, since one
 * client commonly holds a whole /64 and could otherwise take a fresh address for every try.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).join(':')}::/64`;
}
