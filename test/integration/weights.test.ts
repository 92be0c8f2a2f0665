// The canary's traffic steps (analysis.steps, docs/analysis.md) on the sandbox: Debian's prometheus scrapes
// every node's app each second, a load loop goes through the load balancer, and the deploy gives the canary
// (node1, the pre node, in the pool) 10% then 50% of the traffic through HAProxy's runtime weights, with an
// analysis at each step. A release answering 5% of its requests with 500 is stopped at 10% and rolled back;
// a good one goes through every step; the weights read back from the admin socket are the normal ones after
// each run; the same through nginx's upstream file.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
// @ts-expect-error: a script of the project, without declarations
import { startPrometheus, stopPrometheus } from '../../scripts/sandbox-prometheus.mjs';
import { collectAnswers } from '../helpers/load.js';
import { Project, readSandbox, type Sandbox, startUntil, stopApps } from '../helpers/project.js';

const run = promisify(execFile);
let sb: Sandbox;
let project: Project;
let prometheus: { pid: number; url: string };

const ERRORS =
  'sum(rate(http_requests_total{job="app",node=~"{{ nodes.names }}",release="{{ release }}",status=~"5.."}[30s]))' +
  ' / sum(rate(http_requests_total{job="app",node=~"{{ nodes.names }}",release="{{ release }}"}[30s]))';
const NODES = ['node1', 'node2', 'node3', 'node4'];

