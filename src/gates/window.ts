import { Cron } from 'croner';
import { GateError, UsageError } from '../errors.js';
import { type NextStep, nextStep, said } from '../next.js';
import { parseWindow, type Window } from '../config/window-spec.js';

// Parsing a window and checking a time zone are pure model code, shared with the
// config schema; re-exported here for the code that reads windows as a gate.
export { checkTimezone, parseWindow, type Window } from '../config/window-spec.js';

function startsOf(w: Window, tz: string): Cron {
  const pattern = `${w.startMinute % 60} ${Math.floor(w.startMinute / 60)} * * ${w.days.join(',')}`;
  return new Cron(pattern, { timezone: tz, paused: true });
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

/**
 * Where `now` stands against the windows, in their time zone (croner does the
 * calendar and daylight saving).
 */
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
  return {
    inside: Boolean(current),
    closes: current?.closes,
    current: current?.w.text,
    opens: next?.opens,
    next: next?.w.text,
  };
}

function local(date: Date, tz: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).format(date);
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
export function windowGate(
  env: string,
  texts: readonly string[],
  tz: string,
  now: Date,
  emergency: { on: boolean; reason?: string },
  retry: NextStep,
): WindowState | undefined {
  if (texts.length === 0) return undefined;
  const state = windowState(texts, tz, now);
  if (state.inside) return state;
  if (emergency.on) {
    if (!emergency.reason) throw new UsageError('--emergency needs --reason "why this cannot wait for the window"');
    return state;
  }
  const opens = state.opens
    ? `; the next window opens ${local(state.opens, tz)} ${tz} (in ${inHours(state.opens.getTime() - now.getTime())})`
    : '';
  const urgent = nextStep(retry.verb, retry.env, { ...retry.flags, emergency: true, reason: '...' }, retry.args);
  throw new GateError(`${env} is outside its release windows (${texts.join(', ')}, ${tz})${opens}`, {
    hint: said`wait for the window, or, for an emergency: ${urgent}`,
  });
}

export function describeWindow(state: WindowState | undefined, tz: string): string {
  if (!state) return 'no release windows: always open';
  if (state.inside) return `inside ${state.current} until ${local(state.closes!, tz)} ${tz}`;
  return `OUTSIDE the release windows; next opens ${state.opens ? `${local(state.opens, tz)} ${tz}` : 'never'}`;
}
