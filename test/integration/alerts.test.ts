// Alerts as a gate (docs/analysis.md) on the sandbox: Debian's prometheus-alertmanager beside Debian's prometheus
// (scripts/sandbox-prometheus.mjs, as `sandbox up --prometheus P --alertmanager A` starts them), a rule that fires
// for each flag the test raises in flags.json (with the labels the test gives it), routed to the Alertmanager. A
// deploy while an alert with the configured labels fires is stopped by the analysis on the canary and rolled back;
// an alert with other labels does not stop one; `deploy analyze prod` names the firing alert, from Alertmanager and
// from Prometheus' own alerts API.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
// @ts-expect-error: a script of the project, without declarations
import { startPrometheus, stopPrometheus } from '../../scripts/sandbox-prometheus.mjs';
import { cliJson } from '../helpers/json.js';
import { Project, readSandbox, type Sandbox, stopApps } from '../helpers/project.js';

type Started = { pid: number; url: string; flags: string; alertmanager: { pid: number; url: string } };

let sb: Sandbox;
let project: Project;
let prometheus: Started;

beforeAll(async () => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  // Ports of this sandbox's block no other file takes: Prometheus 8x60-8x63, Alertmanager 8x50-8x53.
  const port = sb.lbPort - 20;
  const alertmanagerPort = sb.lbPort - 30;
  const analysis = {
    prometheus: { url: `http://127.0.0.1:${port}` },
    intervalMs: 1000,
    count: 2,
    queries: [{ name: 'scraped', query: 'count(up{job="app",node=~"{{ nodes.names }}"})', condition: '>= 1' }],
    alerts: {
      url: `http://127.0.0.1:${alertmanagerPort}`,
      matchers: ['severity="critical"', 'service=~"{{ project }}|shop"'],
    },
  };
  project = new Project(sb, {
    metrics: true,
    lb: ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, '  backend: app'],
    configExtra: `analysis: ${JSON.stringify(analysis)},`,
  });
  prometheus = await startPrometheus(project.dir, sb.nodes, port, { alertmanager: alertmanagerPort });
}, 60_000);

afterAll(async () => {
  if (prometheus) await stopPrometheus(prometheus);
  stopApps(sb);
  project?.remove();
});