beforeAll(async () => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  // Neither metrics.test.ts' port (8x70) nor analysis.test.ts' (8x71).
  const port = sb.lbPort - 8;
  const analysis = {
    prometheus: { url: `http://127.0.0.1:${port}` },
    intervalMs: 2000,
    count: 3,
    // A canary restarted a moment ago may have no two scrapes of its new series yet: one "no data" is forgiven.
    failureLimit: 1,
    steps: [10, 50],
    queries: [{ name: 'error-ratio', query: ERRORS, condition: '< 0.02' }],
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

/** Each server's weight as HAProxy's admin socket says it: `1 (initial 1)`. */
async function weights(): Promise<string[]> {
  const input = NODES.map((n) => `get weight app/${n}`).join(';');
  const { stdout } = await run('sh', ['-c', `echo '${input}' | socat stdio unix-connect:${sb.haproxy.socket}`]);
  return stdout.split('\n').filter(Boolean);
}

/** Reads `read` every 100 ms while `work` runs: every distinct value seen. */
async function watching<T>(read: () => Promise<string>, work: () => Promise<T>): Promise<[T, Set<string>]> {
  const seen = new Set<string>();
  let going = true;
  const loop = (async () => {
    while (going) {
      seen.add(await read().catch((error: Error) => `error: ${error.message}`));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    return [await work(), seen];
  } finally {
    going = false;
    await loop;
  }
}

const NORMAL = ['1 (initial 1)', '1 (initial 1)', '1 (initial 1)', '1 (initial 1)'];
const releaseOf = (version: string) => (current: string | undefined) => current?.includes(`_${version}_`);
const haproxyWeights = async () => (await weights()).map((w) => w.split(' ')[0]).join(' ');

describe('traffic steps of the canary', () => {
  it('the first release goes out with --skip-analysis (nothing to compare yet)', async () => {
    const result = await project.deploy(['prod', 'v1.0.0', '--skip-analysis', '--reason', 'first release']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(/traffic step/);
    expect(await weights()).toEqual(NORMAL);
  }, 60_000);

  it('a release answering 5% of requests with 500 is stopped at 10% of the traffic and rolled back', async () => {
    load = collectAnswers(sb.lbPort);
    project.tag('v1.3.0', (repo) => fs.writeFileSync(path.join(repo, 'faults.json'), '{ "errorRate": 0.05 }\n'));
    const [result, seen] = await watching(haproxyWeights, () => project.deploy(['prod', 'v1.3.0']));
    expect(result.code, result.stdout).toBe(1);
    expect(result.stdout).toMatch(/traffic step 1\/2: 10% to node1 \(weight 1 against 3 on 3 other node\(s\): 10%\)/);
    expect(result.stdout).not.toMatch(/traffic step 2\/2/);
    expect(result.stderr).toMatch(/analysis of node1 failed .*error-ratio 0\.\d+ \(< 0\.02\): FAILED/);
    expect(result.stderr).toMatch(/Rolled back node1 to the release each ran before/);
    // HAProxy was told 1 against 3 during the step, and has the weights from before again.
    expect(seen).toContain('1 3 3 3');
    expect(seen).not.toContain('3 1 1 1');
    expect(await weights()).toEqual(NORMAL);
    expect(sb.nodes.every((n) => releaseOf('v1.0.0')(project.current(n.name)))).toBe(true);
    // What users saw: a 500 only from the bad release (the canary's share), none lost, none from the others.
    const errors = load.answers.filter((a) => a.status !== 200);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((a) => a.status === 500 && /failing on purpose .* in hello_prod_v1\.3\.0_/.test(a.body))).toBe(
      true,
    );
    expect(load.failures).toEqual([]);
  }, 120_000);

  it('a good release goes through every step, then to every node, with the weights back', async () => {
    const [result, seen] = await watching(haproxyWeights, () => project.deploy(['prod', 'v1.1.0']));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/traffic step 1\/2: 10% to node1/);
    expect(result.stdout).toMatch(/traffic step 2\/2: 50% to node1 \(weight 3 against 1 on 3 other node\(s\): 50%\)/);
    expect(result.stdout.match(/analysis passed on node1: [01] of 3 measurement\(s\) failed/g)).toHaveLength(2);
    expect(seen).toContain('1 3 3 3');
    expect(seen).toContain('3 1 1 1');
    expect(await weights()).toEqual(NORMAL);
    expect(sb.nodes.every((n) => releaseOf('v1.1.0')(project.current(n.name)))).toBe(true);
    const passed = project.journal('node1').filter((e) => e.event === 'analysis_passed');
    expect(passed.map((e) => e.version)).toEqual(['v1.1.0', 'v1.1.0']);
    expect(load!.answers.filter((a) => a.status !== 200).every((a) => a.body.includes('_v1.3.0_'))).toBe(true);
    expect(load!.failures).toEqual([]);
  }, 120_000);

  it('Ctrl-C during a step: the weights go back, the canary goes back, exit 130', async () => {
    const [done, seen] = await watching(haproxyWeights, () =>
      startUntil(project, ['prod', 'v1.2.0'], /traffic step 2\/2/, (child) => child.kill('SIGINT')),
    );
    expect(done.acted).toBe(true);
    expect(done.code, done.stdout).toBe(130);
    expect(done.stderr).toMatch(/interrupted by SIGINT/);
    expect(seen).toContain('1 3 3 3');
    expect(await weights()).toEqual(NORMAL);
    expect(sb.nodes.every((n) => releaseOf('v1.1.0')(project.current(n.name)))).toBe(true);
    expect(project.journal('node1').at(-1)).toMatchObject({ event: 'run_finished', result: 'interrupted' });
    await load!.stop();
    expect(load!.failures).toEqual([]);
  }, 120_000);

  it('nginx: the weights are written in its upstream file during each step, and the file is restored', async () => {
    const inventory = path.join(project.dir, 'hosts', 'prod.yaml');
    const nginx = [
      'lb:',
      '  driver: nginx',
      `  upstreamFile: ${sb.nginx.upstream}`,
      `  prefix: ${sb.nginx.prefix}`,
      `  config: ${sb.nginx.config}`,
      `  pidFile: ${sb.nginx.prefix}/nginx.pid`,
    ].join('\n');
    const haproxyLb = ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, '  backend: app'].join('\n');
    fs.writeFileSync(inventory, fs.readFileSync(inventory, 'utf8').replace(haproxyLb, nginx));
    const original = fs.readFileSync(sb.nginx.upstream, 'utf8');
    load = collectAnswers(sb.nginx.port);
    const weightsIn = async () =>
      [...fs.readFileSync(sb.nginx.upstream, 'utf8').matchAll(/weight=(\d+)/g)].map((m) => m[1]).join(' ');
    const [result, seen] = await watching(weightsIn, () => project.deploy(['prod', 'v1.2.0']));
    await load.stop();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/traffic step 2\/2: 50% to node1 \(weight 3 against 1 on 3 other node\(s\): 50%\)/);
    expect(seen).toContain('1 3 3 3');
    expect(seen).toContain('3 1 1 1');
    expect(fs.readFileSync(sb.nginx.upstream, 'utf8')).toBe(original);
    expect(sb.nodes.every((n) => releaseOf('v1.2.0')(project.current(n.name)))).toBe(true);
    expect(load.failures).toEqual([]);
    expect(load.answers.every((a) => a.status === 200)).toBe(true);
  }, 120_000);
});
