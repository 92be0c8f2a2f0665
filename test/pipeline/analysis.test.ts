// The analysis stage of a deploy through the real pipeline (recording transport), with Prometheus' answers
// handed in through RunDeps' `prometheus` seam: it holds the rollout after the canary, fails it as a smoke
// test does (every switched node back on its release), is journaled, skipped with a reason, and interrupted.
import { describe, expect, it } from 'vitest';
import { hintOf } from '../../src/app/phrase.js';
import { EXIT, RelinkError } from '../../src/errors.js';
import type { RunDeps } from '../../src/pipeline/context.js';
import { formatPlan } from '../../src/pipeline/phases/plan.js';
import { deploy, planDeploy } from '../../src/pipeline/run.js';
import { fakeRun, type FakeOptions, OLD, relinks, journaled } from '../helpers/fake-run.js';

const NEW = 'hello_prod_v1.1.0_main_20261121-170000_ana';
const ERRORS =
  'sum(rate(http_requests_total{node=~"{{ nodes.names }}",status=~"5..",release="{{ release }}"}[1m])) / ' +
  'sum(rate(http_requests_total{node=~"{{ nodes.names }}"}[1m]))';

const analysis = (more: Record<string, unknown> = {}) => ({
  prometheus: { url: 'http://prometheus.test:9090' },
  intervalMs: 5000,
  count: 3,
  queries: [
    { name: 'error-ratio', query: ERRORS, condition: '< 0.01' },
    { name: 'p99', query: 'p99{node=~"{{ nodes.names }}"}', baseline: { maxRatio: 1.5, margin: 0.01 } },
  ],
  ...more,
});

type Asked = { promql: string; relinked: string[] };

/** A run whose Prometheus answers `answer(promql, call)`; every query asked, with the nodes switched by then. */
function analysed(answer: (promql: string, call: number) => number[], options: FakeOptions = {}) {
  const run = fakeRun({ ...options, config: { analysis: analysis(), ...options.config } });
  const asked: Asked[] = [];
  const prometheus: RunDeps['prometheus'] = async (server, promql) => {
    expect(server.url).toBe('http://prometheus.test:9090');
    const relinked = run.transport.log
      .filter((r) => r.kind === 'exec' && r.command.includes('mv -Tf') && r.command.includes('v1.1.0'))
      .map((r) => r.node);
    asked.push({ promql, relinked });
    return answer(promql, asked.length);
  };
  const deps: RunDeps = { ...run.deps, prometheus };
  return { ...run, deps, asked };
}

const canary = (promql: string) => promql.includes('node=~"node1"');

