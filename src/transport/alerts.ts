// The firing alerts, asked from the deploy machine with a deadline: Alertmanager's API v2 (`/api/v2/alerts`, active
// only: neither silenced nor inhibited, filtered by the matchers) or Prometheus' alerts API (`/api/v1/alerts`, state
// firing). The answer is not trusted: read up to a size, checked against the API's documented shape, and only the
// labels are kept; the judge (gates/alerts.ts) matches and prints them.
import { z } from 'zod';
import { type LabelMatcher, matcherText } from '../config/alert-matchers.js';
import { askApi } from './prometheus.js';

/** Where the alerts are read; the bearer token, when there is one, already read from its environment variable. */
export interface AlertsSource {
  readonly source: 'alertmanager' | 'prometheus';
  readonly url: string;
  readonly token?: string;
}

/** One firing alert: its labels, as the source sent them (unchecked text: print it through the judge only). */
export interface FiringAlert {
  readonly labels: Readonly<Record<string, string>>;
}

/** The firing alerts of a source (as the config names it: the token in `tokenEnv`). */
export type AlertsQuery = (
  source: { readonly source: 'alertmanager' | 'prometheus'; readonly url: string; readonly tokenEnv?: string },
  matchers: readonly LabelMatcher[],
  deadline: { readonly timeoutMs: number; readonly signal?: AbortSignal },
) => Promise<FiringAlert[]>;

/** The most alerts an answer may hold, and labels an alert. */
const ALERT_LIMIT = 10_000;
const LABEL_LIMIT = 200;

const labels = z
  .record(z.string().max(1024), z.string().max(16_384))
  .refine((l) => Object.keys(l).length <= LABEL_LIMIT, 'too many labels');
const alertmanagerAnswer = z
  .array(z.object({ labels, status: z.object({ state: z.enum(['unprocessed', 'active', 'suppressed']) }) }))
  .max(ALERT_LIMIT);
const prometheusAnswer = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.object({
      alerts: z.array(z.object({ labels, state: z.enum(['firing', 'pending', 'inactive']) })).max(ALERT_LIMIT),
    }),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().max(200), error: z.string().max(2000) }),
]);

const NAMES = { alertmanager: 'Alertmanager', prometheus: 'Prometheus' } as const;

/** Asks `source` for its firing alerts (Alertmanager filters them by `matchers` too); throws a readable reason. */
export async function firingAlerts(
  source: AlertsSource,
  matchers: readonly LabelMatcher[],
  deadline: { readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<FiringAlert[]> {
  const base = source.url.endsWith('/') ? source.url : `${source.url}/`;
  const url = new URL(source.source === 'alertmanager' ? 'api/v2/alerts' : 'api/v1/alerts', base);
  if (source.source === 'alertmanager') {
    for (const [key, value] of [
      ['active', 'true'],
      ['silenced', 'false'],
      ['inhibited', 'false'],
    ])
      url.searchParams.set(key!, value!);
    for (const m of matchers) url.searchParams.append('filter', matcherText(m));
  }
  const headers = { accept: 'application/json' };
  const { text, status } = await askApi(NAMES[source.source], url, source.token, deadline, { headers });
  return alertsOf(source.source, text, status, url.origin);
}

/** The firing alerts of an answer's text (status: the HTTP status), or an error saying what is wrong with it. */
export function alertsOf(
  source: 'alertmanager' | 'prometheus',
  text: string,
  status: number,
  origin: string,
): FiringAlert[] {
  const name = NAMES[source];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${name} at ${origin} answered ${status} with something that is not its API's JSON`);
  }
  if (source === 'alertmanager') {
    const checked = alertmanagerAnswer.safeParse(json);
    if (!checked.success || status !== 200)
      throw new Error(`${name} at ${origin} answered ${status} in a shape its alerts API does not use`);
    return checked.data.filter((a) => a.status.state !== 'suppressed').map((a) => ({ labels: a.labels }));
  }
  const checked = prometheusAnswer.safeParse(json);
  if (!checked.success)
    throw new Error(`${name} at ${origin} answered ${status} in a shape its alerts API does not use`);
  const answer = checked.data;
  if (answer.status === 'error') throw new Error(`Prometheus refused (${answer.errorType}): ${answer.error}`);
  return answer.data.alerts.filter((a) => a.state === 'firing').map((a) => ({ labels: a.labels }));
}
