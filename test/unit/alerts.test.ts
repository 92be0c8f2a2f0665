// The alerts check's pure parts: label matchers (parsed, evaluated as Prometheus evaluates them), the sources'
// answers checked before they are believed, the verdict naming the matching alerts in printable text, and the
// config's `analysis.alerts`.
import { describe, expect, it } from 'vitest';
import { matchersOf, matchesAll, matcherText, parseMatcher } from '../../src/config/alert-matchers.js';
import { resolveConfig } from '../../src/config/load.js';
import { validateUserConfig } from '../../src/config/validate.js';
import { judgeAlerts, printable } from '../../src/gates/alerts.js';
import { verdictLine } from '../../src/gates/analysis.js';
import { alertsOf } from '../../src/transport/alerts.js';

describe('a label matcher', () => {
  it('is label, operator and a quoted value; a regular expression is checked', () => {
    expect(parseMatcher('severity="critical"')).toEqual({ name: 'severity', op: '=', value: 'critical' });
    expect(parseMatcher(' env != "staging" ')).toEqual({ name: 'env', op: '!=', value: 'staging' });
    expect(parseMatcher('service=~"web|api"')).toEqual({ name: 'service', op: '=~', value: 'web|api' });
    expect(parseMatcher('team!~"qa.*"')).toEqual({ name: 'team', op: '!~', value: 'qa.*' });
    expect(parseMatcher('summary="say \\"hi\\""')).toEqual({ name: 'summary', op: '=', value: 'say "hi"' });
    expect(parseMatcher('node=~"{{ nodes.names }}"').value).toBe('{{ nodes.names }}');
    for (const bad of ['severity=critical', 'severity', '1x="a"', 'a=="b"', 'a="b" c="d"'])
      expect(() => parseMatcher(bad), bad).toThrow(/is not a label matcher/);
    expect(() => parseMatcher('a=~"(unclosed"')).toThrow(/is not a regular expression/);
  });

  it('comes from a list or from an object of equal labels, and is written back as Alertmanager reads it', () => {
    expect(matchersOf({ severity: 'critical', team: 'web' })).toEqual([
      { name: 'severity', op: '=', value: 'critical' },
      { name: 'team', op: '=', value: 'web' },
    ]);
    expect(matchersOf(['a!="b"']).map(matcherText)).toEqual(['a!="b"']);
    expect(matcherText({ name: 'q', op: '=~', value: 'say "hi"\\d' })).toBe('q=~"say \\"hi\\"\\\\d"');
  });

  it('is evaluated as Prometheus does: regular expressions anchored, a missing label is empty', () => {
    const labels = { alertname: 'HighErrors', severity: 'critical', service: 'web-api' };
    const all = (...texts: string[]) => matchesAll(labels, texts.map(parseMatcher));
    expect(all('severity="critical"', 'service=~"web-.*"')).toBe(true);
    expect(all('service=~"web"')).toBe(false);
    expect(all('service!~"web"')).toBe(true);
    expect(all('severity!="critical"')).toBe(false);
    expect(all('team=""')).toBe(true);
    expect(all('team!=""')).toBe(false);
    expect(all('team=~"web|"')).toBe(true);
    expect(all('severity="critical"', 'team="web"')).toBe(false);
    // A label named like an Object property is a label like any other.
    expect(matchesAll({}, [{ name: 'constructor', op: '=', value: '' }])).toBe(true);
  });
});

describe("a source's answer", () => {
  const am = (alerts: unknown) => alertsOf('alertmanager', JSON.stringify(alerts), 200, 'http://am:9093');
  const prom = (body: unknown) => alertsOf('prometheus', JSON.stringify(body), 200, 'http://p:9090');

  it("Alertmanager's: the labels of alerts not suppressed", () => {
    const alert = (state: string, severity: string) => ({
      labels: { alertname: 'A', severity },
      annotations: {},
      fingerprint: 'f',
      status: { state, silencedBy: [], inhibitedBy: [] },
    });
    expect(am([alert('active', 'critical'), alert('suppressed', 'page'), alert('unprocessed', 'x')])).toEqual([
      { labels: { alertname: 'A', severity: 'critical' } },
      { labels: { alertname: 'A', severity: 'x' } },
    ]);
    expect(am([])).toEqual([]);
  });

  it("Prometheus': the labels of alerts in state firing, not pending; its refusal with its reason", () => {
    const alert = (state: string) => ({ labels: { alertname: state }, annotations: {}, state, value: '1e+00' });
    expect(prom({ status: 'success', data: { alerts: [alert('firing'), alert('pending')] } })).toEqual([
      { labels: { alertname: 'firing' } },
    ]);
    expect(() => prom({ status: 'error', errorType: 'unavailable', error: 'rules not loaded' })).toThrow(
      'Prometheus refused (unavailable): rules not loaded',
    );
  });

  it('is refused when it is not the API JSON, or too big to be believed', () => {
    expect(() => alertsOf('alertmanager', '<html>', 502, 'http://am')).toThrow(
      "Alertmanager at http://am answered 502 with something that is not its API's JSON",
    );
    expect(() => am({ alerts: [] })).toThrow(/in a shape its alerts API does not use/);
    expect(() => am([{ labels: { a: 1 }, status: { state: 'active' } }])).toThrow(/shape/);
    expect(() => alertsOf('alertmanager', '{"error":"x"}', 401, 'http://am')).toThrow(/answered 401 in a shape/);
    const many = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`l${i}`, 'v']));
    expect(() => am([{ labels: many, status: { state: 'active' } }])).toThrow(/shape/);
    const huge = Array.from({ length: 10_001 }, () => ({ labels: {}, status: { state: 'active' } }));
    expect(() => am(huge)).toThrow(/shape/);
    expect(() => prom({ status: 'success', data: { alerts: [{ labels: {}, state: 'burning' }] } })).toThrow(/shape/);
  });
});

