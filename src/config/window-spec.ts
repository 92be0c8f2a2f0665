// The text of a release window and a time-zone name, parsed and checked
// without a clock: the config schema validates them, gates/window.ts decides
// with them.

/** A release window such as `Tue 17:00-19:00`, `Mon-Fri 09:00-11:30`, `daily 02:00-04:00`, `Fri 22:00-02:00`. */
export interface Window {
  readonly text: string;
  /** Days the window opens, 0 = Sunday. */
  readonly days: readonly number[];
  readonly startMinute: number;
  /** Length in minutes; a window that ends at or before its start runs past midnight. */
  readonly minutes: number;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function day(name: string, text: string): number {
  const i = DAYS.indexOf(name.toLowerCase().slice(0, 3));
  if (i < 0 || !DAYS.some((d) => name.toLowerCase().startsWith(d))) {
    throw new Error(`"${name}" is not a day (Mon, Tue, ... Sun) in "${text}"`);
  }
  return i;
}

function minute(hhmm: string, text: string): number {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new Error(`"${hhmm}" is not a time HH:MM in "${text}"`);
  return Number(m[1]) * 60 + Number(m[2]);
}

export function parseWindow(text: string): Window {
  const m = /^\s*(\S+)\s+(\S+)-(\S+)\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a window such as "Tue 17:00-19:00"`);
  const [, daysText, from, to] = m as unknown as [string, string, string, string];
  let days: number[];
  if (daysText === '*' || /^daily$/i.test(daysText)) days = [0, 1, 2, 3, 4, 5, 6];
  else {
    days = [];
    for (const part of daysText.split(',')) {
      const range = part.split('-');
      if (range.length === 2) {
        const a = day(range[0]!, text);
        const b = day(range[1]!, text);
        for (let d = a; ; d = (d + 1) % 7) {
          days.push(d);
          if (d === b) break;
        }
      } else days.push(day(part, text));
    }
  }
  const start = minute(from, text);
  const end = minute(to, text);
  const minutes = end > start ? end - start : end + 1440 - start;
  return { text, days: [...new Set(days)].sort(), startMinute: start, minutes };
}

export function checkTimezone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new Error(`"${tz}" is not a time zone (e.g. Europe/Berlin, Asia/Shanghai, UTC)`);
  }
}
