// The canary's traffic steps (analysis.steps) through the real pipeline: a load balancer that records what it
// is told, Prometheus' answers handed in through RunDeps' seam. Each step sets the weights, then measures; the
// weights go back after the last step, after a failed analysis, after an interrupt; a driver that cannot
// weight is refused before anything changes.
import { describe, expect, it } from 'vitest';
import { validateInventory } from '../../src/config/validate.js';
import { EXIT, RelinkError } from '../../src/errors.js';
import type { NodeSpec } from '../../src/inventory/types.js';
import type { LbDriver, NodeWeight, ServerState } from '../../src/lb/types.js';
import type { RunDeps } from '../../src/pipeline/context.js';
import { formatPlan } from '../../src/pipeline/phases/plan.js';
import { deploy, planDeploy } from '../../src/pipeline/run.js';
import { fakeRun, type FakeOptions } from '../helpers/fake-run.js';

/** A load balancer that weights its servers and says, in one log with the queries, what it was told. */
class WeightingLb implements LbDriver {
  readonly kind = 'haproxy' as const;
  readonly admin = new Map<string, ServerState['admin']>();
  readonly weight = new Map<string, number>();
  private readonly normal = new Map<string, number>();
  constructor(readonly log: string[]) {}
  async states(nodes: readonly NodeSpec[]) {
    return new Map(nodes.map((n) => [n.name, { admin: this.admin.get(n.name) ?? 'ready', up: true } as ServerState]));
  }
  async drain(node: NodeSpec) {
    this.log.push(`drain ${node.name}`);
    this.admin.set(node.name, 'drain');
  }
  async waitDrained() {
    return true;
  }
  async undrain(node: NodeSpec, to: ServerState['admin'] = 'ready') {
    this.log.push(`undrain ${node.name}`);
    this.admin.set(node.name, to);
  }
  async waitServing() {}
  async weigh(weights: readonly NodeWeight[]) {
    for (const { node } of weights) if (!this.normal.has(node.name)) this.normal.set(node.name, 1);
    for (const { node, weight } of weights) this.weight.set(node.name, weight);
    this.log.push(`weights ${weights.map((w) => `${w.node.name}=${w.weight}`).join(' ')}`);
  }
  async restoreWeights() {
    if (this.normal.size === 0) return;
    for (const [name, weight] of this.normal) this.weight.set(name, weight);
    this.normal.clear();
    this.log.push('weights back');
  }
  async restore() {
    await this.restoreWeights();
    this.log.push('restore');
  }
}

const analysis = (more: Record<string, unknown> = {}) => ({
  prometheus: { url: 'http://prometheus.test:9090' },
  intervalMs: 5000,
  count: 2,
  steps: [5, 25, 50],
  queries: [{ name: 'errors', query: 'errors{node=~"{{ nodes.names }}"}', condition: '< 0.01' }],
  ...more,
});

/** A deploy over 4 nodes (node1 the pre node, in the pool) behind `lb`, whose Prometheus answers `answer`. */
function stepped(answer: (promql: string, call: number) => number[], options: FakeOptions = {}, lbSection?: object) {
  const log: string[] = [];
  const lb = new WeightingLb(log);
  const run = fakeRun({ ...options, config: { analysis: analysis(), ...options.config } });
  const { env: _env, file: _file, ...plain } = run.request.inventory;
  const section = lbSection ?? { driver: 'haproxy', socket: '/run/h.sock', backend: 'app' };
  const inventory = validateInventory({ ...plain, lb: section }, 'prod', 'hosts/prod.yaml');
  let calls = 0;
  const prometheus: RunDeps['prometheus'] = async (_server, promql) => {
    log.push(`query ${promql}`);
    return answer(promql, ++calls);
  };
  const deps: RunDeps = { ...run.deps, lb, prometheus };
  return { ...run, request: { ...run.request, inventory }, deps, lb, log };
}

const canary = 'query errors{node=~"node1"}';
const relinked = (run: ReturnType<typeof fakeRun>) =>
  run.transport.log
    .filter((r) => r.kind === 'exec' && r.command.includes('mv -Tf'))
    .map((r) => `${r.node}:${r.command.match(/releases\/hello_prod_(v[\d.]+)/)?.[1]}`);