describe('the alerts verdict', () => {
  const matchers = matchersOf(['severity="critical"', 'service=~"web|api"']);
  const firing = (labels: Record<string, string>) => ({ labels });

  it('passes when no alert matches, and names the matching ones by alertname and the matched labels', () => {
    const calm = judgeAlerts(matchers, { alerts: [firing({ alertname: 'Low', severity: 'warning', service: 'web' })] });
    expect(calm).toEqual({ query: 'alerts', condition: 'none firing', canary: 0, ok: true, firing: [] });
    expect(verdictLine(calm)).toBe('alerts 0 (none firing): ok');
    const alerts = [
      firing({ alertname: 'HighErrors', severity: 'critical', service: 'web', node: 'node1' }),
      firing({ alertname: 'Down', severity: 'critical', service: 'api' }),
      firing({ alertname: 'Other', severity: 'critical', service: 'db' }),
    ];
    const bad = judgeAlerts(matchers, { alerts });
    expect(bad).toMatchObject({ canary: 2, ok: false });
    expect(bad.firing).toEqual([
      { alertname: 'HighErrors', labels: { severity: 'critical', service: 'web' } },
      { alertname: 'Down', labels: { severity: 'critical', service: 'api' } },
    ]);
    expect(verdictLine(bad)).toBe(
      'alerts 2 (none firing): FAILED, firing: HighErrors{severity="critical",service="web"}, ' +
        'Down{severity="critical",service="api"}',
    );
  });

  it('names at most 5 and counts the rest; untrusted text is stripped of control characters and capped', () => {
    const many = Array.from({ length: 8 }, (_, i) =>
      firing({ alertname: `A${i}`, severity: 'critical', service: 'web' }),
    );
    const verdict = judgeAlerts(matchers, { alerts: many });
    expect(verdict.canary).toBe(8);
    expect(verdict.firing).toHaveLength(5);
    expect(verdict.why).toMatch(/A4\{severity="critical",service="web"\} and 3 more$/);
    const hostile = firing({
      alertname: `\u001b[31mRed\u0007\u202e${'x'.repeat(300)}`,
      severity: 'critical',
      service: 'api',
    });
    const named = judgeAlerts(matchers, { alerts: [hostile] }).firing[0]!.alertname;
    expect(named).toMatch(/^\[31mRedx+…$/);
    expect(named).toHaveLength(120);
    expect(printable('a\nb\rc\u0000d')).toBe('abcd');
  });

  it('fails with the reason when the source could not be asked', () => {
    const verdict = judgeAlerts(matchers, { error: 'cannot reach Alertmanager at http://am:9093: ECONNREFUSED' });
    expect(verdict).toMatchObject({ canary: null, ok: false, firing: [] });
    expect(verdictLine(verdict)).toBe(
      'alerts no data (none firing): FAILED, cannot reach Alertmanager at http://am:9093: ECONNREFUSED',
    );
  });
});

describe('config analysis.alerts', () => {
  const config = (alerts: unknown, queries = [{ name: 'q', query: 'up', condition: '>= 1' }]) =>
    validateUserConfig(
      { project: 's', repo: '.', deployTo: '/s', analysis: { prometheus: { url: 'http://p:9090' }, queries, alerts } },
      'deploy.config.ts',
    );

  it('takes Alertmanager by default (its URL required) or Prometheus, with matchers in either form', () => {
    const resolved = resolveConfig(
      config({ url: 'https://am', matchers: { severity: 'critical' } }),
      'prod',
      '/p/x.ts',
    );
    expect(resolved.analysis!.alerts).toEqual({
      source: 'alertmanager',
      url: 'https://am',
      matchers: { severity: 'critical' },
      timeoutMs: 10_000,
    });
    expect(() => config({ source: 'prometheus', matchers: ['severity=~"critical|page"'] })).not.toThrow();
    expect(() => config({ matchers: { severity: 'critical' } })).toThrow(/set "url"/);
  });

  it('refuses matchers it cannot read, and a query named like the check', () => {
    const am = (matchers: unknown) => () => config({ url: 'http://am', matchers });
    expect(am(['severity=critical'])).toThrow(/is not a label matcher/);
    expect(am([])).toThrow(/matchers/);
    expect(am({})).toThrow(/at least one label/);
    expect(am({ 'not-a-label': 'x' })).toThrow(/a label name/);
    expect(am(['a=~"("'])).toThrow(/is not a regular expression/);
    const named = () =>
      config({ url: 'http://am', matchers: { a: 'b' } }, [{ name: 'alerts', query: 'up', condition: '> 0' }]);
    expect(named).toThrow(/"alerts" names the alerts check/);
  });
});
