// Rolling groups that overlap: the next group drains, relinks and restarts while the one before is smoke-tested
// and put back, only when minServing allows it at that moment, never across the pre node; it serves only once
// both smoke tests passed; a failure while two groups are out ends with every node back on its release and in
// the pool.
import { describe, expect, it } from 'vitest';
import { validateInventory } from '../../src/config/validate.js';
import type { NodeSpec } from '../../src/inventory/types.js';
import type { LbDriver, ServerState } from '../../src/lb/types.js';
import { rollback } from '../../src/pipeline/rollback.js';
import { EXIT, type RelinkError } from '../../src/errors.js';
import { deploy } from '../../src/pipeline/run.js';
import { SECTION } from '../../src/remote/inspect.js';
import { fakeRun, journalLine, label } from '../helpers/fake-run.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A load balancer that takes a few ms per call and writes a timeline: each call, with how many serve then. */
class TimedLb implements LbDriver {
  readonly kind = 'haproxy' as const;
  readonly timeline: string[] = [];
  readonly admin = new Map<string, ServerState['admin']>();
  /** The fewest nodes serving seen while any drain went on. */
  fewest = Number.POSITIVE_INFINITY;
  constructor(
    private readonly names: readonly string[],
    private readonly failServing?: string,
  ) {}
  private serving() {
    return this.names.filter((n) => (this.admin.get(n) ?? 'ready') === 'ready').length;
  }
  async states(nodes: readonly NodeSpec[]) {
    return new Map(nodes.map((n) => [n.name, { admin: this.admin.get(n.name) ?? 'ready', up: true } as ServerState]));
  }
  async drain(node: NodeSpec) {
    this.admin.set(node.name, 'drain');
    this.fewest = Math.min(this.fewest, this.serving());
    this.timeline.push(`drain ${node.name} (serving ${this.serving()})`);
    await tick(2);
  }
  async waitDrained(node: NodeSpec) {
    await tick(2);
    this.timeline.push(`drained ${node.name}`);
    return true;
  }
  async undrain(node: NodeSpec, to: ServerState['admin'] = 'ready') {
    await tick(2);
    this.admin.set(node.name, to);
    this.timeline.push(`undrain ${node.name}`);
  }
  async waitServing(node: NodeSpec) {
    await tick(2);
    if (node.name === this.failServing) throw new Error(`${node.name}: HAProxy does not report it UP`);
    this.timeline.push(`serving ${node.name}`);
  }
  async restore() {}
}

const NODES = ['node1', 'node2', 'node3', 'node4'];

/** Four nodes behind the load balancer, one per group after the pre node; each smoke test takes 30 ms. */
function overlapped(options: {
  minServing?: number;
  failServing?: string;
  unhealthy?: string;
  state?: string;
  onFailure?: 'halt';
  /** Called with each command a node is sent (an interrupt mid-overlap). */
  onCommand?: (node: string, command: string) => void;
  signal?: AbortSignal;
}) {
  const lb = new TimedLb(NODES, options.failServing);
  const state = options.state;
  const run = fakeRun({
    groupSize: 1,
    onFailure: options.onFailure,
    onCommand: options.onCommand,
    signal: options.signal,
    unhealthy: (node) => node === options.unhealthy,
    answer: (_node, command) =>
      state && command.includes('readlink /srv/app/current') ? { stdout: state } : undefined,
  });
  const { env: _env, file: _file, ...plain } = run.request.inventory;
  const spec = { driver: 'haproxy', socket: '/run/h.sock', backend: 'app', minServing: options.minServing ?? 2 };
  const inventory = validateInventory({ ...plain, lb: spec }, 'prod', 'hosts/prod.yaml');
  const probe = run.deps.probe;
  const deps = {
    ...run.deps,
    lb,
    probe: async (url: string, t: number) => {
      await tick(30);
      return probe(url, t);
    },
  };
  return { ...run, lb, deps, request: { ...run.request, inventory } };
}

const at = (timeline: readonly string[], entry: string) => {
  const i = timeline.findIndex((e) => e.startsWith(entry));
  expect(i, `${entry} in ${timeline.join(', ')}`).toBeGreaterThanOrEqual(0);
  return i;
};
/** Where a node's step (with that status, if given) first shows in the run's events. */
const stepAt = (run: ReturnType<typeof fakeRun>, step: string, node: string, status?: string) => {
  const i = run.events.findIndex(
    (e) => e.type === 'step' && e.step === step && e.node === node && (!status || e.status === status),
  );
  expect(i, `${node} ${step} ${status ?? ''}`).toBeGreaterThanOrEqual(0);
  return i;
};
const infos = (run: ReturnType<typeof fakeRun>) => run.events.flatMap((e) => (e.type === 'info' ? [e.message] : []));

