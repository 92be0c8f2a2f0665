import { describe, expect, it } from 'vitest';
import { EXIT, LockError, RelinkError } from '../../src/errors.js';
import type { JournalEvent } from '../../src/journal/events.js';
import type { NodeSpec } from '../../src/inventory/types.js';
import type { LbDriver, ServerState } from '../../src/lb/types.js';
import { validateInventory } from '../../src/config/validate.js';
import { lastChangingRun } from '../../src/pipeline/phases/rollback-targets.js';
import { deploy } from '../../src/pipeline/run.js';
import { rollback } from '../../src/pipeline/rollback.js';
import { SECTION } from '../../src/remote/inspect.js';
import { fakeRun, label, journalLine } from '../helpers/fake-run.js';

const LOCK = 'mkdir /srv/app/.relink/lock';
const READ_LOCK = 'cat /srv/app/.relink/lock/owner.json';

function owner(run: string, heartbeat: string): string {
  const o = { run, kind: 'run', user: 'bo', host: 'elsewhere', pid: 1, command: 'deploy prod v9', since: heartbeat };
  return JSON.stringify({ ...o, heartbeat });
}

function sequence(run: ReturnType<typeof fakeRun>, node: string): string[] {
  return run.transport.commandsFor(node).map(label);
}

describe('taking the locks', () => {
  it('a takeover of a dead lock is not journaled when another node refuses the run, and every lock taken goes', async () => {
    const held: Record<string, string> = {
      node1: owner('dead-run', '2026-11-21T16:00:00Z'), // no heartbeat for an hour: gone
      node3: owner('live-run', '2026-11-21T16:59:59Z'), // alive
    };
    const run = fakeRun({
      answer: (node, command) => {
        if (held[node] && command.startsWith(READ_LOCK)) return { stdout: `${held[node]}\n` };
        if (held[node] && command.includes(LOCK) && !command.includes('takeover')) return { code: 1 };
        return undefined;
      },
    });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockError);
    expect((error as Error).message).toMatch(/held \(node3\) by bo on elsewhere/);
    // Refused: nothing journaled anywhere, no takeover on record, the lock it took over released.
    expect(run.transport.log.some((r) => /lock_broken|>> [^ ]*journal.jsonl/.test(r.command))).toBe(false);
    expect(sequence(run, 'node1').at(-1)).toBe('unlock');
    for (const node of ['node2', 'node4']) expect(sequence(run, node)).toEqual(['lock+inspect', 'unlock']);
  });

  it('a connection lost while locking is not "an unknown run": the lock is released, nothing changes', async () => {
    const run = fakeRun({ fail: (node, cmd) => (node === 'node2' && cmd.includes(LOCK) ? 255 : undefined) });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelinkError);
    expect((error as RelinkError).exitCode).toBe(EXIT.failed);
    expect((error as Error).message).toBe(
      'node2: the connection was lost while taking the deploy lock. Nothing was changed on any node.',
    );
    for (const node of ['node1', 'node2', 'node3', 'node4']) expect(sequence(run, node).at(-1)).toBe('unlock');
    expect(run.transport.log.some((r) => r.kind === 'upload')).toBe(false);
  });
});

describe('switching', () => {
  it('a connection lost during the relink counts the node as switched: it is put back with the others', async () => {
    const run = fakeRun({ fail: (node, cmd) => (node === 'node2' && cmd.includes('mv -Tf') ? 255 : undefined) });
    await expect(deploy(run.request, run.deps, run.source)).rejects.toThrow(/node2/);
    const back = run.transport.log
      .filter((r) => r.kind === 'exec' && r.command.includes('mv -Tf') && r.command.includes('v1.0.0'))
      .map((r) => r.node)
      .sort();
    expect(back).toEqual(['node1', 'node2']);
  });
});

