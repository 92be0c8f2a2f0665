// The alerts check of an analysis (config `analysis.alerts`, docs/analysis.md): at each measurement, besides the
// queries, the firing alerts are read from Alertmanager (or Prometheus' alerts API); one whose labels meet the
// matchers fails the measurement, and a source that cannot answer does too, with its reason.
import { type LabelMatcher, matchersOf, matcherText } from '../../config/alert-matchers.js';
import { type AlertsVerdict, judgeAlerts } from '../../gates/alerts.js';
import { renderTemplate, type TemplateScope } from '../../template/render.js';
import { checkAborted, type RunContext } from '../context.js';

type Analysis = NonNullable<RunContext['config']['analysis']>;
type Alerts = NonNullable<Analysis['alerts']>;

/** Where the alerts are read: the alerts' own URL and token, else Prometheus' (for `source: 'prometheus'`). */
export function alertsSource(analysis: Analysis & { alerts: Alerts }) {
  const { alerts, prometheus } = analysis;
  const url = alerts.url ?? prometheus.url;
  const tokenEnv = alerts.url ? alerts.tokenEnv : (alerts.tokenEnv ?? prometheus.tokenEnv);
  return { source: alerts.source, url, ...(tokenEnv ? { tokenEnv } : {}) };
}

/** The matchers with their template variables filled in for `scope` (the canary's); an unknown one throws. */
export function renderMatchers(alerts: Alerts, scope: TemplateScope): LabelMatcher[] {
  return matchersOf(alerts.matchers).map((m) => ({
    ...m,
    value: renderTemplate(m.value, scope, `analysis.alerts matcher ${m.name}`),
  }));
}

/** The alerts check of one measurement, as a list of none (no `alerts` in the config) or one verdict. */
export function alertsCheck(
  ctx: RunContext,
  analysis: Analysis,
  scope: TemplateScope,
  signal: AbortSignal | undefined,
): Promise<AlertsVerdict>[] {
  const { alerts } = analysis;
  if (!alerts) return [];
  const matchers = renderMatchers(alerts, scope);
  const ask = ctx.deps.alerts;
  const check = async () => {
    try {
      if (!ask) throw new Error('no alerts client in this run');
      const firing = await ask(alertsSource({ ...analysis, alerts }), matchers, {
        timeoutMs: alerts.timeoutMs,
        signal,
      });
      return judgeAlerts(matchers, { alerts: firing });
    } catch (error) {
      checkAborted(ctx);
      const why = ctx.deps.redactor.apply((error as Error).message.split('\n')[0] ?? '');
      return judgeAlerts(matchers, { error: why });
    }
  };
  return [check()];
}

/** The alerts check as `deploy plan` lists it: the source and the matchers for the canary of the first stage. */
export interface AlertsPlan {
  readonly source: 'alertmanager' | 'prometheus';
  readonly url: string;
  readonly matchers: readonly string[];
}

export function planAlerts(analysis: Analysis, scope: TemplateScope): { alerts?: AlertsPlan } {
  const { alerts } = analysis;
  if (!alerts) return {};
  const { source, url } = alertsSource({ ...analysis, alerts });
  return { alerts: { source, url, matchers: renderMatchers(alerts, scope).map(matcherText) } };
}

/** The plan's line for the alerts check. */
export function formatAlertsPlan(alerts: AlertsPlan | undefined): string[] {
  if (!alerts) return [];
  return [`    alerts          none firing in ${alerts.source} ${alerts.url} with {${alerts.matchers.join(',')}}`];
}