describe('traffic steps of the canary', () => {
  it('sets the weights of each step, measures it, and puts the weights back before the next group', async () => {
    const run = stepped(() => [0]);
    await deploy(run.request, run.deps, run.source);
    const others = (w: number) => `node2=${w} node3=${w} node4=${w}`;
    // 1 canary against 3 others: 5% is 3 against 19, 25% is 1 against 1, 50% is 3 against 1.
    expect(run.log.slice(0, 13)).toEqual([
      'drain node1',
      'undrain node1',
      `weights node1=3 ${others(19)}`,
      canary,
      canary,
      `weights node1=1 ${others(1)}`,
      canary,
      canary,
      `weights node1=3 ${others(1)}`,
      canary,
      canary,
      'weights back',
      'drain node2',
    ]);
    expect(run.log.at(-1)).toBe('restore');
    expect(run.log.filter((l) => l === 'weights back')).toHaveLength(1);
    expect([...run.lb.weight.values()]).toEqual([1, 1, 1, 1]);
    const phases = run.events.flatMap((e) => (e.type === 'phase' ? [e.phase] : []));
    expect(phases).toContain('traffic step 1/3: 5% to node1 (weight 3 against 19 on 3 other node(s): 5%)');
    expect(phases).toContain('analysis (canary at 25%: node1; baseline node2, node3, node4; 2 × 5s)');
    expect(relinked(run)).toEqual(['node1:v1.1.0', 'node2:v1.1.0', 'node3:v1.1.0', 'node4:v1.1.0']);
  });

  it('a failed analysis at step 2 puts the weights back, then rolls the canary back', async () => {
    const run = stepped((_promql, call) => (call === 3 ? [0.05] : [0]));
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as RelinkError).exitCode).toBe(EXIT.failed);
    expect((error as Error).message).toMatch(/^analysis of node1 failed .*errors 0\.05 \(< 0\.01\): FAILED/);
    expect((error as Error).message).toMatch(/Rolled back node1 to the release each ran before/);
    const at = run.log.indexOf('weights back');
    expect(run.log.slice(at - 2, at + 2)).toEqual([
      `weights node1=1 node2=1 node3=1 node4=1`,
      canary,
      'weights back',
      'drain node1',
    ]);
    expect(run.log.filter((l) => l.startsWith('weights node1'))).toHaveLength(2);
    expect([...run.lb.weight.values()]).toEqual([1, 1, 1, 1]);
    expect(relinked(run)).toEqual(['node1:v1.1.0', 'node1:v1.0.0']);
  });

  it('an interrupt during a step puts the weights back (exit 130)', async () => {
    const controller = new AbortController();
    const run = stepped(() => [0], { signal: controller.signal });
    let waits = 0;
    const deps: RunDeps = {
      ...run.deps,
      // The second step's first wait never ends by itself: only the interrupt ends it.
      sleep: (ms) => {
        if (ms !== 5000 || ++waits < 3) return Promise.resolve();
        setTimeout(() => controller.abort('SIGINT'), 5);
        return new Promise(() => undefined);
      },
    };
    const error = await deploy(run.request, deps, run.source).catch((e: unknown) => e);
    expect((error as RelinkError).exitCode).toBe(EXIT.interrupted);
    expect(run.log.filter((l) => l.startsWith('weights node1'))).toEqual([
      'weights node1=3 node2=19 node3=19 node4=19',
      'weights node1=1 node2=1 node3=1 node4=1',
    ]);
    expect(run.log.indexOf('weights back')).toBeGreaterThan(
      run.log.lastIndexOf('weights node1=1 node2=1 node3=1 node4=1'),
    );
    expect(run.log.indexOf('weights back')).toBeLessThan(run.log.lastIndexOf('drain node1'));
    expect([...run.lb.weight.values()]).toEqual([1, 1, 1, 1]);
    expect(relinked(run)).toEqual(['node1:v1.1.0', 'node1:v1.0.0']);
  });

  it('weights that cannot be set fail the canary like a failed analysis; none is left changed', async () => {
    const run = stepped(() => [0]);
    run.lb.weigh = async (weights) => {
      await WeightingLb.prototype.weigh.call(run.lb, weights);
      if (weights[0]!.weight === 1) throw new RelinkError('HAProxy refused to set the weight of app/node1: no');
    };
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/HAProxy refused to set the weight of app\/node1/);
    expect([...run.lb.weight.values()]).toEqual([1, 1, 1, 1]);
    expect(relinked(run)).toEqual(['node1:v1.1.0', 'node1:v1.0.0']);
  });

  it('a load balancer that cannot weight (command, none) is refused before anything changes, exit 2', async () => {
    const command = { driver: 'command', drain: 'lb-out "$RELINK_NODE"', undrain: 'lb-in "$RELINK_NODE"' };
    for (const section of [command, { driver: 'none' }]) {
      const run = stepped(() => [0], {}, section);
      const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
      expect((error as RelinkError).exitCode).toBe(EXIT.usage);
      expect((error as Error).message).toBe(
        "analysis.steps (5%, 25%, 50%) gives the canary a share of the traffic through the load balancer's " +
          `weights, but lb.driver ${section.driver} cannot weight its servers. Nothing was changed on any node.`,
      );
      expect(String((error as RelinkError).hint)).toMatch(/use lb.driver haproxy or nginx .*or remove analysis.steps/);
      expect(run.transport.log).toEqual([]);
      const plan = await planDeploy(run.request, run.deps, run.source).catch((e: unknown) => e);
      expect((plan as RelinkError).exitCode).toBe(EXIT.usage);
    }
  });

  it('deploy plan shows each step with its weights', async () => {
    const run = stepped(() => [0], { config: { analysis: analysis({ steps: [10, 100] }) } });
    const plan = await planDeploy(run.request, run.deps, run.source);
    expect(plan.analysis?.steps).toEqual([
      { percent: 10, canaryWeight: 1, othersWeight: 3, share: 10 },
      { percent: 100, canaryWeight: 256, othersWeight: 1, share: (100 * 256) / 259 },
    ]);
    const text = formatPlan(plan);
    expect(text).toContain(
      '    traffic step 1/2: 10% to the canary (weight 1 against 3 on the others: 10%), then 2 measurement(s)',
    );
    expect(text).toContain('    traffic step 2/2: 100% to the canary (weight 256 against 1 on the others: 98.8%)');
    expect(run.log.filter((l) => l.startsWith('weights'))).toEqual([]);
  });
});
