import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Project, readSandbox, stopApps, type Result, type Sandbox } from '../helpers/project.js';
import { cliJson } from '../helpers/json.js';

let sb: Sandbox;
let project: Project;

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb);
  // prod on node1-3, test on node4 (each node in one environment: no shared deployTo, no shared port).
  const prod = fs.readFileSync(path.join(project.dir, 'hosts', 'prod.yaml'), 'utf8');
  const [head, ...hosts] = prod.split('\n  - name: ');
  const block = (n: string) => hosts.find((h) => h.startsWith(`${n}\n`))!.trimEnd();
  const list = (names: string[]) => names.map((n) => `  - name: ${block(n)}`).join('\n');
  fs.writeFileSync(path.join(project.dir, 'hosts', 'prod.yaml'), `${head}\n${list(['node1', 'node2', 'node3'])}\n`);
  fs.writeFileSync(path.join(project.dir, 'hosts', 'test.yaml'), `hosts:\n${list(['node4'])}\n`);
  fs.rmSync(path.join(project.dir, 'hosts', 'dev.yaml'));
});

afterAll(() => {
  stopApps(sb);
  project.remove();
});

const PROD = ['node1', 'node2', 'node3'];
const commit = (rev: string) =>
  execFileSync('git', ['-C', project.appRepo, 'rev-parse', `${rev}^{commit}`], { encoding: 'utf8' }).trim();
const versions = () => PROD.map((n) => project.current(n)?.match(/_(v[\d.]+)_/)?.[1]);
/** The report a run wrote, from the path it printed. */
/** Everything a run said: its warnings are on stdout with its progress, its error on stderr. */
const said = (r: Result) => `${r.stdout}\n${r.stderr}`;
const reportOf = (r: Result) => fs.readFileSync(/report: (\S+\.md)/.exec(`${r.stdout}\n${r.stderr}`)![1]!, 'utf8');
const ok = async (args: string[]) => {
  const r = await project.deploy(args);
  expect([r.code, r.stderr], args.join(' ')).toEqual([0, expect.any(String)]);
  return r;
};

