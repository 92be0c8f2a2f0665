import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, LockError } from '../../src/errors.js';
import { hintOf } from '../../src/app/phrase.js';
import { observe } from '../../src/app/observe.js';
import { unfreeze } from '../../src/app/freeze.js';
import { RolloutError } from '../../src/pipeline/rollout/revert.js';
import { deploy } from '../../src/pipeline/run.js';
import { SECTION } from '../../src/remote/inspect.js';
import { fakeRun, label, OLD } from '../helpers/fake-run.js';

const NODES = ['node1', 'node2', 'node3', 'node4'];
const GUARD = `{ grep -qF '"run":"run42"' /srv/app/.relink/lock/owner.json 2>/dev/null || exit 96 ; }`;
const READ_LOCK = 'cat /srv/app/.relink/lock/owner.json';
const NEW = /relink:hello_prod_v1\.1\.0/;

function owner(run: string, kind: 'run' | 'freeze' = 'run'): string {
  const at = '2026-11-21T16:59:50Z';
  return JSON.stringify({
    run,
    kind,
    user: 'bo',
    host: 'elsewhere',
    pid: 1,
    command: 'deploy prod v9',
    since: at,
    heartbeat: at,
  });
}

/**
 * A fleet whose deploy lock goes away on every node the moment node2 switches: removed (nobody holds
 * it then), or taken by another run (`holder`). A removed lock taken again by this run is its own again.
 */
function losing(holder = '', heartbeatMs?: number) {
  const state = { lost: false };
  const retaken = new Set<string>();
  const run = fakeRun({
    answer: (node, command) => {
      if (!state.lost) {
        if (node === 'node2' && command.includes('mv -Tf') && command.includes('v1.1.0')) state.lost = true;
        return undefined;
      }
      if (retaken.has(node)) return undefined;
      if (command.includes('echo retaken')) {
        if (holder) return { code: 1 };
        retaken.add(node);
        return { stdout: 'retaken\n' };
      }
      if (command.startsWith(GUARD)) return { code: 96, stderr: '' };
      if (command.startsWith(READ_LOCK)) return { stdout: holder ? `${holder}\n` : '' };
      return undefined;
    },
  });
  const config = heartbeatMs ? { ...run.request.config, lock: { ttlMs: 120_000, heartbeatMs } } : run.request.config;
  return { run, state, request: { ...run.request, config } };
}

const labels = (run: ReturnType<typeof fakeRun>, node: string) => run.transport.commandsFor(node).map(label);
const journaled = (run: ReturnType<typeof fakeRun>, node: string, event: string) =>
  run.transport.commandsFor(node).filter((c) => c.includes('journal.jsonl') && c.includes(`"event":"${event}"`));

