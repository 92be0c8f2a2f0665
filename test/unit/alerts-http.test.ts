// The firing alerts asked over HTTP (transport/alerts.ts), from a local server standing in for Alertmanager and
// Prometheus: the API's path and filters, the bearer token (read from its variable, redacted), the deadline.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsFrom } from '../../src/app/deps.js';
import { matchersOf } from '../../src/config/alert-matchers.js';
import { Redactor } from '../../src/log/redact.js';
import { firingAlerts } from '../../src/transport/alerts.js';

let server: http.Server;
let base: string;
const seen: { url: string; authorization?: string }[] = [];
const alert = { labels: { alertname: 'Down', severity: 'critical' }, status: { state: 'active' } };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url!, authorization: req.headers.authorization });
    if (req.url!.startsWith('/never')) return undefined;
    if (req.url!.startsWith('/moved')) return res.writeHead(302, { location: '/elsewhere' }).end();
    if (req.url!.startsWith('/api/v1/alerts'))
      return res.end(JSON.stringify({ status: 'success', data: { alerts: [{ ...alert, state: 'firing' }] } }));
    res.end(JSON.stringify([alert]));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const matchers = matchersOf(['severity="critical"', 'service=~"web|api"']);

describe('the firing alerts, over HTTP', () => {
  it("asks Alertmanager's API v2 for active alerts, neither silenced nor inhibited, filtered by the matchers", async () => {
    seen.length = 0;
    const alerts = await firingAlerts({ source: 'alertmanager', url: base, token: 't0k' }, matchers, {
      timeoutMs: 5000,
    });
    expect(alerts).toEqual([{ labels: { alertname: 'Down', severity: 'critical' } }]);
    const url = new URL(seen[0]!.url, base);
    expect(url.pathname).toBe('/api/v2/alerts');
    expect(url.searchParams.get('active')).toBe('true');
    expect(url.searchParams.get('silenced')).toBe('false');
    expect(url.searchParams.get('inhibited')).toBe('false');
    expect(url.searchParams.getAll('filter')).toEqual(['severity="critical"', 'service=~"web|api"']);
    expect(seen[0]!.authorization).toBe('Bearer t0k');
  });

  it("asks Prometheus' alerts API under its base path", async () => {
    seen.length = 0;
    const alerts = await firingAlerts({ source: 'prometheus', url: `${base}/`, token: undefined }, matchers, {
      timeoutMs: 5000,
    });
    expect(alerts).toEqual([{ labels: { alertname: 'Down', severity: 'critical' } }]);
    expect(seen).toEqual([{ url: '/api/v1/alerts', authorization: undefined }]);
  });

  it('says so at the deadline, and does not follow a redirect', async () => {
    const never = firingAlerts({ source: 'alertmanager', url: `${base}/never` }, [], { timeoutMs: 200 });
    await expect(never).rejects.toThrow(`Alertmanager at ${base} did not answer within 200 ms`);
    const moved = firingAlerts({ source: 'alertmanager', url: `${base}/moved` }, [], { timeoutMs: 5000 });
    await expect(moved).rejects.toThrow(`cannot reach Alertmanager at ${base}: `);
  });

  it('reads the bearer token from its variable and redacts it; a variable not set is said', async () => {
    const redactor = new Redactor();
    const ask = alertsFrom(redactor);
    const source = { source: 'alertmanager' as const, url: base, tokenEnv: 'RELINK_TEST_ALERTS_TOKEN' };
    expect(() => ask(source, matchers, { timeoutMs: 5000 })).toThrow(
      'RELINK_TEST_ALERTS_TOKEN is not set (the token for alertmanager)',
    );
    process.env.RELINK_TEST_ALERTS_TOKEN = 'very-secret-alerts-token';
    try {
      seen.length = 0;
      await ask(source, matchers, { timeoutMs: 5000 });
      expect(seen[0]!.authorization).toBe('Bearer very-secret-alerts-token');
      expect(redactor.apply('sent very-secret-alerts-token')).not.toContain('very-secret-alerts-token');
    } finally {
      delete process.env.RELINK_TEST_ALERTS_TOKEN;
    }
  });
});