// The nodes ran v1.0.0 (proven) and run v1.1.0 now.
const [r0, r1] = ['hello_prod_v1.0.0_main_20261101-120000_ana', 'hello_prod_v1.1.0_main_20261110-120000_ana'];
const journal = [
  journalLine('a', 'activated', r0, 'v1.0.0', '2026-11-01T12:00:00Z'),
  journalLine('a', 'smoke_ok', r0, 'v1.0.0', '2026-11-01T12:00:01Z'),
  journalLine('b', 'activated', r1, 'v1.1.0', '2026-11-10T12:00:00Z'),
  journalLine('b', 'smoke_ok', r1, 'v1.1.0', '2026-11-10T12:00:01Z'),
].join('\n');
const state = `releases/${r1}\n${SECTION}\n${r0}\n${r1}\n${SECTION}\n${SECTION}\n${journal}\n`;

describe('groups that overlap', () => {
  it("drains the next group while the one before is smoke-tested; the pre node's group is a hard boundary", async () => {
    const run = overlapped({});
    await deploy(run.request, run.deps, run.source);
    const t = run.lb.timeline;
    // The pre node fully passed (back and serving) before any other node was drained.
    expect(at(t, 'serving node1')).toBeLessThan(at(t, 'drain node2'));
    // node3 drained before node2 was put back, node4 before node3 was.
    expect(at(t, 'drain node3')).toBeLessThan(at(t, 'undrain node2'));
    expect(at(t, 'drain node4')).toBeLessThan(at(t, 'undrain node3'));
    // Never below minServing (2 of 4): at most two nodes out at once.
    expect(run.lb.fewest).toBe(2);
    // The pre node passed its smoke test before any other node relinked.
    expect(stepAt(run, 'rollout:smoke', 'node1', 'ok')).toBeLessThan(stepAt(run, 'rollout:relink', 'node2'));
    // A group relinks and restarts while the one before is still being smoke-tested...
    expect(stepAt(run, 'rollout:relink', 'node3', 'ok')).toBeLessThan(stepAt(run, 'rollout:smoke', 'node2', 'ok'));
    expect(stepAt(run, 'rollout:restart', 'node3', 'ok')).toBeLessThan(stepAt(run, 'rollout:smoke', 'node2', 'ok'));
    // ...but serves only once that one and its own smoke test passed.
    for (const [before, node] of [
      ['node2', 'node3'],
      ['node3', 'node4'],
    ] as const) {
      expect(stepAt(run, 'rollout:smoke', before, 'ok')).toBeLessThan(stepAt(run, 'rollout:undrain', node));
      expect(stepAt(run, 'rollout:smoke', node, 'ok')).toBeLessThan(stepAt(run, 'rollout:undrain', node));
    }
    expect(infos(run)).toEqual(
      expect.arrayContaining([
        'group 1/4: node1',
        'group 2/4: node2',
        "group 3/4: node3 (drain, relink and restart overlap group 2's smoke test)",
        "group 4/4: node4 (drain, relink and restart overlap group 3's smoke test)",
      ]),
    );
    expect([...run.lb.admin.values()].every((a) => a === 'ready')).toBe(true);
  });

  it('waits instead when minServing does not allow two groups out at once', async () => {
    const run = overlapped({ minServing: 3 });
    await deploy(run.request, run.deps, run.source);
    const t = run.lb.timeline;
    expect(at(t, 'serving node2')).toBeLessThan(at(t, 'drain node3'));
    expect(at(t, 'serving node3')).toBeLessThan(at(t, 'drain node4'));
    expect(run.lb.fewest).toBe(3);
    expect(infos(run).filter((m) => m.includes('overlaps'))).toEqual([]);
  });

  it('relink and restart go in one round trip per node, recorded as the two commands the shell runs', async () => {
    const run = overlapped({});
    await deploy(run.request, run.deps, run.source);
    for (const node of NODES) {
      const log = run.transport.log.filter((r) => r.node === node && r.kind === 'exec');
      const relink = log.find((r) => label(r.command).startsWith('relink:hello_prod_v1.1.0'))!;
      const restart = log.find((r) => label(r.command) === 'restart')!;
      expect(restart.trip, node).toBe(relink.trip);
      expect(log.filter((r) => r.trip === relink.trip)).toHaveLength(2);
    }
  });

  it("group 3's smoke test fails after group 4 switched ahead: both back on their release and in the pool", async () => {
    const run = overlapped({ unhealthy: 'node3' });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    const message = (error as Error).message;
    expect(message).toMatch(/^node3: smoke test failed/);
    expect(message).toMatch(/Rolled back node1, node2, node3, node4 to the release each ran before\./);
    // node4 switched while node3 was smoke-tested, never served the new release, and went back with the others.
    expect(stepAt(run, 'rollout:relink', 'node4', 'ok')).toBeLessThan(stepAt(run, 'rollout:smoke', 'node3', 'fail'));
    expect(run.events.some((e) => e.type === 'step' && e.step === 'rollout:undrain' && e.node === 'node4')).toBe(false);
    for (const node of ['node1', 'node2', 'node3', 'node4']) {
      const relinks = run.transport
        .commandsFor(node)
        .map(label)
        .filter((l) => l.startsWith('relink'));
      expect(relinks.at(-1), node).toBe('relink:hello_prod_v1.0.0+journal:rolled_back');
    }
    expect([...run.lb.admin.values()].every((a) => a === 'ready')).toBe(true);
  });

  it('with onFailure halt, a smoke failure while the next group switched ahead: nothing further, each named', async () => {
    const run = overlapped({ unhealthy: 'node3', onFailure: 'halt' });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    const message = (error as Error).message;
    expect(message).toMatch(/^node3: smoke test failed/);
    expect(message).toMatch(
      /Halted as configured: node1, node2, node3, node4 stay on hello_prod_v1\.1\.0\S* for inspection\. node3, node4 stay out of the load balancer\./,
    );
    const relinks = NODES.flatMap((n) => run.transport.commandsFor(n).map(label)).filter((l) => l.startsWith('relink'));
    expect(relinks).toEqual(Array(4).fill('relink:hello_prod_v1.1.0+journal:activated'));
    expect(run.lb.admin.get('node3')).toBe('drain');
    expect(run.lb.admin.get('node4')).toBe('drain');
  });

  it('the pre node fails its smoke test: no other node is drained or switched', async () => {
    const run = overlapped({ unhealthy: 'node1' });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^node1: smoke test failed/);
    expect(run.lb.timeline.filter((e) => e.startsWith('drain') && !e.includes('node1'))).toEqual([]);
    for (const node of ['node2', 'node3', 'node4'])
      expect(
        run.transport.commandsFor(node).some((c) => label(c).startsWith('relink')),
        node,
      ).toBe(false);
  });

  it('an interrupt while group 3 restarts during group 2 smoke test: every node back on its release, serving', async () => {
    const controller = new AbortController();
    let node2Smoking = false;
    const run = overlapped({
      signal: controller.signal,
      onCommand: (node, command) => {
        if (node === 'node3' && command.includes('restart.sh')) {
          node2Smoking = run.events.some((e) => e.type === 'step' && e.step === 'rollout:smoke' && e.node === 'node2');
          controller.abort('SIGINT');
        }
      },
    });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as RelinkError).exitCode).toBe(EXIT.interrupted);
    expect(node2Smoking).toBe(true);
    for (const node of ['node1', 'node2', 'node3']) {
      const relinks = run.transport
        .commandsFor(node)
        .map(label)
        .filter((l) => l.startsWith('relink'));
      expect(relinks.at(-1), node).toBe('relink:hello_prod_v1.0.0+journal:rolled_back');
    }
    expect(run.transport.commandsFor('node4').some((c) => label(c).startsWith('relink'))).toBe(false);
    expect([...run.lb.admin.values()].every((a) => a === 'ready')).toBe(true);
  });

  it('group 2 does not come back into the pool while group 3 switches: group 3 is rolled back too', async () => {
    const run = overlapped({ failServing: 'node2' });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^node2: HAProxy does not report it UP/);
    // node3 switched while node2 was being put back, and went back with the others; node4 was never touched.
    for (const node of ['node1', 'node2', 'node3']) {
      const relinks = run.transport
        .commandsFor(node)
        .map(label)
        .filter((l) => l.startsWith('relink'));
      expect(relinks, node).toEqual(['relink:hello_prod_v1.1.0+journal:activated', expect.stringMatching(/v1\.0\.0/)]);
    }
    expect(
      run.transport
        .commandsFor('node4')
        .map(label)
        .filter((l) => l.startsWith('relink')),
    ).toEqual([]);
    expect([...run.lb.admin.values()].every((a) => a === 'ready')).toBe(true);
  });

  it('rollback --last takes the same path: it overlaps too, never below minServing', async () => {
    const run = overlapped({ state });
    await rollback({ ...run.request, target: { kind: 'last' } }, run.deps);
    for (const node of NODES)
      expect(run.transport.commandsFor(node).some((c) => c.includes(`releases/${r0}`))).toBe(true);
    const t = run.lb.timeline;
    expect(at(t, 'serving node1')).toBeLessThan(at(t, 'drain node2'));
    expect(at(t, 'drain node3')).toBeLessThan(at(t, 'undrain node2'));
    expect(run.lb.fewest).toBe(2);
    expect([...run.lb.admin.values()].every((a) => a === 'ready')).toBe(true);
  });

  it('a rollback whose group 2 does not come back while group 3 switched: both put back, only node4 untouched', async () => {
    const run = overlapped({ state, failServing: 'node2' });
    const error = await rollback({ ...run.request, target: { kind: 'last' } }, run.deps).catch((e: unknown) => e);
    const message = (error as Error).message;
    expect(message).toMatch(/^rollback stopped: node2: HAProxy does not report it UP/);
    // node2 never reports UP here, on its way back either; node3, switched meanwhile, went back with it.
    expect(message).toMatch(/Put back node1, node2, node3, but 1 node\(s\) did not come back cleanly: node2: /);
    expect(message).toMatch(/\. node4 were not touched\./);
    expect([...run.lb.admin.values()].every((a) => a === 'ready')).toBe(true);
  });
});