/** A load balancer whose drain of one node answers late and then fails, while the others drain. */
class SlowFailLb implements LbDriver {
  readonly kind = 'haproxy' as const;
  readonly admin = new Map<string, ServerState['admin']>();
  constructor(private readonly failDrain = true) {}
  async states(nodes: readonly NodeSpec[]) {
    return new Map(nodes.map((n) => [n.name, { admin: this.admin.get(n.name) ?? 'ready', up: true } as ServerState]));
  }
  async drain(node: NodeSpec) {
    this.admin.set(node.name, 'drain');
    if (this.failDrain && node.name === 'node2') throw new Error('socket gone');
    // node3's drain is still in flight when node2's fails.
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  async waitDrained() {
    return true;
  }
  async undrain(node: NodeSpec, to: ServerState['admin'] = 'ready') {
    this.admin.set(node.name, to);
  }
  async waitServing() {}
  async restore() {}
}

describe('draining', () => {
  it('a group the load balancer cannot drain stops the release even with a failure budget', async () => {
    const lb = new SlowFailLb();
    const run = fakeRun({ groupSize: 2, maxFailures: 2 });
    const inventory = behindHaproxy(run);
    await expect(deploy({ ...run.request, inventory }, { ...run.deps, lb }, run.source)).rejects.toThrow(/socket gone/);
    expect(Object.fromEntries(lb.admin)).toEqual({ node1: 'ready', node2: 'ready', node3: 'ready' });
  });

  it('a drain that fails while another is in flight: both nodes are put back in the pool', async () => {
    const lb = new SlowFailLb();
    const run = fakeRun({ groupSize: 2 });
    const inventory = behindHaproxy(run);
    await expect(deploy({ ...run.request, inventory }, { ...run.deps, lb }, run.source)).rejects.toThrow(/socket gone/);
    expect(Object.fromEntries(lb.admin)).toEqual({ node1: 'ready', node2: 'ready', node3: 'ready' });
  });
});

/** The fake run's inventory with an HAProxy section (the driver itself is injected as deps.lb). */
function behindHaproxy(run: ReturnType<typeof fakeRun>) {
  const { env: _env, file: _file, ...plain } = run.request.inventory;
  const lb = { driver: 'haproxy', socket: '/run/h.sock', backend: 'app', minServing: 1 };
  return validateInventory({ ...plain, lb }, 'prod', 'hosts/prod.yaml');
}

function event(run: string, kind: 'activated' | 'rolled_back', release: string, ts: string): JournalEvent {
  return { v: 1, ts, run, node: 'n', env: 'prod', user: 'ana', event: kind, release } as JournalEvent;
}

describe('rollback --last', () => {
  it('skips a failed deploy that put its nodes back: the last run that changed releases is the one before', () => {
    const node1 = [
      event('a', 'activated', 'r2', '2026-11-20T10:00:00Z'),
      event('b', 'activated', 'r3', '2026-11-21T10:00:00Z'),
      event('b', 'rolled_back', 'r2', '2026-11-21T10:00:05Z'),
    ];
    const node2 = [event('a', 'activated', 'r2', '2026-11-20T10:00:01Z')];
    expect(lastChangingRun([node1, node2])).toBe('a');
    // A rollback that did move a node is a change.
    const node3 = [...node2, event('c', 'rolled_back', 'r1', '2026-11-22T10:00:00Z')];
    expect(lastChangingRun([node1, node3])).toBe('c');
    // A retry (and the put-back of a node it set aside again) counts as part of the run it retries.
    const retried = (e: JournalEvent) => ({ ...e, retryOf: 'b' }) as JournalEvent;
    const node4 = [
      event('a', 'activated', 'r2', '2026-11-20T10:00:02Z'),
      event('b', 'activated', 'r3', '2026-11-21T10:00:01Z'),
      event('b', 'rolled_back', 'r2', '2026-11-21T10:00:02Z'),
      retried(event('b2', 'activated', 'r3', '2026-11-21T11:00:00Z')),
      retried(event('b2', 'rolled_back', 'r2', '2026-11-21T11:00:05Z')),
    ];
    expect(lastChangingRun([node4])).toBe('a');
  });
});

/** Four nodes behind a fake HAProxy that ran v1.0.0 (proven) and run v1.1.0 now, rolled out one by one. */
function twoReleaseRun() {
  const r0 = 'hello_prod_v1.0.0_main_20261101-120000_ana';
  const r1 = 'hello_prod_v1.1.0_main_20261110-120000_ana';
  const line = journalLine;
  const journal = [
    line('a', 'activated', r0, 'v1.0.0', '2026-11-01T12:00:00Z'),
    line('a', 'smoke_ok', r0, 'v1.0.0', '2026-11-01T12:00:01Z'),
    line('b', 'activated', r1, 'v1.1.0', '2026-11-10T12:00:00Z'),
    line('b', 'smoke_ok', r1, 'v1.1.0', '2026-11-10T12:00:01Z'),
  ].join('\n');
  const state = `releases/${r1}\n${SECTION}\n${r0}\n${r1}\n${SECTION}\n${SECTION}\n${journal}\n`;
  return fakeRun({
    groupSize: 1,
    answer: (_node, command) => (command.includes('readlink /srv/app/current') ? { stdout: state } : undefined),
  });
}

describe('a rolling rollback that stops', () => {
  it('puts every node it moved back on its release, in the pool, and marks the target bad', async () => {
    const run = twoReleaseRun();
    const lb = new SlowFailLb(false);
    const inventory = behindHaproxy(run);
    // node2 fails its smoke test on the target (both attempts), then answers again once it is back.
    let failing = 2;
    const deps = {
      ...run.deps,
      lb,
      probe: async (url: string) => {
        const down = url.includes(':8102') && failing-- > 0;
        return { status: down ? 500 : 200, body: '{"version":"v1.0.0 v1.1.0"}' };
      },
    };
    const request = { ...run.request, inventory, target: { kind: 'last' as const } };
    const error = await rollback(request, deps).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/rollback stopped: node2: smoke test failed/);
    expect((error as Error).message).toMatch(/node1, node2 are back on the release each ran before/);
    expect((error as Error).message).toMatch(/node3, node4 were not touched. v1.0.0 is marked bad/);
    expect((error as RelinkError).exitCode).toBe(EXIT.failed);
    expect(lb.admin.get('node2')).toBe('ready');
    expect(lb.admin.get('node1')).toBe('ready');
    for (const node of ['node1', 'node2']) {
      const relinked = run.transport.commandsFor(node).filter((c) => c.includes('mv -Tf'));
      expect(relinked.map((c) => c.match(/releases\/(hello_prod_v[\d.]+)/)?.[1])).toEqual([
        'hello_prod_v1.0.0',
        'hello_prod_v1.1.0',
      ]);
    }
    // The target is journaled bad on every node the rollback was for, the untouched ones too.
    const marked = run.transport.log.filter((r) => r.command.includes('marked_bad')).map((r) => r.node);
    expect(marked.sort()).toEqual(['node1', 'node2', 'node3', 'node4']);
  });

  it('a node that does not come back either stays drained, and the message says so', async () => {
    const run = twoReleaseRun();
    const lb = new SlowFailLb(false);
    const inventory = behindHaproxy(run);
    const deps = { ...run.deps, lb, probe: async () => ({ status: 500, body: 'down' }) };
    const request = { ...run.request, inventory, target: { kind: 'last' as const } };
    const error = await rollback(request, deps).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^rollback stopped: node1: smoke test failed/);
    expect((error as Error).message).toMatch(/Put back node1, but 1 node\(s\) did not come back cleanly/);
    expect((error as Error).message).toMatch(/node1 stays drained \(out of the load balancer\)/);
    expect(lb.admin.get('node1')).toBe('drain');
  });
});

describe('a rollback refused because a node is not trusted', () => {
  it('exits 2 (bad input: a host key to check), not 1, and changes nothing', async () => {
    const unknownKey = () =>
      new RelinkError('node2: host key is not in known_hosts; refusing', { exitCode: EXIT.usage, hint: 'ssh-keyscan' });
    const run = fakeRun({ down: ['node2'], downWith: unknownKey });
    const error = await rollback({ ...run.request, target: { kind: 'last' } }, run.deps).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/rollback refused: \d node\(s\) cannot be rolled back/);
    expect((error as RelinkError).exitCode).toBe(EXIT.usage);
    expect(run.transport.log.some((r) => r.command.includes('mv -Tf'))).toBe(false);
  });
});