describe('the analysis of a deploy', () => {
  it('measures the canary against the baseline while the rest waits, then the release goes on', async () => {
    const run = analysed((promql) => (promql.startsWith('p99') ? [canary(promql) ? 0.2 : 0.18] : [0.001]));
    const outcome = await deploy(run.request, run.deps, run.source);
    expect(outcome.nodes).toEqual(['node1', 'node2', 'node3', 'node4']);
    // 3 measurements × (error-ratio on the canary, p99 on the canary and the baseline), all with only node1 switched.
    expect(run.asked).toHaveLength(9);
    for (const a of run.asked) expect(a.relinked).toEqual(['node1']);
    // The templates: the canary's nodes and the new release; the baseline's nodes (and its own release).
    expect(run.asked[0]!.promql).toBe(
      `sum(rate(http_requests_total{node=~"node1",status=~"5..",release="${NEW}"}[1m])) / ` +
        'sum(rate(http_requests_total{node=~"node1"}[1m]))',
    );
    expect(run.asked.map((a) => a.promql)).toContain('p99{node=~"node2|node3|node4"}');
    expect(relinks(run).map((r) => r.split(':')[0])).toEqual(['node1', 'node2', 'node3', 'node4']);
    const passed = journaled(run, 'analysis_passed');
    expect(passed.map((p) => p.node)).toEqual(['node1']);
    expect(passed[0]!.line.analysis).toEqual([
      { query: 'error-ratio', canary: 0.001, condition: '< 0.01', ok: true },
      { query: 'p99', canary: 0.2, baseline: 0.18, allowed: 0.18 * 1.5 + 0.01, ok: true },
    ]);
    expect(run.events).toContainEqual({
      type: 'info',
      message: 'analysis passed on node1: 0 of 3 measurement(s) failed, 0 tolerated',
    });
  });

  it('a failed analysis on the canary rolls back what switched; the error names the query and its value', async () => {
    const run = analysed((promql) => (promql.startsWith('p99') ? [0.1] : canary(promql) ? [0.0523] : [0]));
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelinkError);
    expect((error as RelinkError).exitCode).toBe(EXIT.failed);
    expect((error as Error).message).toBe(
      'analysis of node1 failed (1 of 1 measurement(s) failed, 0 tolerated): error-ratio 0.0523 (< 0.01): ' +
        'FAILED, 0.0523 is not < 0.01. Rolled back node1 to the release each ran before.',
    );
    expect(hintOf(error as RelinkError)).toBe(
      'fix the cause, tag a new version and deploy it; the queries now: deploy analyze prod',
    );
    // The first failed measurement ends it: node1 goes back, no other node ever switched.
    expect(run.asked).toHaveLength(3);
    expect(relinks(run)).toEqual(['node1:hello_prod_v1.1.0', 'node1:hello_prod_v1.0.0']);
    const failed = journaled(run, 'analysis_failed');
    expect(failed.map((f) => f.node)).toEqual(['node1']);
    expect(failed[0]!.line.reason).toMatch(/error-ratio 0\.0523 \(< 0\.01\): FAILED/);
    expect(journaled(run, 'rolled_back').map((r) => r.line.release)).toEqual([OLD]);
    expect(journaled(run, 'run_finished').every((r) => r.line.result === 'rolled_back')).toBe(true);
  });

  it('tolerates failureLimit failed measurements; a stage after group 2 rolls back both groups', async () => {
    const run = analysed(
      (promql, call) => {
        if (promql.startsWith('p99')) return [0.1];
        // The canary's second measurement fails (tolerated); after group 2, no data (noData: fail).
        if (canary(promql)) return call === 4 ? [0.5] : [0];
        return [];
      },
      { config: { analysis: analysis({ failureLimit: 1, afterGroups: [2] }) } },
    );
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as RelinkError).exitCode).toBe(EXIT.failed);
    expect((error as Error).message).toMatch(/^analysis of node1, node2 failed \(2 of 2 measurement\(s\) failed, /);
    expect((error as Error).message).toMatch(/error-ratio no data \(< 0\.01\): FAILED, no data for the canary/);
    expect((error as Error).message).toMatch(/Rolled back node1, node2 to the release each ran before/);
    expect(run.asked.filter((a) => a.relinked.length === 2).map((a) => a.promql)).toContain('p99{node=~"node1|node2"}');
    expect(
      relinks(run)
        .filter((r) => r.endsWith('v1.0.0'))
        .sort(),
    ).toEqual(['node1:hello_prod_v1.0.0', 'node2:hello_prod_v1.0.0']);
    expect(journaled(run, 'analysis_passed').map((p) => p.node)).toEqual(['node1']);
    expect(journaled(run, 'analysis_failed').map((p) => p.node)).toEqual(['node1', 'node2']);
  });

  it('a first release (no node runs anything yet) is judged by the bounds alone: no baseline to compare', async () => {
    const run = analysed((promql) => (promql.startsWith('p99') ? [0.2] : [0]), { cold: true });
    const outcome = await deploy(run.request, run.deps, run.source);
    expect(outcome.nodes).toHaveLength(4);
    expect(run.asked.map((a) => a.promql).filter((q) => q.startsWith('p99'))).toEqual([
      'p99{node=~"node1"}',
      'p99{node=~"node1"}',
      'p99{node=~"node1"}',
    ]);
    expect(run.events).toContainEqual({ type: 'phase', phase: 'analysis (canary: node1; baseline none; 3 × 5s)' });
  });

  it('a query Prometheus refuses counts as a failed measurement, with its reason', async () => {
    const run = analysed(() => {
      throw new Error('Prometheus refused the query (bad_data): parse error');
    });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/error-ratio no data \(< 0\.01\): FAILED, Prometheus refused the query/);
    expect(relinks(run)).toEqual(['node1:hello_prod_v1.1.0', 'node1:hello_prod_v1.0.0']);
  });

  it('--skip-analysis --reason releases without asking Prometheus, and journals who skipped it and why', async () => {
    const run = analysed(() => [1]);
    const outcome = await deploy(
      { ...run.request, skipAnalysis: true, reason: 'prometheus is down' },
      run.deps,
      run.source,
    );
    expect(outcome.nodes).toHaveLength(4);
    expect(run.asked).toEqual([]);
    const finished = journaled(run, 'run_finished');
    expect(finished).toHaveLength(4);
    for (const f of finished) {
      expect(f.line).toMatchObject({
        result: 'success',
        analysisSkipped: true,
        reason: 'prometheus is down',
        user: 'ana',
      });
    }
    expect(run.events).toContainEqual({
      type: 'warn',
      message: 'the analysis is skipped with --skip-analysis: prometheus is down',
    });
    // Without a reason: bad input, nothing done.
    const bare = analysed(() => [1]);
    const refused = await deploy({ ...bare.request, skipAnalysis: true }, bare.deps, bare.source).catch((e) => e);
    expect((refused as RelinkError).exitCode).toBe(EXIT.usage);
    expect(bare.transport.log.some((r) => r.kind === 'upload')).toBe(false);
  });

  it('an interrupt while the analysis waits ends it at once and undoes the canary (exit 130)', async () => {
    const controller = new AbortController();
    const run = analysed(() => [0], { signal: controller.signal });
    const waits: number[] = [];
    const deps: RunDeps = {
      ...run.deps,
      // The analysis' wait never ends by itself: only the interrupt ends it.
      sleep: (ms) => {
        if (ms !== 5000) return Promise.resolve();
        waits.push(ms);
        setTimeout(() => controller.abort('SIGINT'), 5);
        return new Promise(() => undefined);
      },
    };
    const error = await deploy(run.request, deps, run.source).catch((e: unknown) => e);
    expect((error as RelinkError).exitCode).toBe(EXIT.interrupted);
    expect(waits).toEqual([5000]);
    expect(run.asked).toEqual([]);
    expect(relinks(run)).toEqual(['node1:hello_prod_v1.1.0', 'node1:hello_prod_v1.0.0']);
    expect(journaled(run, 'run_finished').every((r) => r.line.result === 'interrupted')).toBe(true);
  });

  it('deploy plan lists the analysis stage and each query as it goes out', async () => {
    const run = analysed(() => [0], { config: { analysis: analysis({ afterGroups: [3] }) } });
    const plan = await planDeploy(run.request, run.deps, run.source);
    expect(plan.analysis).toEqual({
      prometheus: 'http://prometheus.test:9090',
      intervalMs: 5000,
      count: 3,
      failureLimit: 0,
      noData: 'fail',
      stages: [
        { afterGroup: 1, canary: ['node1'] },
        { afterGroup: 3, canary: ['node1', 'node2', 'node3'] },
      ],
      queries: [
        {
          name: 'error-ratio',
          condition: '< 0.01',
          promql: expect.stringContaining(`{node=~"node1",status=~"5..",release="${NEW}"}`),
        },
        { name: 'p99', baseline: '<= baseline * 1.5 + 0.01', promql: 'p99{node=~"node1"}' },
      ],
    });
    expect(run.asked).toEqual([]);
    const text = formatPlan(plan);
    expect(text).toContain('  analysis: http://prometheus.test:9090, 3 × 5s, 0 failure(s) tolerated, no data: fail');
    expect(text).toContain('    after group 3: node1, node2, node3 against the nodes not yet switched');
    expect(text).toContain('    p99             <= baseline * 1.5 + 0.01: p99{node=~"node1"}');
  });
});
