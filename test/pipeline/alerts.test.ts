// Alerts as a gate through the real pipeline (recording transport), the firing alerts handed in through RunDeps'
// `alerts` seam: a matching alert fails the canary's analysis and every switched node goes back; an alert with
// other labels lets the release through; a source that cannot answer is a failed measurement with its reason;
// `deploy plan` lists the check.
import { describe, expect, it } from 'vitest';
import { EXIT, type RelinkError } from '../../src/errors.js';
import type { RunDeps } from '../../src/pipeline/context.js';
import { formatPlan } from '../../src/pipeline/phases/plan.js';
import { deploy, planDeploy } from '../../src/pipeline/run.js';
import { fakeRun, OLD, relinks, journaled } from '../helpers/fake-run.js';

const analysis = (alerts: Record<string, unknown>) => ({
  prometheus: { url: 'http://prometheus.test:9090', tokenEnv: 'PROM_TOKEN' },
  intervalMs: 5000,
  count: 2,
  queries: [{ name: 'error-ratio', query: 'errors{node=~"{{ nodes.names }}"}', condition: '< 0.01' }],
  alerts: {
    url: 'http://alertmanager.test:9093',
    matchers: ['severity="critical"', 'node=~"{{ nodes.names }}"'],
    ...alerts,
  },
});

type Asked = { source: string; url: string; tokenEnv?: string; matchers: string[]; timeoutMs: number };

/** A run whose alerts source answers `firing` (or throws it); what it was asked, each time. */
function alerted(firing: () => Record<string, string>[], alerts: Record<string, unknown> = {}) {
  const run = fakeRun({ config: { analysis: analysis(alerts) } });
  const asked: Asked[] = [];
  const deps: RunDeps = {
    ...run.deps,
    prometheus: async () => [0],
    alerts: async (source, matchers, deadline) => {
      const shown = matchers.map((m) => `${m.name}${m.op}${m.value}`);
      asked.push({ ...source, matchers: shown, timeoutMs: deadline.timeoutMs });
      return firing().map((labels) => ({ labels }));
    },
  };
  return { ...run, deps, asked };
}

describe('alerts as a gate of the analysis', () => {
  it('a firing alert that matches fails the canary: every switched node goes back, the alert is named', async () => {
    const run = alerted(() => [
      { alertname: 'HighErrorRate', severity: 'critical', node: 'node1', instance: 'node1:8080' },
      { alertname: 'DiskFull', severity: 'warning', node: 'node1' },
    ]);
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as RelinkError).exitCode).toBe(EXIT.failed);
    const named = 'alerts 1 (none firing): FAILED, firing: HighErrorRate{severity="critical",node="node1"}';
    expect((error as Error).message).toBe(
      `analysis of node1 failed (1 of 1 measurement(s) failed, 0 tolerated): ${named}. ` +
        'Rolled back node1 to the release each ran before.',
    );
    // Asked once, for the canary: its matchers' variables filled in, its own deadline, the Alertmanager's URL.
    expect(run.asked).toEqual([
      {
        source: 'alertmanager',
        url: 'http://alertmanager.test:9093',
        matchers: ['severity=critical', 'node=~node1'],
        timeoutMs: 10_000,
      },
    ]);
    expect(relinks(run)).toEqual(['node1:hello_prod_v1.1.0', 'node1:hello_prod_v1.0.0']);
    const failed = journaled(run, 'analysis_failed');
    expect(failed.map((f) => f.node)).toEqual(['node1']);
    expect(failed[0]!.line.reason).toContain(named);
    expect(failed[0]!.line.analysis).toEqual([
      { query: 'error-ratio', canary: 0, condition: '< 0.01', ok: true },
      { query: 'alerts', canary: 1, condition: 'none firing', ok: false },
    ]);
    expect(journaled(run, 'rolled_back').map((r) => r.line.release)).toEqual([OLD]);
  });

  it('an alert with other labels lets the release through, asked at every measurement', async () => {
    const run = alerted(() => [{ alertname: 'HighErrorRate', severity: 'warning', node: 'node1' }]);
    const outcome = await deploy(run.request, run.deps, run.source);
    expect(outcome.nodes).toEqual(['node1', 'node2', 'node3', 'node4']);
    expect(run.asked).toHaveLength(2);
    const passed = journaled(run, 'analysis_passed');
    expect(passed[0]!.line.analysis).toContainEqual({ query: 'alerts', canary: 0, condition: 'none firing', ok: true });
    expect(run.events).toContainEqual({ type: 'info', message: 'analysis 2/2: alerts 0 (none firing): ok' });
  });

  it('a source that cannot answer is a failed measurement, with its reason', async () => {
    const run = alerted(() => {
      throw new Error('cannot reach Alertmanager at http://alertmanager.test:9093: connect ECONNREFUSED');
    });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as RelinkError).exitCode).toBe(EXIT.failed);
    expect((error as Error).message).toContain(
      'alerts no data (none firing): FAILED, cannot reach Alertmanager at http://alertmanager.test:9093: ' +
        'connect ECONNREFUSED',
    );
    expect(relinks(run)).toEqual(['node1:hello_prod_v1.1.0', 'node1:hello_prod_v1.0.0']);
  });

  it("Prometheus' own alerts API takes Prometheus' URL and token; deploy plan lists the check", async () => {
    const run = alerted(() => [], { source: 'prometheus', url: undefined, matchers: { severity: 'critical' } });
    await deploy(run.request, run.deps, run.source);
    expect(run.asked[0]).toMatchObject({
      source: 'prometheus',
      url: 'http://prometheus.test:9090',
      tokenEnv: 'PROM_TOKEN',
      matchers: ['severity=critical'],
    });
    const planned = alerted(() => []);
    const plan = await planDeploy(planned.request, planned.deps, planned.source);
    expect(plan.analysis!.alerts).toEqual({
      source: 'alertmanager',
      url: 'http://alertmanager.test:9093',
      matchers: ['severity="critical"', 'node=~"node1"'],
    });
    expect(formatPlan(plan)).toContain(
      '    alerts          none firing in alertmanager http://alertmanager.test:9093 with {severity="critical",node=~"node1"}',
    );
  });
});
