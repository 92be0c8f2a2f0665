// Releases judged by their metrics (docs/analysis.md) on the sandbox: Debian's prometheus scrapes every node's
// app each second, a load loop goes through HAProxy, and the deploy's analysis asks Prometheus about the canary
// (node1, the pre node, in the pool) against the rest. A release answering 5% of its requests with 500 is
// stopped on the canary and rolled back; a good one goes through; `deploy analyze prod` shows each value.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
// @ts-expect-error: a script of the project, without declarations
import { startPrometheus, stopPrometheus } from '../../scripts/sandbox-prometheus.mjs';
import { cliJson } from '../helpers/json.js';
import { collectAnswers } from '../helpers/load.js';
import { Project, readSandbox, type Sandbox, stopApps } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;
let prometheus: { pid: number; url: string };

const ERRORS =
  'sum(rate(http_requests_total{job="app",node=~"{{ nodes.names }}",release="{{ release }}",status=~"5.."}[30s]))' +
  ' / sum(rate(http_requests_total{job="app",node=~"{{ nodes.names }}",release="{{ release }}"}[30s]))';
const P99 =
  'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="app",' +
  'node=~"{{ nodes.names }}",release="{{ release }}"}[30s])))';

beforeAll(async () => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  // Not the port metrics.test.ts takes (8x70): both may hold a sandbox of the same run.
  const port = sb.lbPort - 9;
  const analysis = {
    prometheus: { url: `http://127.0.0.1:${port}` },
    intervalMs: 2000,
    count: 3,
    queries: [
      { name: 'error-ratio', query: ERRORS, condition: '< 0.02' },
      { name: 'p99-latency', query: P99, baseline: { maxRatio: 2, margin: 0.1 } },
    ],
  };
  project = new Project(sb, {
    metrics: true,
    lb: ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, '  backend: app'],
    configExtra: `analysis: ${JSON.stringify(analysis)},`,
  });
  prometheus = await startPrometheus(project.dir, sb.nodes, port);
}, 60_000);

afterAll(async () => {
  await load?.stop();
  if (prometheus) await stopPrometheus(prometheus);
  stopApps(sb);
  project?.remove();
});

let load: ReturnType<typeof collectAnswers> | undefined;

const releaseOf = (version: string) => (current: string | undefined) => current?.includes(`_${version}_`);

