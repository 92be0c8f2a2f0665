import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Project, readSandbox, stopApps, type Sandbox } from '../helpers/project.js';
import { cliJson } from '../helpers/json.js';

let sb: Sandbox;
let project: Project;

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb);
  // Only prod here: the helper's dev environment shares node2's deployTo.
  fs.rmSync(path.join(project.dir, 'hosts', 'dev.yaml'));
});

afterAll(() => {
  stopApps(sb);
  project.remove();
});

describe('the release gate on the sandbox', () => {
  it('refuses a poisoned tag, allows it with --allow-poison (journaled, counted), and impact names exactly the nodes running it', async () => {
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    expect((await project.deploy(['prod', 'v1.1.0', '--node', 'node1', '--node', 'node2'])).code).toBe(0);
    const bad = execFileSync('git', ['-C', project.appRepo, 'rev-parse', 'v1.1.0^{commit}'], {
      encoding: 'utf8',
    }).trim();
    const poisoned = await project.deploy([
      'poison',
      bad,
      '-m',
      'release dir leaks in the answer',
      '--ticket',
      'OPS-9',
    ]);
    expect(poisoned.code).toBe(0);
    const id = poisoned.stdout.trim();

    const impact = cliJson('impact', (await project.deploy(['impact', id, '--json'])).stdout);
    expect(impact.affected.map((a) => `${a.env}/${a.node}/${a.version}`)).toEqual([
      'prod/node1/v1.1.0',
      'prod/node2/v1.1.0',
    ]);

    const before = ['node1', 'node2', 'node3', 'node4'].map((n) => project.current(n));
    const refused = await project.deploy(['prod', 'v1.2.0']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(
      new RegExp(
        `v1\\.2\\.0 contains 1 known bug\\(s\\) without their fix:\\n  ${id}  poison ${bad.slice(0, 12)}  release dir leaks in the answer \\[OPS-9\\]`,
      ),
    );
    expect(refused.stderr).toMatch(new RegExp(`--allow-poison ${id} --reason`));
    expect(['node1', 'node2', 'node3', 'node4'].map((n) => project.current(n))).toEqual(before);
    expect(project.journal('node1').some((e) => e.version === 'v1.2.0')).toBe(false);

    const plan = await project.deploy(['plan', 'prod', 'v1.2.0']);
    expect(plan.stdout).toMatch(
      new RegExp(`known bugs still open in this release: 1 \\(deploy refuses without --allow-poison\\)\\n    ${id}`),
    );

    const noReason = await project.deploy(['prod', 'v1.2.0', '--allow-poison', id]);
    expect(noReason.code).toBe(2);
    const allowed = await project.deploy([
      'prod',
      'v1.2.0',
      '--allow-poison',
      id,
      '--reason',
      'hotfix for OPS-10 cannot wait',
    ]);
    expect(allowed.code).toBe(0);
    expect(project.journal('node3').at(-1)).toMatchObject({
      event: 'run_finished',
      result: 'success',
      allowedPoisons: [id],
      reason: 'hotfix for OPS-10 cannot wait',
    });
    const stats = cliJson('envStats', (await project.deploy(['stats', 'prod', '--json'])).stdout);
    expect(stats.poisonOverrides).toBe(1);

    const after = cliJson('impact', (await project.deploy(['impact', id, '--json'])).stdout);
    expect(after.affected.map((a) => a.node)).toEqual(['node1', 'node2', 'node3', 'node4']);
  });
});