describe('the release gate of a rollback, and the check after a hotfix, on the sandbox', () => {
  it('a hotfix lists where its bug still runs; a rollback onto it is refused, allowed, or lands as an emergency; impact --open lists every open bug', async () => {
    await ok(['prod', 'v1.0.0']);
    await ok(['prod', 'v1.1.0']);
    await ok(['test', 'v1.1.0']);
    const poisoned = await ok(['poison', commit('v1.1.0'), '-m', 'orders are lost on retry', '--ticket', 'OPS-7']);
    const id = poisoned.stdout.trim();
    await ok(['cure', id, commit('v1.2.0')]);

    // The hotfix: its report and its warnings name the environment and node still running the bug.
    const hotfix = await ok(['prod', 'v1.2.0']);
    expect(said(hotfix)).toContain(
      `this release fixes ${id} (orders are lost on retry); still running without the fix: test/node4 (v1.1.0)`,
    );
    expect(reportOf(hotfix)).toMatch(
      new RegExp(
        `## Fixed here, still running elsewhere without the fix\\n\\n- ${id}: orders are lost on retry \\(OPS-7\\): test/node4 \\(v1\\.1\\.0\\)\\n`,
      ),
    );

    // The releases on disk show their known bugs: v1.1.0 has it, v1.0.0 and v1.2.0 do not.
    const releases = cliJson('releases', (await ok(['releases', 'prod', '--json'])).stdout);
    const bugsOf = (v: string) => releases.nodes[0]!.releases.find((r) => r.version === v)?.knownBugs;
    expect([bugsOf('v1.0.0'), bugsOf('v1.1.0'), bugsOf('v1.2.0')]).toEqual([[], [id], []]);
    expect((await ok(['releases', 'prod'])).stdout).toMatch(new RegExp(`v1\\.1\\.0 .*known bugs: ${id}`));

    // rollback --last would land on v1.1.0: refused, exit 3, the bug and the release named; nothing moved.
    const refused = await project.deploy(['rollback', 'prod', '--last']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(
      new RegExp(
        `rollback target v1\\.1\\.0 \\(hello_prod_v1\\.1\\.0_\\S+\\) contains 1 known bug\\(s\\) without their fix:\\n  ${id}  poison ${commit('v1.1.0').slice(0, 12)}  orders are lost on retry \\[OPS-7\\]`,
      ),
    );
    expect(refused.stderr).toMatch(new RegExp(`--allow-poison ${id} --reason`));
    expect(versions()).toEqual(['v1.2.0', 'v1.2.0', 'v1.2.0']);

    // With the repository down, the gate judges with the records fetched last, says so, and still refuses.
    fs.renameSync(project.appRepo, `${project.appRepo}.down`);
    try {
      const offline = await project.deploy(['rollback', 'prod', '--last']);
      expect(offline.code).toBe(3);
      expect(said(offline)).toMatch(/cannot fetch .*: the release gate uses the poison records fetched last/);
      expect(offline.stderr).toContain(`${id}  poison`);
    } finally {
      fs.renameSync(`${project.appRepo}.down`, project.appRepo);
    }
    expect(versions()).toEqual(['v1.2.0', 'v1.2.0', 'v1.2.0']);

    // Allowed by id with a reason: it goes back, journaled on every node, counted as an override.
    expect((await project.deploy(['rollback', 'prod', '--last', '--allow-poison', id])).code).toBe(2);
    await ok(['rollback', 'prod', '--last', '--allow-poison', id, '--reason', 'v1.2.0 breaks checkout']);
    expect(versions()).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0']);
    for (const node of PROD) {
      expect(project.journal(node).at(-1)).toMatchObject({
        event: 'run_finished',
        result: 'success',
        allowedPoisons: [id],
        reason: 'v1.2.0 breaks checkout',
      });
    }
    const stats = cliJson('envStats', (await ok(['stats', 'prod', '--json'])).stdout);
    expect(stats.poisonOverrides).toBe(1);

    // An emergency rollback goes ahead, and says, journals and reports the known bug it lands on.
    await ok(['prod', 'v1.2.0']);
    const emergency = await ok(['rollback', 'prod', '--last', '--emergency', '--reason', 'site down']);
    expect(said(emergency)).toMatch(
      new RegExp(
        `emergency rollback lands on v1\\.1\\.0 \\(\\S+\\), with 1 known bug\\(s\\) without their fix:\\n  ${id}`,
      ),
    );
    expect(versions()).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0']);
    expect(project.journal('node1').at(-1)).toMatchObject({ event: 'run_finished', landedOnPoisons: [id] });
    expect(reportOf(emergency)).toMatch(new RegExp(`## Known bugs still in this release\\n\\n- ${id}: orders`));
    const history = (await ok(['history', 'prod'])).stdout;
    expect(history).toContain(`landed on known bugs: ${id}`);

    // impact --open: every open bug at once, a cured one still running somewhere and one without a fix.
    const other = (await ok(['poison', commit('v1.0.0'), '-m', 'a typo on the home page'])).stdout.trim();
    const open = cliJson('impactOpen', (await ok(['impact', '--open', '--json'])).stdout);
    const where = (bug: string) =>
      open.bugs.find((b) => b.id === bug)?.affected.map((a) => `${a.env}/${a.node}/${a.version}`);
    expect(open.bugs.map((b) => b.id).sort()).toEqual([id, other].sort());
    expect(where(id)).toEqual(['prod/node1/v1.1.0', 'prod/node2/v1.1.0', 'prod/node3/v1.1.0', 'test/node4/v1.1.0']);
    expect(where(other)).toHaveLength(4);
    expect(open.bugs.find((b) => b.id === id)?.cures).toEqual([commit('v1.2.0')]);
    const text = (await ok(['impact', '--open'])).stdout;
    expect(text).toContain(`${id} (orders are lost on retry), fixed by ${commit('v1.2.0').slice(0, 12)}: 4 node(s)`);
    expect(text).toContain(`${other} (a typo on the home page), NO FIX yet: 4 node(s)`);
  });
});
