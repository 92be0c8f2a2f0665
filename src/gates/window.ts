import { Cron } from 'croner';
import { GateError, UsageError } from '../errors.js';

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
  if (i < 0 || !DAYS.some((d) => name.toLowerCase().startsWith(d))) throw new Error(`"${name}" is not a day (Mon, Tue, ... Sun) in "${text}"`);
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

function startsOf(w: Window, tz: string): Cron {
  return new Cron(`${w.startMinute % 60} ${Math.floor(w.startMinute / 60)} * * ${w.days.join(',')}`, { timezone: tz, paused: true });
}

export interface WindowState {
  readonly inside: boolean;
  /** The window we are in and when it closes. */
  readonly closes?: Date;
  readonly current?: string;
  /** The next window to open, and when. */
  readonly opens?: Date;
  readonly next?: string;
}

/** Where `now` stands against the windows, in their time zone (croner does the calendar and daylight saving). */
export function windowState(texts: readonly string[], tz: string, now: Date): WindowState {
  const windows = texts.map(parseWindow);
  let current: { w: Window; closes: Date } | undefined;
  let next: { w: Window; opens: Date } | undefined;
  for (const w of windows) {
    const cron = startsOf(w, tz);
    const last = cron.previousRuns(1, new Date(now.getTime() + 1))[0];
    if (last) {
      const closes = new Date(last.getTime() + w.minutes * 60_000);
      if (now >= last && now < closes && (!current || closes > current.closes)) current = { w, closes };
    }
    const opens = cron.nextRun(now);
    if (opens && (!next || opens < next.opens)) next = { w, opens };
  }
  return { inside: Boolean(current), closes: current?.closes, current: current?.w.text, opens: next?.opens, next: next?.w.text };
}

function local(date: Date, tz: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(date);
}

function inHours(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.round((ms % 3_600_000) / 60_000);
  return h >= 24 ? `${Math.floor(h / 24)}d ${h % 24}h` : `${h}h ${m}m`;
}

/**
 * The window gate. Outside every window a deploy is refused with the next
 * window's start, unless it is an emergency with a reason. No windows: always open.
 */
export function windowGate(env: string, texts: readonly string[], tz: string, now: Date, emergency: { on: boolean; reason?: string }, retry: string): WindowState | undefined {
  if (texts.length === 0) return undefined;
  const state = windowState(texts, tz, now);
  if (state.inside) return state;
  if (emergency.on) {
    if (!emergency.reason) throw new UsageError('--emergency needs --reason "why this cannot wait for the window"');
    return state;
  }
  const opens = state.opens ? `; the next window opens ${local(state.opens, tz)} ${tz} (in ${inHours(state.opens.getTime() - now.getTime())})` : '';
  throw new GateError(`${env} is outside its release windows (${texts.join(', ')}, ${tz})${opens}`, {
    hint: `wait for the window, or, for an emergency: ${retry} --emergency --reason "..."`,
  });
}

export function describeWindow(state: WindowState | undefined, tz: string): string {
  if (!state) return 'no release windows: always open';
  return state.inside ? `inside ${state.current} until ${local(state.closes!, tz)} ${tz}` : `OUTSIDE the release windows; next opens ${state.opens ? `${local(state.opens, tz)} ${tz}` : 'never'}`;
}