/** Raises one flag with these labels (or none), and waits until Alertmanager has exactly what was raised. */
async function flag(labels: Record<string, string> | undefined): Promise<void> {
  const targets = labels ? [{ targets: ['127.0.0.1:1'], labels }] : [];
  fs.writeFileSync(prometheus.flags, JSON.stringify(targets));
  const url = `${prometheus.alertmanager.url}/api/v2/alerts?active=true&silenced=false&inhibited=false`;
  for (let i = 0; i < 120; i++) {
    const alerts = (await (await fetch(url)).json()) as { labels: Record<string, string> }[];
    const flags = alerts.filter((a) => a.labels.alertname === 'SandboxFlag');
    if (labels ? flags.length === 1 && flags[0]!.labels.severity === labels.severity : flags.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Alertmanager did not come to the flag ${JSON.stringify(labels)}`);
}

const releaseOf = (version: string) => (current: string | undefined) => current?.includes(`_${version}_`);

describe('alerts as a gate', () => {
  it('with no alert firing, the first release goes out: its analysis asked Alertmanager', async () => {
    await flag(undefined);
    const result = await project.deploy(['prod', 'v1.0.0']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/analysis 2\/2: alerts 0 \(none firing\): ok/);
    expect(sb.nodes.every((n) => releaseOf('v1.0.0')(project.current(n.name)))).toBe(true);
    const passed = project.journal('node1').filter((e) => e.event === 'analysis_passed');
    expect(passed.at(-1)!.analysis).toContainEqual({ query: 'alerts', canary: 0, condition: 'none firing', ok: true });
  }, 120_000);

  it('an alert with other labels does not stop a release', async () => {
    await flag({ severity: 'warning', service: 'hello' });
    const result = await project.deploy(['prod', 'v1.1.0']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/analysis passed on node1: 0 of 2 measurement\(s\) failed/);
    expect(sb.nodes.every((n) => releaseOf('v1.1.0')(project.current(n.name)))).toBe(true);
  }, 120_000);

  it('a firing alert with the configured labels stops the release on the canary; every node goes back', async () => {
    await flag({ severity: 'critical', service: 'hello' });
    const before = sb.nodes.map((n) => project.current(n.name));
    const result = await project.deploy(['prod', 'v1.2.0']);
    expect(result.code, result.stdout).toBe(1);
    const named = 'alerts 1 (none firing): FAILED, firing: SandboxFlag{severity="critical",service="hello"}';
    expect(result.stderr).toContain(`analysis of node1 failed (1 of 1 measurement(s) failed, 0 tolerated): ${named}`);
    expect(result.stderr).not.toMatch(/scraped/);
    expect(result.stderr).toMatch(/Rolled back node1 to the release each ran before/);
    const report = fs.readFileSync(/report: (\S+\.md)/.exec(result.stdout)![1]!, 'utf8');
    expect(report).toContain(`| alerts | 1 |  | none firing | FAILED: ${named.split('FAILED, ')[1]} |`);
    expect(sb.nodes.map((n) => project.current(n.name))).toEqual(before);
    expect(before.every(releaseOf('v1.1.0'))).toBe(true);
    const journal = project.journal('node1');
    const failed = journal.filter((e) => e.event === 'analysis_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ version: 'v1.2.0' });
    expect(failed[0]!.reason).toContain(named);
    expect(failed[0]!.analysis).toContainEqual({ query: 'alerts', canary: 1, condition: 'none firing', ok: false });
    expect(journal.at(-1)).toMatchObject({ event: 'run_finished', result: 'rolled_back' });
    for (const node of ['node2', 'node3', 'node4'])
      expect(project.journal(node).some((e) => e.version === 'v1.2.0' && e.event === 'activated')).toBe(false);
  }, 120_000);

  it('deploy analyze prod names the firing alert, from Alertmanager and from Prometheus', async () => {
    const human = await project.deploy(['analyze', 'prod']);
    expect(human.code, human.stderr).toBe(1);
    expect(human.stdout).toMatch(/scraped 1 \(>= 1\): ok/);
    expect(human.stdout).toContain(
      'alerts 1 (none firing): FAILED, firing: SandboxFlag{severity="critical",service="hello"}',
    );
    expect(human.stdout).toContain(
      `alertmanager: ${prometheus.alertmanager.url} {severity="critical",service=~"hello|shop"}`,
    );
    expect(human.stdout).toMatch(/FAILED: a matching alert fires/);
    const json = cliJson('analyze', (await project.deploy(['analyze', 'prod', '--json'])).stdout);
    expect(json.alerts).toEqual({
      source: 'alertmanager',
      url: prometheus.alertmanager.url,
      matchers: ['severity="critical"', 'service=~"hello|shop"'],
      ok: false,
      count: 1,
      firing: [{ alertname: 'SandboxFlag', labels: { severity: 'critical', service: 'hello' } }],
      why: 'firing: SandboxFlag{severity="critical",service="hello"}',
    });
    // The second source: Prometheus' own alerts API (its URL: the analysis' Prometheus), the labels as an object.
    const config = fs.readFileSync(project.configFile, 'utf8');
    const alerts = /"alerts":\{.*?\]\}/.exec(config)![0];
    const own = path.join(project.dir, 'prometheus-alerts.config.mjs');
    const byPrometheus =
      '"alerts":{"source":"prometheus","matchers":{"alertname":"SandboxFlag","severity":"critical"}}';
    fs.writeFileSync(own, config.replace(alerts, byPrometheus));
    const fromPrometheus = await project.deploy(['analyze', 'prod', '--json', '--config', own]);
    expect(fromPrometheus.code, fromPrometheus.stderr).toBe(1);
    expect(cliJson('analyze', fromPrometheus.stdout).alerts).toMatchObject({
      source: 'prometheus',
      url: prometheus.url,
      count: 1,
      firing: [{ alertname: 'SandboxFlag', labels: { severity: 'critical' } }],
    });
    // Lowered: nothing fires, and the analysis holds again.
    await flag(undefined);
    const calm = await project.deploy(['analyze', 'prod']);
    expect(calm.code, calm.stdout).toBe(0);
    expect(calm.stdout).toMatch(/alerts 0 \(none firing\): ok/);
  }, 120_000);
});
