// Times a person writes in the config or on the command line, parsed without a clock of their own: how long
// ahead a schedule announces itself (`24h`), and the time a release is announced for (`--at`).

const UNITS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `90m`, `24h`, `2d`, `1w` -> milliseconds (at least a minute). */
export function parseAhead(text: string): number {
  const m = /^(\d{1,5})([mhdw])$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2] as keyof typeof UNITS] : 0;
  if (!ms) throw new Error(`"${text}" is not a time ahead such as 24h, 90m or 2d`);
  return ms;
}

/** The offset of `tz` from UTC at `at`, in milliseconds (positive east of Greenwich). */
function offsetAt(at: Date, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return wall - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The time a release is announced for: an ISO 8601 time with its offset (`2026-12-08T17:00:00Z`,
 * `...+01:00`), or a wall-clock time in the environment's time zone (`2026-12-08 17:00`, `2026-12-08T17:00`).
 */
export function parseAt(text: string, tz: string): Date {
  const local = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})$/.exec(text.trim());
  if (local) {
    const [, y, mo, d, h, mi] = local.map(Number) as [number, number, number, number, number, number];
    const wall = Date.UTC(y, mo - 1, d, h, mi);
    // The offset at the wall time read as UTC, then at the instant it gives (right across a DST change).
    const first = wall - offsetAt(new Date(wall), tz);
    const at = new Date(wall - offsetAt(new Date(first), tz));
    if (!Number.isNaN(at.getTime()) && new Date(wall).getUTCDate() === d) return at;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text.trim())) {
    const at = new Date(text.trim());
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new Error(`"${text}" is not a time such as 2026-12-08 17:00 (in the environment's time zone) or an ISO time`);
}
