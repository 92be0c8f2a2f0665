import { describe, expect, it } from 'vitest';
import type { NodeSpec } from '../../src/inventory/types.js';
import type { LbDriver, ServerState } from '../../src/lb/types.js';
import { validateInventory } from '../../src/config/validate.js';
import { deploy, planDeploy } from '../../src/pipeline/run.js';
import { fakeRun } from '../helpers/fake-run.js';

/** A load balancer that records calls and knows who is drained. */
class FakeLb implements LbDriver {
  readonly kind = 'haproxy' as const;
  readonly calls: string[] = [];
  readonly admin = new Map<string, ServerState['admin']>();
  constructor(private readonly failOn?: string) {}
  async states(nodes: readonly NodeSpec[]) {
    return new Map(nodes.map((n) => [n.name, { admin: this.admin.get(n.name) ?? 'ready', up: true } as ServerState]));
  }
  async drain(node: NodeSpec) {
    if (this.failOn === `drain ${node.name}`) throw new Error('socket gone');
    this.calls.push(`drain ${node.name} (drained now: ${[...this.admin].filter(([, a]) => a === 'drain').length + 1})`);
    this.admin.set(node.name, 'drain');
  }
  async waitDrained(node: NodeSpec) {
    this.calls.push(`drained ${node.name}`);
    return true;
  }
  async undrain(node: NodeSpec, to: ServerState['admin'] = 'ready') {
    this.calls.push(`undrain ${node.name}`);
    this.admin.set(node.name, to);
  }
  async waitServing(node: NodeSpec) {
    this.calls.push(`serving ${node.name}`);
  }
  async restore() {
    this.calls.push('restore');
  }
}

function withLb(lb: FakeLb, groupSize = 1, minServing: number | string = 1) {
  const run = fakeRun({ groupSize });
  const { env: _env, file: _file, ...plain } = run.request.inventory;
  const inventory = validateInventory(
    { ...plain, lb: { driver: 'haproxy', socket: '/run/h.sock', backend: 'app', minServing } },
    'prod',
    'hosts/prod.yaml',
  );
  return { ...run, request: { ...run.request, inventory }, deps: { ...run.deps, lb } };
}

describe('rollout with a load balancer', () => {
  it('per node: drain, wait, relink, restart, smoke, undrain, wait serving; groups drain together', async () => {
    const lb = new FakeLb();
    const run = withLb(lb, 2);
    await deploy(run.request, run.deps, run.source);
    expect(lb.calls.slice(0, 4)).toEqual([
      'drain node1 (drained now: 1)',
      'drained node1',
      'undrain node1',
      'serving node1',
    ]);
    expect(lb.calls.slice(4, 8).sort()).toEqual(
      ['drain node2 (drained now: 1)', 'drain node3 (drained now: 2)', 'drained node2', 'drained node3'].sort(),
    );
    expect(lb.calls.at(-1)).toBe('restore');
    // The relink happens while the node is drained.
    const node2 = run.transport.log.filter((r) => r.node === 'node2' && r.command.includes('mv -Tf'));
    expect(node2).toHaveLength(1);
  });

  it('refuses to drain below minServing, before touching that group', async () => {
    const lb = new FakeLb();
    const run = withLb(lb, 2, 3);
    await expect(deploy(run.request, run.deps, run.source)).rejects.toThrow(
      /draining node2, node3 would leave 2 of 4 node\(s\) serving, below minServing 3/,
    );
    // pre went and came back; then the guard stopped the run and rolled node1 back.
    expect(lb.calls.filter((c) => c.startsWith('drain node2') || c.startsWith('drain node3'))).toEqual([]);
    expect([...lb.admin.values()].every((a) => a === 'ready')).toBe(true);
  });

  it('on a failure, drained nodes are put back and switched ones rolled back through the drain path', async () => {
    const lb = new FakeLb();
    const run = withLb(lb, 1);
    const probe = run.deps.probe;
    let calls = 0;
    const deps = {
      ...run.deps,
      probe: async (url: string, t: number) =>
        url.includes(':8103') && ++calls <= 2 ? { status: 500, body: '' } : probe(url, t),
    };
    await expect(deploy(run.request, deps, run.source)).rejects.toThrow(/node3: smoke test failed/);
    expect([...lb.admin.values()].every((a) => a === 'ready')).toBe(true);
    expect(lb.calls.filter((c) => c.startsWith('drain node1'))).toHaveLength(2);
  });
});

describe('plan = run: the steps `deploy plan` lists per node are the steps the deploy runs there', () => {
  const phases = (name: string) => name.startsWith('distribute:') || name.startsWith('rollout:');
  const ran = (events: ReturnType<typeof fakeRun>['events'], node: string) =>
    events.flatMap((e) =>
      e.type === 'step' && e.status === 'ok' && e.node === node && phases(e.step) ? [e.step] : [],
    );

  it.each([
    ['without a load balancer', () => fakeRun()],
    ['behind a load balancer (drain, undrain, serving)', () => withLb(new FakeLb())],
  ])('%s, tarball upload', async (_what, make) => {
    const planned = make();
    const plan = await planDeploy(planned.request, planned.deps, planned.source);
    const run = make();
    await deploy(run.request, run.deps, run.source);
    for (const node of plan.nodes) {
      expect(ran(run.events, node.node)).toEqual(node.steps.map((s) => s.step).filter(phases));
    }
  });

  it('rsync upload: one upload step, no tarball, no verify, no unpack', async () => {
    const run = fakeRun();
    const config = { ...run.request.config, rollout: { ...run.request.config.rollout, upload: 'rsync' as const } };
    const plan = await planDeploy({ ...run.request, config }, run.deps, run.source);
    const steps = plan.nodes[0]!.steps.filter((s) => s.step.startsWith('distribute:'));
    expect(steps.map((s) => s.step)).toEqual(['distribute:upload', 'distribute:shared']);
    expect(steps[0]!.detail).toMatch(/^rsync into \/srv\/app\/releases\/hello_prod_v1\.1\.0_.* hard-linked/);
  });
});
