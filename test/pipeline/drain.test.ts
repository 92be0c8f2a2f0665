import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { op, render, type Command } from '../../src/remote/tokens.js';
import type { ExecOptions, NodeSession, RemoteStream, Transport } from '../../src/transport/types.js';
import type { NodeSpec } from '../../src/inventory/types.js';
import type { LbDriver, ServerState } from '../../src/lb/types.js';
import { validateInventory } from '../../src/config/validate.js';
import { formatPlan } from '../../src/pipeline/phases/plan.js';
import { deploy, planDeploy } from '../../src/pipeline/run.js';
import { fakeRun, SHA } from '../helpers/fake-run.js';
import { withFanout } from '../helpers/fanout.js';

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
  const ran = (events: ReturnType<typeof fakeRun>['events'], node: string | undefined) =>
    events.flatMap((e) =>
      e.type === 'step' && e.status === 'ok' && e.node === node && phases(e.step) ? [e.step] : [],
    );
  /** Per node, and on this machine (the relay key, the publish), the planned steps are the ones that ran. */
  async function planEqualsRun(make: () => Made) {
    const planned = make();
    const plan = await planDeploy(planned.request, planned.deps, planned.source);
    const run = make();
    await deploy(run.request, run.deps, run.source);
    for (const node of plan.nodes) {
      expect(ran(run.events, node.node), node.node).toEqual(node.steps.map((s) => s.step).filter(phases));
    }
    expect(ran(run.events, undefined)).toEqual(plan.distribute.steps.map((s) => s.step));
    return { plan, run };
  }

  it.each([
    ['without a load balancer', () => fakeRun()],
    ['behind a load balancer (drain, undrain, serving)', () => withLb(new FakeLb())],
    ['relay (seeds 1, width 2)', () => withFanout(fakeRun(), { mode: 'relay', seeds: 1, width: 2 })],
    ['relay behind a load balancer', () => withFanout(withLb(new FakeLb()), { mode: 'relay', seeds: 2, width: 1 })],
    ['pull with a publish command', () => withFanout(fakeRun(), PULL)],
    ['pull from a URL that serves it already', () => withFanout(fakeRun(), { mode: 'pull', url: PULL.url })],
  ])('%s', async (_what, make) => {
    await planEqualsRun(make);
  });

  it('relay: the plan names each node part, its sender and the run key; the order follows the tree', async () => {
    const { plan } = await planEqualsRun(() => withFanout(fakeRun(), { mode: 'relay', seeds: 1, width: 2 }));
    const steps = (node: string) => plan.nodes.find((n) => n.node === node)!.steps.map((s) => s.step);
    expect(plan.distribute).toEqual({
      mode: 'relay',
      detail:
        'seeds 1, width 2: this machine sends it to node1, then each node that has it to up to 2 more, 2 level(s) deep',
      steps: [expect.objectContaining({ step: 'distribute:relay-key' })],
    });
    expect(formatPlan(plan)).toMatch(/\n {4}distribute:relay {7}rsync from node2 into \/srv\/app\/releases\//);
    expect(steps('node1').slice(2, 7)).toEqual([
      'distribute:relay-auth',
      'distribute:upload',
      'distribute:verify',
      'distribute:unpack',
      'distribute:relay-end',
    ]);
    expect(steps('node4').slice(2, 5)).toEqual(['distribute:relay-auth', 'distribute:relay', 'distribute:relay-end']);
    const relay = plan.nodes.find((n) => n.node === 'node4')!.steps.find((s) => s.step === 'distribute:relay')!;
    expect(relay.detail).toMatch(/^rsync from node2 into \/srv\/app\/releases\/hello_prod_v1\.1\.0_.* hard-linked/);
  });

  it('pull: every node fetches the URL rendered for it; publish runs once, on this machine', async () => {
    const { plan, run } = await planEqualsRun(() => withFanout(fakeRun(), PULL));
    const fetch = plan.nodes[2]!.steps.find((s) => s.step === 'distribute:fetch')!;
    expect(fetch.detail).toMatch(/^GET https:\/\/artifacts\.test\/hello\/hello_prod_v1\.1\.0_.*\.tar\.gz\?n=node3$/);
    expect(plan.distribute.steps).toEqual([{ step: 'distribute:publish', detail: `on this machine: ${PULL.publish}` }]);
    expect(run.transport.log.filter((r) => r.kind === 'upload')).toEqual([]);
    expect(run.transport.commandsFor('node3').some((c) => c.includes('curl -fsSL') && c.includes('?n=node3'))).toBe(
      true,
    );
  });

  it('rsync upload: one upload step into the release dir, run through a real rsync on both ends', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-plan-rsync-'));
    const staged = path.join(root, 'build');
    fs.mkdirSync(path.join(staged, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(staged, 'lib', 'app.js'), 'console.log(1)\n');
    fs.mkdirSync(path.join(root, 'srv', 'releases'), { recursive: true });
    try {
      const { plan } = await planEqualsRun(() => withRsync(fakeRun(), path.join(root, 'srv'), staged));
      const steps = plan.nodes[0]!.steps.filter((s) => s.step.startsWith('distribute:'));
      expect(steps.map((s) => s.step)).toEqual(['distribute:upload', 'distribute:shared', 'distribute:settings']);
      expect(steps[0]!.detail).toMatch(/^rsync into \/.*\/srv\/releases\/hello_prod_v1\.1\.0_.* hard-linked/);
      // rsync's receiving half wrote the build where the plan said.
      const release = plan.release;
      const copied = path.join(root, 'srv', 'releases', release, 'lib', 'app.js');
      expect(fs.readFileSync(copied, 'utf8')).toBe('console.log(1)\n');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

type Made = ReturnType<typeof fakeRun>;
const PULL = {
  mode: 'pull' as const,
  url: 'https://artifacts.test/hello/{{ release }}.tar.gz?n={{ node.name }}',
  publish: 'test -n {{ file }}',
};

/**
 * rsync uploads into `deployTo` through the recording transport: every command is recorded as if deployTo
 * were /srv/app (what the fake nodes answer to), and rsync's remote half runs here, writing under deployTo.
 */
function withRsync(made: Made, deployTo: string, staged: string): Made {
  const base = made.request.config;
  // Every node's rsync writes into the same local dir here: one at a time, or one's --delete removes
  // another's temporary files mid-transfer (it did, under load).
  const config = { ...base, deployTo, rollout: { ...base.rollout, upload: 'rsync' as const, parallel: 1 } };
  const inner = made.deps.transport;
  const transport: Transport = {
    async connect(node) {
      const session = await inner.connect(node);
      return Object.assign(Object.create(session) as NodeSession, {
        exec: (command: Command, options?: ExecOptions) =>
          session.exec([op(render(command).replaceAll(deployTo, '/srv/app'))], options),
        async stream(command: Command): Promise<RemoteStream> {
          const [, ...args] = command as string[];
          const child = spawn('rsync', args, { stdio: ['pipe', 'pipe', 'pipe'] });
          const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
          return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, done };
        },
      });
    },
  };
  const source = {
    ...made.source,
    build: async () => ({ file: staged, format: 'dir' as const, sha256: SHA, bytes: 15, cached: false }),
  };
  return { ...made, source, request: { ...made.request, config }, deps: { ...made.deps, transport } };
}
