import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { breakHealth, onNode, Project, readSandbox, startUntil, stopApps, type Sandbox } from '../helpers/project.js';
import { cliJson } from '../helpers/json.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
});

const slowRestart = (repo: string) => fs.appendFileSync(path.join(repo, 'bin', 'restart.sh'), 'sleep 1\n');

describe('statistics from the nodes', () => {
  let project: Project;
  beforeAll(() => {
    stopApps(sb);
    project = new Project(sb);
  });
  afterAll(() => {
    stopApps(sb);
    project.remove();
  });

  it('3 successful deploys, 1 failed, 1 rollback: exactly those counts, also without .relink and from a second copy', async () => {
    for (const v of ['v1.0.0', 'v1.1.0', 'v1.2.0']) {
      const result = await project.deploy(['prod', v]);
      expect(result.code, result.stderr).toBe(0);
    }
    project.tag('v1.3.0', breakHealth, 'break the health check');
    expect((await project.deploy(['prod', 'v1.3.0'])).code).toBe(1);
    expect((await project.deploy(['rollback', 'prod', '--last'])).code).toBe(0);

    const expected = {
      deploys: 4,
      successes: 3,
      failures: 1,
      rollbacks: 1,
      rollbacksNormal: 1,
      rollbacksEmergency: 0,
      successRate: 0.75,
    };
    const stats = cliJson('envStats', (await project.deploy(['stats', 'prod', '--json'])).stdout);
    expect(stats).toMatchObject(expected);
    expect(stats.mttrMs).toBeGreaterThan(0);
    expect(stats.lastFailure).toBeTruthy();

    fs.rmSync(path.join(project.dir, '.relink'), { recursive: true, force: true });
    expect(cliJson('envStats', (await project.deploy(['stats', 'prod', '--json'])).stdout)).toMatchObject(expected);

    const second = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-second-'));
    fs.cpSync(project.dir, second, { recursive: true, filter: (src) => !src.includes(`${path.sep}.relink`) });
    const copy = Object.create(project) as Project;
    Object.defineProperty(copy, 'dir', { value: second });
    try {
      expect(cliJson('envStats', (await copy.deploy(['stats', 'prod', '--json'])).stdout)).toMatchObject(expected);
      const history = cliJson('history', (await copy.deploy(['history', 'prod', '--json'])).stdout);
      expect(history.runs.map((r) => r.result)).toEqual(['success', 'rolled_back', 'success', 'success', 'success']);
      expect(history.runs[0]!.command).toBe('rollback prod --last');
      expect(history.runs.every((r) => r.nodes.length === 4)).toBe(true);
    } finally {
      fs.rmSync(second, { recursive: true, force: true });
    }
  });

  it('a corrupt journal line on one node is skipped with a warning; the counts come from the rest', async () => {
    fs.appendFileSync(
      project.nodePath('node2', '.relink', 'journal.jsonl'),
      '{"v":1,"run":"half-written\nnot json at all\n',
    );
    const result = await project.deploy(['stats', 'prod', '--json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: node2: skipped 2 corrupt journal line\(s\)/);
    expect(cliJson('envStats', result.stdout)).toMatchObject({ deploys: 4, successes: 3, failures: 1, rollbacks: 1 });
  });
});

describe('locks', () => {
  beforeEach(() => stopApps(sb));

  it('two deploys started at the same moment from two clones: exactly one proceeds, the other changes nothing', async () => {
    const a = new Project(sb);
    const b = new Project(sb, { deployTo: a.deployTo });
    try {
      const [ra, rb] = await Promise.all([
        a.deploy(['prod', 'v1.0.0', '--author', 'alice']),
        b.deploy(['prod', 'v1.0.0', '--author', 'bob']),
      ]);
      const codes = [ra.code, rb.code].sort();
      expect(codes).toEqual([0, 4]);
      const loser = ra.code === 4 ? { result: ra, author: 'alice' } : { result: rb, author: 'bob' };
      expect(loser.result.stderr).toMatch(/deploy lock on prod is held \(node1\) by .*deploy prod v1\.0\.0/);
      for (const node of NODES) {
        expect(a.releases(node).filter((r) => r.endsWith(`_${loser.author}`))).toEqual([]);
        expect(a.journal(node).filter((e) => e.user === loser.author)).toEqual([]);
        expect(a.lockExists(node)).toBe(false);
      }
    } finally {
      a.remove();
      b.remove();
    }
  });

  it('SIGINT during distribute: exit 130, no new release dir, no lock, journaled as interrupted', async () => {
    const project = new Project(sb);
    try {
      expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
      project.tag(
        'v1.5.0',
        (repo) => fs.writeFileSync(path.join(repo, 'payload.bin'), crypto.randomBytes(40 * 1024 * 1024)),
        'big payload',
      );
      const before = NODES.map((n) => project.releases(n));
      const done = await startUntil(project, ['prod', 'v1.5.0'], /== distribute/, (child) => child.kill('SIGINT'));
      expect(done.acted).toBe(true);
      expect(done.code).toBe(130);
      expect(done.stderr).toMatch(/interrupted by SIGINT/);
      expect(NODES.map((n) => project.releases(n))).toEqual(before);
      for (const node of NODES) {
        expect(project.current(node)).toMatch(/_v1\.0\.0_/);
        expect(project.lockExists(node)).toBe(false);
        expect(project.journal(node).at(-1)).toMatchObject({
          event: 'run_finished',
          result: 'interrupted',
          version: 'v1.5.0',
        });
      }
    } finally {
      stopApps(sb);
      project.remove();
    }
  });

  it('SIGTERM during rollout: switched nodes go back, no lock, exit 130', async () => {
    const project = new Project(sb);
    try {
      expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
      project.tag('v1.6.0', slowRestart, 'slow restart');
      const done = await startUntil(project, ['prod', 'v1.6.0'], /group 2\/4/, (child) => child.kill('SIGTERM'));
      expect(done.acted).toBe(true);
      expect(done.code).toBe(130);
      expect(done.stderr).toMatch(/Rolled back node1(, node2)? to the release each ran before/);
      for (const node of NODES) {
        expect(project.current(node)).toMatch(/_v1\.0\.0_/);
        expect(project.lockExists(node)).toBe(false);
      }
      expect(project.journal('node1').filter((e) => e.event === 'rolled_back')).toHaveLength(1);
      expect(project.journal('node4').filter((e) => e.version === 'v1.6.0' && e.event === 'activated')).toEqual([]);
    } finally {
      stopApps(sb);
      project.remove();
    }
  });

  it('SIGKILL leaves the lock; it is reported with its dead pid and age, and unlock --force clears it', async () => {
    const project = new Project(sb);
    try {
      expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
      project.tag('v1.6.0', slowRestart, 'slow restart');
      const killed = await startUntil(project, ['prod', 'v1.6.0'], /group 1\/4/, (child) => child.kill('SIGKILL'));
      const pid = killed.pid;
      expect(killed.signal).toBe('SIGKILL');
      for (const node of NODES) expect(project.lockExists(node)).toBe(true);

      const status = await project.deploy(['lock', 'status', 'prod']);
      expect(status.stdout).toMatch(
        new RegExp(
          `node1 .*\\(pid ${pid}, run .*\\) since .* ago: deploy prod v1\\.6\\.0 \\[pid ${pid} is not running on this machine\\]`,
        ),
      );

      // Seen from another machine (another machine id) the pid cannot be checked and the heartbeat is fresh:
      // the lock holds.
      const other = `-e 's/"host":"[^"]*"/"host":"other-machine"/' -e 's/"machine":"[^"]*"/"machine":"${'0'.repeat(32)}"/'`;
      for (const node of NODES) onNode(sb, node, `sed -i ${other} ${project.deployTo}/.relink/lock/owner.json`);
      const refused = await project.deploy(['prod', 'v1.0.0']);
      expect(refused.code).toBe(4);
      expect(refused.stderr).toMatch(new RegExp(`held \\(node1\\) by .* on other-machine \\(pid ${pid}`));
      expect(refused.stderr).toMatch(/next: .*deploy unlock prod --force/);

      const plain = await project.deploy(['unlock', 'prod']);
      expect(plain.code).toBe(4);
      const forced = await project.deploy(['unlock', 'prod', '--force']);
      expect(forced.code).toBe(0);
      for (const node of NODES) {
        expect(project.lockExists(node)).toBe(false);
        expect(project.journal(node).at(-1)).toMatchObject({ event: 'lock_broken' });
      }
      expect((await project.deploy(['prod', 'v1.2.0'])).code).toBe(0);
    } finally {
      stopApps(sb);
      project.remove();
    }
  });

  it('a freeze makes deploys refuse; emergency rollback with --force still works', async () => {
    const project = new Project(sb);
    try {
      for (const v of ['v1.0.0', 'v1.1.0']) expect((await project.deploy(['prod', v])).code).toBe(0);
      expect((await project.deploy(['lock', 'prod', '-m', 'audit freeze'])).code).toBe(0);
      const refused = await project.deploy(['prod', 'v1.2.0']);
      expect(refused.code).toBe(4);
      expect(refused.stderr).toMatch(/held \(node1\) by a freeze by .*: audit freeze/);
      expect(refused.stderr).toMatch(/prod is frozen\. When the freeze is over: deploy unlock prod/);
      // Refused without --force, with the command that passes the freeze printed whole (--emergency kept).
      const unforced = await project.deploy(['rollback', 'prod', '--last', '--emergency']);
      expect(unforced.code).toBe(4);
      expect(unforced.stderr).toMatch(
        /To roll back anyway \(the freeze stays\): rollback prod --last --emergency --force/,
      );
      const emergency = await project.deploy(['rollback', 'prod', '--last', '--emergency', '--force']);
      expect(emergency.code).toBe(0);
      for (const node of NODES) expect(project.current(node)).toMatch(/_v1\.0\.0_/);
      // The freeze outlives the emergency rollback: it is not broken, and the rollback is journaled under it.
      expect(project.journal('node1').some((e) => e.event === 'lock_broken')).toBe(false);
      expect(project.journal('node1').at(-1)).toMatchObject({ event: 'run_finished', result: 'success' });
      expect(emergency.stdout).toMatch(/prod stays frozen/);
      expect((await project.deploy(['prod', 'v1.2.0'])).code).toBe(4);
    } finally {
      stopApps(sb);
      project.remove();
    }
  });
});
