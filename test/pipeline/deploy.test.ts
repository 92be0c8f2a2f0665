import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { hintOf } from '../../src/app/phrase.js';
import { EXIT, LockError, RelinkError } from '../../src/errors.js';
import { deploy } from '../../src/pipeline/run.js';
import { fakeRun, label, OLD, OLD_COMMIT, checksummed, relinks } from '../helpers/fake-run.js';

const NEW = 'hello_prod_v1.1.0_main_20261121-170000_ana';

function sequence(run: ReturnType<typeof fakeRun>, node: string): string[] {
  return run.transport.commandsFor(node).map(label);
}

describe('deploy pipeline', () => {
  it('runs every step per node in order, pre node first, one connection per node', async () => {
    const run = fakeRun();
    const outcome = await deploy(run.request, run.deps, run.source);
    expect(outcome.release).toBe(NEW);
    // deployTo is checked, the lock taken and the node's state read in one round trip: under the lock; then
    // the settings the running release kept (the shared links it was deployed with), and its shared state (files
    // there, links of the running release still links), before any upload.
    expect(sequence(run, 'node1')).toEqual([
      'lock+inspect',
      'read-settings:v1.0.0',
      'shared-check',
      'verify',
      'unpack',
      'shared',
      'settings',
      'journal:unpacked',
      'relink:hello_prod_v1.1.0+journal:activated',
      'restart',
      'journal:smoke_ok',
      'journal:run_finished+unlock',
    ]);
    expect(relinks(run)).toEqual([
      'node1:hello_prod_v1.1.0',
      'node2:hello_prod_v1.1.0',
      'node3:hello_prod_v1.1.0',
      'node4:hello_prod_v1.1.0',
    ]);
    // Every node has its release before any node switches.
    const firstRelink = run.transport.log.findIndex((r) => r.command.includes('mv -Tf'));
    const lastUnpack = run.transport.log.findLastIndex((r) => r.command.includes('tar -xzf'));
    expect(lastUnpack).toBeLessThan(firstRelink);
    for (const node of ['node1', 'node2', 'node3', 'node4']) {
      expect(run.transport.log.filter((r) => r.node === node && r.kind === 'connect')).toHaveLength(1);
      expect(run.transport.log.filter((r) => r.node === node && r.kind === 'upload')).toHaveLength(1);
    }
    expect(run.probes).toEqual([
      'http://10.0.0.1:8101/health',
      'http://10.0.0.2:8102/health',
      'http://10.0.0.3:8103/health',
      'http://10.0.0.4:8104/health',
    ]);
  });

  it('rolls back every switched node after a failure in group 2 and leaves the rest untouched', async () => {
    const run = fakeRun({ groupSize: 2, unhealthy: (node) => node === 'node3' });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelinkError);
    expect((error as RelinkError).exitCode).toBe(EXIT.failed);
    expect((error as Error).message).toMatch(
      /node3: smoke test failed after 2 attempts: GET http:\/\/10.0.0.3:8103\/health answered 500/,
    );
    expect((error as Error).message).toMatch(/Rolled back node1, node2, node3/);
    // groups: [node1] [node2 node3] [node4]
    const order = relinks(run);
    expect(order.slice(0, 3).sort()).toEqual([
      'node1:hello_prod_v1.1.0',
      'node2:hello_prod_v1.1.0',
      'node3:hello_prod_v1.1.0',
    ]);
    expect(order.slice(3).sort()).toEqual([
      'node1:hello_prod_v1.0.0',
      'node2:hello_prod_v1.0.0',
      'node3:hello_prod_v1.0.0',
    ]);
    expect(sequence(run, 'node4').filter((s) => s.startsWith('relink'))).toEqual([]);
    expect(sequence(run, 'node3')).toContain('journal:smoke_failed');
    expect(sequence(run, 'node2').slice(-4)).toEqual([
      'relink:hello_prod_v1.0.0+journal:rolled_back',
      'restart',
      'journal:smoke_ok',
      'journal:run_finished+unlock',
    ]);
    const rolledBack = run.transport.log.find((r) => r.node === 'node2' && r.command.includes('rolled_back'))!.command;
    expect(rolledBack).toContain(`"release":"${OLD}"`);
    expect(rolledBack).toContain(`"from":"${NEW}"`);
    for (const node of ['node1', 'node2', 'node3', 'node4'])
      expect(sequence(run, node).at(-1)).toBe('journal:run_finished+unlock');
  });

  it('stops at the pre node: no other node is switched', async () => {
    const run = fakeRun({ unhealthy: (node) => node === 'node1' });
    await expect(deploy(run.request, run.deps, run.source)).rejects.toThrow(
      /node1: smoke test failed.*Rolled back node1 to the release each ran before/s,
    );
    expect(relinks(run)).toEqual(['node1:hello_prod_v1.1.0', 'node1:hello_prod_v1.0.0']);
  });

  it('halts without rolling back when told to', async () => {
    const run = fakeRun({ unhealthy: (node) => node === 'node2', onFailure: 'halt' });
    await expect(deploy(run.request, run.deps, run.source)).rejects.toThrow(
      /Halted as configured: node1, node2 stay on/,
    );
    expect(relinks(run)).toEqual(['node1:hello_prod_v1.1.0', 'node2:hello_prod_v1.1.0']);
    expect(run.transport.log.some((r) => r.command.includes('"result":"halted"'))).toBe(true);
  });

  it('removes the new release from every node when one upload fails, switches nothing, releases the locks', async () => {
    const run = fakeRun({ fail: (node, cmd) => (node === 'node3' && checksummed(cmd) ? 1 : undefined) });
    await expect(deploy(run.request, run.deps, run.source)).rejects.toThrow(
      /distribute failed on node3: .*The new release was removed from every node; nothing was switched/s,
    );
    expect(relinks(run)).toEqual([]);
    for (const node of ['node1', 'node2', 'node3', 'node4']) {
      const steps = sequence(run, node);
      expect(steps).toContain('remove');
      expect(steps.at(-1)).toBe('journal:run_finished+unlock');
    }
    const removal = run.transport.log.find((r) => r.node === 'node1' && label(r.command) === 'remove')!.command;
    expect(removal).toBe(
      `rm -rf /srv/app/releases/${NEW} /srv/app/.relink/incoming/${NEW}.tar.gz /srv/app/.relink/incoming/${NEW}.delta.tar.gz`,
    );
  });

  it('refuses when another run holds the lock on one node, and frees the locks it took', async () => {
    const run = fakeRun({
      fail: (node, cmd) => (node === 'node2' && cmd.includes('mkdir /srv/app/.relink/lock') ? 1 : undefined),
    });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).exitCode).toBe(EXIT.lock);
    expect((error as Error).message).toMatch(/deploy lock on prod is held \(node2\)/);
    expect(hintOf(error as LockError)).toMatch(/deploy unlock prod --force/);
    for (const node of ['node1', 'node3', 'node4']) expect(sequence(run, node)).toEqual(['lock+inspect', 'unlock']);
    expect(run.transport.log.some((r) => r.kind === 'upload')).toBe(false);
  });

  it('on an interrupt during rollout, rolls back what switched, releases locks and exits 130', async () => {
    const controller = new AbortController();
    const run = fakeRun({
      signal: controller.signal,
      onCommand: (node, cmd) => {
        if (node === 'node2' && cmd.includes('restart.sh')) controller.abort('SIGINT');
      },
    });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as RelinkError).exitCode).toBe(EXIT.interrupted);
    expect(relinks(run).slice(0, 2)).toEqual(['node1:hello_prod_v1.1.0', 'node2:hello_prod_v1.1.0']);
    expect(relinks(run).slice(2).sort()).toEqual(['node1:hello_prod_v1.0.0', 'node2:hello_prod_v1.0.0']);
    for (const node of ['node1', 'node2', 'node3', 'node4'])
      expect(sequence(run, node).at(-1)).toBe('journal:run_finished+unlock');
    expect(run.transport.log.some((r) => r.command.includes('"result":"interrupted"'))).toBe(true);
  });

  it('a deploy and its rollback leave no listener on the run signal (12 nodes: one per command would warn)', async () => {
    const controller = new AbortController();
    const run = fakeRun({ nodes: 12, signal: controller.signal });
    await deploy(run.request, run.deps, run.source);
    // Node warns at 11 listeners of one signal (MaxListenersExceededWarning on stderr): one per run at most.
    expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
    const failing = new AbortController();
    const bad = fakeRun({ nodes: 12, signal: failing.signal, unhealthy: (node) => node === 'node3' });
    await deploy(bad.request, bad.deps, bad.source).catch(() => undefined);
    expect(getEventListeners(failing.signal, 'abort').length).toBeLessThanOrEqual(1);
  });

  it('a cold start (nothing serves yet): the pre node first, then every other node at once', async () => {
    const run = fakeRun({ cold: true });
    await deploy(run.request, run.deps, run.source);
    const groups = run.events.flatMap((e) => (e.type === 'info' && e.message.startsWith('group ') ? [e.message] : []));
    expect(groups).toEqual(['group 1/2: node1', 'group 2/2: node2, node3, node4']);
    expect(relinks(run)[0]).toBe('node1:hello_prod_v1.1.0');
    // A warm fleet keeps the inventory's groups.
    const warm = fakeRun();
    await deploy(warm.request, warm.deps, warm.source);
    const warmGroups = warm.events.filter((e) => e.type === 'info' && e.message.startsWith('group '));
    expect(warmGroups).toHaveLength(4);
  });

  it('a commit on the nodes that this clone does not know does not stop the release', async () => {
    const run = fakeRun();
    const asked: string[] = [];
    const source = {
      ...run.source,
      check: async (commit: string) => {
        asked.push(commit);
        if (commit === OLD_COMMIT) throw new Error(`git rev-list failed: fatal: bad object ${commit}`);
        return [];
      },
    };
    const outcome = await deploy(run.request, run.deps, source);
    expect(outcome.release).toBe(NEW);
    expect(asked).toContain(OLD_COMMIT);
  });

  it('journals who, what and when with every event', async () => {
    const run = fakeRun({ nodes: 1 });
    await deploy(run.request, run.deps, run.source);
    const line = run.transport.log.find((r) => r.command.includes('activated'))!.command;
    const json = JSON.parse(line.match(/'(\{.*\})'/)![1]!.replaceAll("'\\''", "'"));
    expect(json).toMatchObject({
      v: 1,
      run: 'run42',
      node: 'node1',
      env: 'prod',
      user: 'ana',
      event: 'activated',
      release: NEW,
      version: 'v1.1.0',
      commit: 'c1'.repeat(20),
    });
  });
});