describe('a release judged by its metrics', () => {
  it('the first release, with nothing to compare against, goes out with --skip-analysis, journaled', async () => {
    const args = ['prod', 'v1.0.0', '--skip-analysis', '--reason', 'first release: no baseline yet'];
    const result = await project.deploy(args);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toMatch(/the analysis is skipped with --skip-analysis/);
    for (const node of sb.nodes) {
      const finished = project.journal(node.name).filter((e) => e.event === 'run_finished');
      expect(finished.at(-1)).toMatchObject({ analysisSkipped: true, reason: 'first release: no baseline yet' });
    }
    // Counted, with who skipped it and why.
    const stats = cliJson('envStats', (await project.deploy(['stats', 'prod', '--json'])).stdout);
    expect(stats.analysisSkips).toBe(1);
    const history = cliJson('history', (await project.deploy(['history', 'prod', '--json'])).stdout);
    expect(history.runs[0]).toMatchObject({ analysisSkipped: true, reason: 'first release: no baseline yet' });
    expect(history.runs[0]!.user).toBeTruthy();
  }, 60_000);

  it('a release answering 5% of requests with 500 is stopped on the canary and rolled back everywhere', async () => {
    load = collectAnswers(sb.lbPort, 6);
    project.tag('v1.3.0', (repo) => fs.writeFileSync(path.join(repo, 'faults.json'), '{ "errorRate": 0.05 }\n'));
    const before = sb.nodes.map((n) => project.current(n.name));
    const result = await project.deploy(['prod', 'v1.3.0']);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stderr).toMatch(
      /analysis of node1 failed .*error-ratio 0\.0\d+ \(< 0\.02\): FAILED, 0\.0\d+ is not < 0\.02/,
    );
    expect(result.stderr).toMatch(/Rolled back node1 to the release each ran before/);
    expect(result.stderr).toMatch(
      /next: fix the cause, tag a new version and deploy it; the queries now: deploy analyze prod/,
    );
    // The report (the dashboard's run page shows it with the run's lines): each query against its bounds.
    const report = fs.readFileSync(/report: (\S+\.md)/.exec(result.stdout)![1]!, 'utf8');
    expect(report).toMatch(/## Analysis\n\ncanary \(node1\): failed, 1 of 1 measurement\(s\) failed/);
    expect(report).toMatch(/\| error-ratio \| 0\.0\d+ \| {2}\| < 0\.02 \| FAILED: 0\.0\d+ is not < 0\.02 \|/);
    // Every node runs what it ran before; only the canary ever ran the bad release.
    expect(sb.nodes.map((n) => project.current(n.name))).toEqual(before);
    expect(before.every(releaseOf('v1.0.0'))).toBe(true);
    const journal = project.journal('node1');
    const failed = journal.filter((e) => e.event === 'analysis_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.version).toBe('v1.3.0');
    const entries = failed[0]!.analysis as unknown as { query: string; canary: number; ok: boolean }[];
    expect(entries.find((e) => e.query === 'error-ratio')).toMatchObject({ ok: false, condition: '< 0.02' });
    expect(entries.find((e) => e.query === 'error-ratio')!.canary).toBeGreaterThan(0.02);
    expect(journal.at(-1)).toMatchObject({ event: 'run_finished', result: 'rolled_back' });
    for (const node of ['node2', 'node3', 'node4']) {
      expect(project.journal(node).some((e) => e.version === 'v1.3.0' && e.event === 'activated')).toBe(false);
    }
    // What users saw: a 500 only from the bad release on the canary, no request lost.
    const errors = load.answers.filter((a) => a.status !== 200);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((a) => a.status === 500 && a.body.startsWith('failing on purpose'))).toBe(true);
    expect(load.failures).toEqual([]);
  }, 120_000);

  it('a release 200 ms slower, within every absolute bound, is stopped by the comparison with the baseline', async () => {
    project.tag('v1.4.0', (repo) => fs.writeFileSync(path.join(repo, 'faults.json'), '{ "delayMs": 200 }\n'));
    const result = await project.deploy(['prod', 'v1.4.0']);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stderr).toMatch(
      /analysis of node1 failed .*: p99-latency 0\.\d+, baseline 0\.0\d+ \(<= 0\.1\d* by the baseline\): FAILED, 0\.\d+ is above/,
    );
    expect(result.stderr).not.toMatch(/error-ratio/);
    expect(sb.nodes.every((n) => releaseOf('v1.0.0')(project.current(n.name)))).toBe(true);
    const failed = project.journal('node1').filter((e) => e.event === 'analysis_failed');
    expect(failed.map((e) => e.version)).toEqual(['v1.3.0', 'v1.4.0']);
    expect(load!.failures).toEqual([]);
  }, 120_000);

  it('a good release passes the analysis on the canary and goes out to every node', async () => {
    const result = await project.deploy(['prod', 'v1.1.0']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/analysis passed on node1: 0 of 3 measurement\(s\) failed, /);
    expect(sb.nodes.every((n) => releaseOf('v1.1.0')(project.current(n.name)))).toBe(true);
    const passed = project.journal('node1').filter((e) => e.event === 'analysis_passed');
    expect(passed.map((e) => e.version)).toEqual(['v1.1.0']);
    const entries = passed[0]!.analysis as unknown as { query: string; canary: number; baseline?: number }[];
    expect(entries.map((e) => e.query)).toEqual(['error-ratio', 'p99-latency']);
    expect(entries[0]!.canary).toBe(0);
    expect(entries[1]!.baseline).toBeGreaterThan(0);
    expect(load!.failures).toEqual([]);
  }, 120_000);

  it("deploy analyze prod prints each query's value for the fleet as it is", async () => {
    const human = await project.deploy(['analyze', 'prod']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/canary +node1 \(v1\.1\.0, hello_prod_v1\.1\.0_/);
    expect(human.stdout).toMatch(/baseline +node2, node3, node4 \(v1\.1\.0/);
    expect(human.stdout).toMatch(/error-ratio 0 \(< 0\.02\): ok/);
    expect(human.stdout).toMatch(/p99-latency [\d.e-]+, baseline [\d.e-]+ \(<= [\d.]+ by the baseline\): ok/);
    const json = cliJson('analyze', (await project.deploy(['analyze', 'prod', '--json'])).stdout);
    expect(json.ok).toBe(true);
    expect(json.queries.map((q) => [q.query, q.ok])).toEqual([
      ['error-ratio', true],
      ['p99-latency', true],
    ]);
    expect(json.queries[0]!.promql).toContain('node=~"node1",release="hello_prod_v1.1.0_');
    await load!.stop();
    expect(load!.failures).toEqual([]);
  }, 60_000);
});