describe('a run whose lock goes away mid-rollout', () => {
  it('removed: the next relink is refused by its guard, nothing switches after; the switched nodes go back under the lock taken again', async () => {
    const { run, request } = losing();
    const error = await deploy(request, run.deps, run.source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutError);
    const message = (error as Error).message;
    expect(message).toMatch(/^this run lost its deploy lock on prod \(node3\): the lock was removed/);
    expect(message).toMatch(/no run holds it now\. It stopped before its next switch\. Rolled back node1, node2/);
    expect((error as RolloutError).exitCode).toBe(EXIT.failed);
    expect(hintOf(error as RolloutError)).toMatch(/lock_broken in the journal of node3/);
    // node3's relink was the guarded command, refused on the node: it never restarted; node4 was not reached.
    const node3 = run.transport.commandsFor('node3');
    expect(node3.filter((c) => c.includes('mv -Tf'))).toHaveLength(1);
    expect(node3.find((c) => c.includes('mv -Tf'))!.startsWith(GUARD)).toBe(true);
    expect(labels(run, 'node3')).not.toContain('restart');
    expect(labels(run, 'node4').some((l) => l.startsWith('relink'))).toBe(false);
    // node1 and node2 switched before: their locks are taken again, and they go back to OLD.
    for (const node of ['node1', 'node2']) {
      const seq = labels(run, node);
      expect(seq.filter((l) => NEW.test(l))).toHaveLength(1);
      expect(seq.indexOf('lock')).toBeGreaterThan(seq.findIndex((l) => NEW.test(l)));
      expect(seq.some((l) => l.startsWith(`relink:${OLD.slice(0, 16)}`))).toBe(true);
    }
    // lock_lost journaled where the lock was found gone; the run ends rolled_back.
    for (const node of ['node1', 'node2', 'node3']) expect(journaled(run, node, 'lock_lost')).toHaveLength(1);
    expect(journaled(run, 'node3', 'lock_lost')[0]).toContain('removed, no run holds it');
    for (const node of NODES) expect(journaled(run, node, 'run_finished')[0]).toContain('"result":"rolled_back"');
  });

  it('taken by another run: the nodes under its lock are not touched, named and journaled; exit non-zero naming the holder', async () => {
    const { run, request } = losing(owner('other-run'));
    const error = await deploy(request, run.deps, run.source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /lost its deploy lock on prod \(node3\): it is now held by bo on elsewhere \(pid 1, run other-run\)/,
    );
    expect(message).toMatch(/node1: not put back, left on this run's release: its deploy lock is now held by bo/);
    expect(hintOf(error as RolloutError)).toBe('check those nodes now: deploy status prod');
    for (const node of ['node1', 'node2']) {
      // Switched once, never back: the undo leaves the other run's nodes alone.
      expect(labels(run, node).filter((l) => l.startsWith('relink'))).toHaveLength(1);
      expect(journaled(run, node, 'lock_lost')[0]).toContain('now held by bo on elsewhere');
    }
    expect(labels(run, 'node4').some((l) => l.startsWith('relink'))).toBe(false);
  });

  it('found by the heartbeat: the rollout stops at the next group, before it touches node3', async () => {
    const { run, request, state } = losing('', 5);
    // node2's smoke test takes a moment of real time: the heartbeat beats meanwhile.
    const probe = run.deps.probe;
    const deps = {
      ...run.deps,
      probe: async (url: string, ms: number) => {
        if (state.lost && url.includes(':8102/')) await new Promise((r) => setTimeout(r, 100));
        return probe(url, ms);
      },
    };
    const error = await deploy(request, deps, run.source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutError);
    expect((error as Error).message).toMatch(/lost its deploy lock on prod \(node3 and 3 more\): the lock was removed/);
    const refreshes = run.transport
      .commandsFor('node3')
      .filter((c) => c.startsWith(GUARD) && c.includes('owner.json.tmp'));
    expect(refreshes.length).toBeGreaterThan(0);
    for (const node of ['node3', 'node4'])
      expect(run.transport.commandsFor(node).some((c) => c.includes('mv -Tf'))).toBe(false);
    expect(journaled(run, 'node3', 'lock_lost')).toHaveLength(1);
    expect(journaled(run, 'node4', 'lock_lost')).toHaveLength(1);
    const warned = run.events.filter((e) => e.type === 'warn' && /lost its deploy lock here/.test(e.message));
    expect(warned.length).toBeGreaterThan(0);
  });
});

describe('unlock', () => {
  const inspection = (lock: string) => `releases/${OLD}\n${SECTION}\n${OLD}\n${SECTION}\n${lock}\n${SECTION}\n`;
  async function unlocking(lock: string, runId: string | undefined, force: boolean) {
    const run = fakeRun({
      answer: (_node, command) =>
        command.startsWith('readlink /srv/app/current || true ;') ? { stdout: inspection(lock) } : undefined,
    });
    const { config, inventory } = run.request;
    const seen = await observe(config, inventory, 'ana', 'unlock-run', run.deps);
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-unlock-'));
    try {
      const result = await unfreeze(seen, stateDir, runId, force).catch((e: unknown) => e);
      return { run, result };
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  }
  const removed = (run: ReturnType<typeof fakeRun>) =>
    run.transport.log.filter((r) => r.kind === 'exec' && /rm -rf \/srv\/app\/\.relink\/lock/.test(r.command));

  it("without --force refuses a run's lock, even named by its run id (as the dashboard does): exit 4, nothing changed", async () => {
    for (const runId of [undefined, 'live-run']) {
      const { run, result } = await unlocking(owner('live-run'), runId, false);
      expect(result).toBeInstanceOf(LockError);
      expect((result as LockError).exitCode).toBe(EXIT.lock);
      expect((result as Error).message).toMatch(
        /held by bo on elsewhere .*: not a freeze, and unlock lifts only freezes/,
      );
      expect(hintOf(result as LockError)).toMatch(/deploy unlock prod --force/);
      expect(removed(run)).toEqual([]);
      expect(run.transport.log.some((r) => r.command.includes('>> /srv/app/.relink/journal.jsonl'))).toBe(false);
    }
  });

  it('lifts a freeze by its run id, journaled unfrozen', async () => {
    const { run, result } = await unlocking(owner('freeze-1', 'freeze'), 'freeze-1', false);
    expect(result).toEqual(NODES);
    expect(removed(run)).toHaveLength(4);
    for (const node of NODES) expect(journaled(run, node, 'unfrozen')).toHaveLength(1);
  });

  it('with --force breaks a live run’s lock, journaled lock_broken with who did it', async () => {
    const { run, result } = await unlocking(owner('live-run'), undefined, true);
    expect(result).toEqual(NODES);
    expect(removed(run)).toHaveLength(4);
    for (const node of NODES) {
      const [line] = journaled(run, node, 'lock_broken');
      expect(line).toContain('unlock --force by ana; was held by bo on elsewhere (pid 1, run live-run)');
    }
  });
});
