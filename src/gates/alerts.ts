// The alerts check's pure decision (config `analysis.alerts`): of the firing alerts a source answered, those whose
// labels meet every matcher fail the measurement. The verdict names them by `alertname` and the labels the
// matchers name, printable: what a source says is untrusted text (control characters stripped, lengths capped).
import { type LabelMatcher, matchesAll } from '../config/alert-matchers.js';
import type { QueryVerdict } from './analysis.js';

/** One alert as the verdict names it: its name and the labels the matchers name (printable, capped). */
export interface NamedAlert {
  readonly alertname: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The alerts check judged once: a QueryVerdict named `alerts` (its value: how many match), with the alerts. */
export interface AlertsVerdict extends QueryVerdict {
  readonly firing: readonly NamedAlert[];
}

/** What a source said: its firing alerts' labels, or why it could not be asked. */
export type AlertsAnswer =
  | { readonly alerts: readonly { readonly labels: Record<string, string> }[] }
  | { readonly error: string };

/** The most alerts a verdict names (the count says how many matched). */
export const NAMED_LIMIT = 5;
const TEXT_LIMIT = 120;

/** `text` with control and bidirectional-format characters left out, at most `max` characters. */
export function printable(text: string, max = TEXT_LIMIT): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g, '');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** An alert in a line: `HighErrorRate{severity="critical",node="node1"}`. */
export function alertLine(alert: NamedAlert): string {
  const labels = Object.entries(alert.labels).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  return `${alert.alertname}{${labels.join(',')}}`;
}

/** The verdict of one alerts check: failed when an alert matches, or when the source could not say. */
export function judgeAlerts(matchers: readonly LabelMatcher[], answer: AlertsAnswer): AlertsVerdict {
  const base = { query: 'alerts', condition: 'none firing' };
  if ('error' in answer) return { ...base, canary: null, ok: false, why: printable(answer.error, 500), firing: [] };
  const matched = answer.alerts.filter((a) => matchesAll(a.labels, matchers));
  const names = [...new Set(matchers.map((m) => m.name))].filter((n) => n !== 'alertname');
  const firing = matched.slice(0, NAMED_LIMIT).map((a) => ({
    alertname: printable(a.labels.alertname ?? '(no alertname)'),
    labels: Object.fromEntries(
      names.filter((n) => Object.hasOwn(a.labels, n)).map((n) => [printable(n, 60), printable(a.labels[n]!)]),
    ),
  }));
  if (matched.length === 0) return { ...base, canary: 0, ok: true, firing };
  const more = matched.length > firing.length ? ` and ${matched.length - firing.length} more` : '';
  const why = `firing: ${firing.map(alertLine).join(', ')}${more}`;
  return { ...base, canary: matched.length, ok: false, why, firing };
}
