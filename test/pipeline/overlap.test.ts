// Rolling groups that overlap: the next group drains while the one before is smoke-tested and put back, only
// when minServing allows it at that moment, never across the pre node; a failure while two groups are out
// ends with every node back on its release and in the pool.
import { describe, expect, it } from 'vitest';
import { validateInventory } from '../../src/config/validate.js';
import type { NodeSpec } from '../../src/inventory/types.js';
import type { LbDriver, ServerState } from '../../src/lb/types.js';
import { rollback } from '../../src/pipeline/rollback.js';
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
function overlapped(options: { minServing?: number; failServing?: string; unhealthy?: string; state?: string }) {
  const lb = new TimedLb(NODES, options.failServing);
  const state = options.state;
  const run = fakeRun({
    groupSize: 1,
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
    // A group switches only after the one before passed its smoke test.
    const smoked = (node: string) =>
      run.events.findIndex(
        (e) => e.type === 'step' && e.step === 'rollout:smoke' && e.node === node && e.status === 'ok',
      );
    const relinked = (node: string) =>
      run.events.findIndex((e) => e.type === 'step' && e.step === 'rollout:relink' && e.node === node);
    expect(smoked('node2')).toBeLessThan(relinked('node3'));
    expect(smoked('node3')).toBeLessThan(relinked('node4'));
    expect(infos(run)).toEqual(
      expect.arrayContaining([
        'group 1/4: node1',
        'group 2/4: node2',
        "group 3/4: node3 (drain overlaps group 2's smoke test and undrain)",
        "group 4/4: node4 (drain overlaps group 3's smoke test and undrain)",
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

  it("group 3's smoke test fails while group 4 is drained ahead: every node back on its release and in the pool", async () => {
    const run = overlapped({ unhealthy: 'node3' });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^node3: smoke test failed/);
    const t = run.lb.timeline;
    expect(at(t, 'drain node4')).toBeLessThan(at(t, 'undrain node4'));
    // node4 was drained ahead, never switched, and is back.
    expect(
      run.transport
        .commandsFor('node4')
        .map(label)
        .filter((l) => l.startsWith('relink')),
    ).toEqual([]);
    for (const node of ['node1', 'node2', 'node3']) {
      const relinks = run.transport
        .commandsFor(node)
        .map(label)
        .filter((l) => l.startsWith('relink'));
      expect(relinks.at(-1), node).toBe('relink:hello_prod_v1.0.0+journal:rolled_back');
    }
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
