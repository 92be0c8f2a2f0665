import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { Project, readSandbox, type Result, type Sandbox, startUntil, stopApps } from '../helpers/project.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];
const versions = (p: Project) => NODES.map((n) => p.current(n)?.match(/_(v[\d.]+)_/)?.[1] ?? 'none');
const projects: Project[] = [];

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
});
afterEach(() => {
  stopApps(sb);
  for (const p of projects.splice(0)) p.remove();
});

/** v1.0.0 everywhere, then a v1.5.0 whose restart takes 2 s a node: a window while the rollout runs. */
async function deployed(): Promise<Project> {
  // A heartbeat every half second: a lost lock is seen between two groups.
  const p = new Project(sb, { configExtra: 'lock: { heartbeatMs: 500 },' });
  projects.push(p);
  expect((await p.deploy(['prod', 'v1.0.0'])).code).toBe(0);
  // A restart waits while its node holds shared/hold (up to 30 s): the test ends the lock while the run waits
  // there, whatever the machine's load, and lets it go on after.
  const hold =
    'set -eu\ni=0\nwhile [ -e "$RELINK_DEPLOY_TO/shared/hold" ] && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done\n';
  p.tag('v1.5.0', (repo) => {
    const file = path.join(repo, 'bin', 'restart.sh');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('set -eu\n', hold));
  });
  return p;
}

/** Every journal line of a run on a node. */
const linesOf = (p: Project, node: string, run: string) => p.journal(node).filter((e) => e.run === run);
const runIdOf = (stdout: string) => stdout.match(/\(run ([\w.:-]+)\)/)?.[1] ?? '?';

/**
 * Starts `deploy prod v1.5.0`; once group 2 starts, `act` (with the project) does what ends the
 * run's lock, while the restarts of nodes 2-4 wait for it (shared/hold). Returns the deploy's result,
 * what `act` returned, and each node's version right after.
 */
async function interrupted<T>(p: Project, act: (p: Project) => Promise<T>) {
  let acted: Promise<{ value: T; after: string[] }> | undefined;
  const held = NODES.slice(1).map((node) => p.nodePath(node, 'shared', 'hold'));
  for (const file of held) fs.writeFileSync(file, '');
  const run = await startUntil(p, ['prod', 'v1.5.0'], /group 2\/4/, () => {
    acted = act(p).then((value) => {
      const after = versions(p);
      for (const file of held) fs.rmSync(file, { force: true });
      return { value, after };
    });
  });
  expect(run.acted).toBe(true);
  const { value, after } = await acted!;
  return { run, value, after, runId: runIdOf(run.stdout) };
}

