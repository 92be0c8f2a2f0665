// relink's numbers in Prometheus: Debian's prometheus (scripts/sandbox-prometheus.mjs, as `sandbox up --prometheus`
// starts it) scrapes every sandbox node's app and `deploy serve`'s /metrics with a viewer's API token; its HTTP API
// answers with the deploy count and the app's request counters. `deploy stats --json` has DORA's four keys.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
// @ts-expect-error: a script of the project, without declarations
import { startPrometheus, stopPrometheus } from '../../scripts/sandbox-prometheus.mjs';
import { cliJson } from '../helpers/json.js';
import { distDir, httpText, Project, readSandbox, type Sandbox, stopApps } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;
let prometheus: { pid: number; url: string; targets: string; token: string };
let server: ChildProcess | undefined;

beforeAll(async () => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb, { metrics: true });
  // A port of this sandbox's block: HAProxy is on 8x80-8x83, nginx 8x90-8x93; Prometheus takes 8x70-8x73.
  prometheus = await startPrometheus(project.dir, sb.nodes, sb.lbPort - 10);
}, 60_000);

afterAll(async () => {
  server?.kill('SIGTERM');
  if (prometheus) await stopPrometheus(prometheus);
  stopApps(sb);
  project?.remove();
});

/** Starts `deploy serve` on a free port; its URL. */
async function serve(): Promise<string> {
  server = spawn('node', [path.join(distDir, 'bin', 'deploy.js'), 'serve', '--port', '0', '--cache-ms', '500'], {
    cwd: project.dir,
    env: { ...process.env, CI: 'true', APP_SECRET: 'it-secret-value' },
  });
  let out = '';
  server.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`deploy serve did not start: ${out}`)), 30_000);
    server!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /relink dashboard for \S+: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
}

type Sample = { metric: Record<string, string>; value: [number, string] };

/** Asks Prometheus until `query` has an answer `done` accepts (scrapes are every second). */
async function query(promql: string, done: (samples: Sample[]) => boolean): Promise<Sample[]> {
  let samples: Sample[] = [];
  for (let i = 0; i < 60; i++) {
    const answer = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    samples = ((await answer.json()) as { data: { result: Sample[] } }).data.result;
    if (done(samples)) return samples;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return samples;
}

describe('metrics in Prometheus', () => {
  it("Prometheus scrapes deploy serve's /metrics with a token, and the app's counters on every node", async () => {
    for (const version of ['v1.0.0', 'v1.1.0']) {
      const result = await project.deploy(['prod', version]);
      expect(result.code, result.stderr).toBe(0);
    }
    // A scraper's token: a viewer's, with a long expiry.
    const add = ['serve', '--add-token', 'prometheus', '--role', 'viewer', '--expires-days', '3650'];
    const made = execFileSync('node', [path.join(distDir, 'bin', 'deploy.js'), ...add], {
      cwd: project.dir,
      env: { ...process.env, CI: 'true' },
      encoding: 'utf8',
      input: '',
      stdio: 'pipe',
    });
    const token = made.trim().split('\n').pop()!;
    const url = await serve();
    // Without the token, /metrics is refused.
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    fs.writeFileSync(prometheus.token, `${token}\n`);
    fs.writeFileSync(prometheus.targets, JSON.stringify([{ targets: [new URL(url).host], labels: {} }]));

    for (const node of sb.nodes) await httpText(`http://${node.address}:${node.appPort}/`);

    const deploys = await query('sum(relink_deploys_total{env="prod"})', (s) => s[0]?.value[1] === '2');
    expect(deploys.map((s) => s.value[1])).toEqual(['2']);
    const ok = await query('relink_deploys_total{env="prod",result="success"}', (s) => s.length > 0);
    expect(ok.map((s) => [s.metric.job, s.value[1]])).toEqual([['relink', '2']]);
    const nodes = await query('relink_nodes{env="prod"}', (s) => s[0]?.value[1] === '4');
    expect(nodes.map((s) => [s.metric.version, s.value[1]])).toEqual([['v1.1.0', '4']]);

    const requests = await query(
      'sum by (node) (http_requests_total{job="app",status="200",version="v1.1.0"})',
      (s) => s.length === sb.nodes.length,
    );
    expect(requests.map((s) => s.metric.node).sort()).toEqual(sb.nodes.map((n) => n.name).sort());
    const latency = await query('http_request_duration_seconds_count{job="app",node="node2"}', (s) => s.length > 0);
    expect(latency.length).toBeGreaterThan(0);
  }, 60_000);

  it("deploy stats --json carries DORA's four keys with their bands", async () => {
    const stats = cliJson('envStats', (await project.deploy(['stats', 'prod', '--json'])).stdout);
    expect(stats.dora).toEqual({
      // 2 successful deploys over the 30 days shown.
      deployment_frequency: { value: 2 / 30, unit: 'deploys/day', band: 'medium' },
      lead_time_for_changes: { value: expect.any(Number), unit: 'hours', band: 'elite' },
      change_failure_rate: { value: 0, unit: 'ratio', band: 'elite' },
      time_to_restore_service: { value: null, unit: 'hours', band: null },
    });
    const human = (await project.deploy(['stats', 'prod'])).stdout;
    expect(human).toMatch(/deployment frequency +0\.07 deploys\/day, medium/);
    expect(human).toMatch(/change failure rate +0%, elite/);
  });
});