describe('locks that cannot be lost silently', () => {
  it('a run whose lock is removed mid-rollout stops before its next switch', async () => {
    const p = await deployed();
    const { run, value: unlocked, after, runId } = await interrupted(p, (q) => q.deploy(['unlock', 'prod', '--force']));
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect(unlocked.stdout).toMatch(/unlocked prod on node1, node2, node3, node4/);
    // The nodes not switched when the lock went were never switched by the run: no `activated` line there.
    const later = NODES.filter((_, i) => after[i] === 'v1.0.0');
    expect(later.length).toBeGreaterThanOrEqual(2);
    for (const node of later) {
      expect(linesOf(p, node, runId).filter((e) => e.event === 'activated')).toEqual([]);
      expect(p.current(node)).toMatch(/_v1\.0\.0_/);
    }
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/lost its deploy lock on prod \(node\d( and \d more)?\): the lock was removed/);
    expect(run.stderr).toMatch(/It stopped before its next switch\. Rolled back node1/);
    // The nodes it had switched went back (it took the removed lock again for that): the fleet is whole.
    expect(versions(p)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    const lost = NODES.flatMap((node) => linesOf(p, node, runId).filter((e) => e.event === 'lock_lost'));
    expect(lost.length).toBeGreaterThan(0);
    for (const node of NODES) {
      expect(p.journal(node).some((e) => e.event === 'lock_broken' && /unlock --force by /.test(e.reason ?? ''))).toBe(
        true,
      );
      expect(linesOf(p, node, runId).at(-1)).toMatchObject({ event: 'run_finished', result: 'rolled_back' });
      expect(p.lockExists(node)).toBe(false);
    }
    expect((await p.deploy(['prod', 'v1.5.0'])).code).toBe(0);
  });

  it("deploy unlock without --force leaves a running deploy's lock (exit 4, says how); with --force it ends it, journaled with who", async () => {
    const p = await deployed();
    const { run, value, runId } = await interrupted(p, async (q) => {
      const plain = await q.deploy(['unlock', 'prod']);
      // The run id the dashboard shows and passes: a run's, not a freeze's.
      const owner = JSON.parse(fs.readFileSync(q.nodePath('node1', '.relink', 'lock', 'owner.json'), 'utf8'));
      const named = await q.deploy(['unlock', 'prod', '--run', (owner as { run: string }).run]);
      const held = NODES.map((node) => q.lockExists(node));
      const forced: Result = await q.deploy(['unlock', 'prod', '--force']);
      return { plain, named, held, forced };
    });
    for (const refused of [value.plain, value.named]) {
      expect(refused.code).toBe(4);
      expect(refused.stderr).toMatch(/held by .*: not a freeze, and unlock lifts only freezes\. Nothing was changed/);
      expect(refused.stderr).toMatch(/deploy unlock prod --force/);
    }
    expect(value.held).toEqual([true, true, true, true]);
    expect(value.forced.code).toBe(0);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/lost its deploy lock on prod/);
    for (const node of NODES) {
      const broken = p.journal(node).filter((e) => e.event === 'lock_broken');
      expect(broken).toHaveLength(1);
      expect(broken[0]!.reason).toMatch(new RegExp(`^unlock --force by [^;]+; was held by .*run ${runId}\\)`));
    }
  });

  it('a lock taken by another run mid-rollout: the nodes it holds are left alone and named, the others go back', async () => {
    const p = await deployed();
    const other = JSON.stringify({
      run: 'other-run',
      kind: 'run',
      user: 'bo',
      host: 'elsewhere',
      pid: 1,
      machine: 'f'.repeat(32),
      command: 'deploy prod v9',
      since: new Date().toISOString(),
      heartbeat: new Date().toISOString(),
    });
    const { run, after, runId } = await interrupted(p, async (q) => {
      // Once node2 has switched (its restart takes 2 s), through the nodes' bind-mounted /srv, as another
      // run's `mkdir` + owner.json would leave it.
      await new Promise((resolve) => setTimeout(resolve, 700));
      // The new lock is staged beside the old one and renamed into place: removing the old one in place
      // races with the run's heartbeat, which writes its owner.json.tmp inside it.
      for (const node of NODES) {
        const lock = q.nodePath(node, '.relink', 'lock');
        fs.mkdirSync(`${lock}.new`);
        fs.writeFileSync(path.join(`${lock}.new`, 'owner.json'), `${other}\n`);
        fs.renameSync(lock, `${lock}.old`);
        fs.renameSync(`${lock}.new`, lock);
        fs.rmSync(`${lock}.old`, { recursive: true, force: true });
      }
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/it is now held by bo on elsewhere \(pid 1, run other-run\)/);
    const switched = NODES.filter((_, i) => after[i] === 'v1.5.0');
    expect(switched.length).toBeGreaterThanOrEqual(1);
    expect(run.stderr).toMatch(new RegExp(`${switched[0]}: not put back, left on this run's release`));
    // The other run's nodes are not touched: those switched before stay, the rest never switched.
    expect(versions(p)).toEqual(after);
    for (const node of NODES) {
      expect(fs.readFileSync(p.nodePath(node, '.relink', 'lock', 'owner.json'), 'utf8')).toBe(`${other}\n`);
      if (switched.includes(node))
        expect(linesOf(p, node, runId).some((e) => e.event === 'lock_lost' && /other-run/.test(e.reason ?? ''))).toBe(
          true,
        );
    }
    expect((await p.deploy(['unlock', 'prod', '--force'])).code).toBe(0);
  });
});
