import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Project, readSandbox, type Sandbox, stopApps } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;
const NODES = ['node1', 'node2', 'node3', 'node4'];

// The hooks write into deployTo on the node they run on; a migration refuses while `no-migrations` is there.
const HOOKS = `hooks: {
    beforeSwitch: [{
      name: 'migrate',
      command: 'test ! -e "$RELINK_DEPLOY_TO/no-migrations" && echo "$RELINK_VERSION $RELINK_NODE $(pwd)" >> "$RELINK_DEPLOY_TO/migrations.log"',
    }],
    afterSwitch: [{
      name: 'clear-cache',
      command: 'echo "$RELINK_RELEASE from:$RELINK_PREVIOUS" >> "$RELINK_DEPLOY_TO/after-switch.log"',
    }],
  },`;

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb, { configExtra: HOOKS });
});
afterAll(() => {
  stopApps(sb);
  project.remove();
});

/** The lines a hook wrote on a node (none: the file is not there). */
function written(node: string, file: string): string[] {
  const at = project.nodePath(node, file);
  return fs.existsSync(at) ? fs.readFileSync(at, 'utf8').trim().split('\n') : [];
}

describe('hooks on the sandbox', () => {
  it('runs a beforeSwitch hook once per run on the pre node, an afterSwitch hook on every node', async () => {
    const first = await project.deploy(['prod', 'v1.0.0']);
    expect(first.code, first.stderr).toBe(0);
    const r1 = project.current('node1')!.replace('releases/', '');
    expect(written('node1', 'migrations.log')).toEqual([`v1.0.0 node1 ${project.deployTo}/releases/${r1}`]);
    for (const node of ['node2', 'node3', 'node4']) expect(written(node, 'migrations.log')).toEqual([]);
    for (const node of NODES) expect(written(node, 'after-switch.log')).toEqual([`${r1} from:`]);

    const second = await project.deploy(['prod', 'v1.1.0']);
    expect(second.code, second.stderr).toBe(0);
    const r2 = project.current('node1')!.replace('releases/', '');
    expect(written('node1', 'migrations.log')).toHaveLength(2);
    expect(written('node1', 'migrations.log')[1]).toMatch(/^v1\.1\.0 node1 /);
    for (const node of ['node2', 'node3', 'node4']) expect(written(node, 'migrations.log')).toEqual([]);
    for (const node of NODES) expect(written(node, 'after-switch.log')).toEqual([`${r1} from:`, `${r2} from:${r1}`]);
    // Journaled where they ran.
    const hooks = (node: string) =>
      project
        .journal(node)
        .filter((e) => e.event === 'hook_ok')
        .map((e) => e.hook);
    expect(hooks('node1')).toEqual(['migrate', 'clear-cache', 'migrate', 'clear-cache']);
    expect(hooks('node3')).toEqual(['clear-cache', 'clear-cache']);
  });

  it('a failing beforeSwitch hook leaves every node on its release, and no lock', async () => {
    const before = Object.fromEntries(NODES.map((n) => [n, project.current(n)]));
    fs.writeFileSync(project.nodePath('node1', 'no-migrations'), '');
    const result = await project.deploy(['prod', 'v1.2.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /beforeSwitch hook "migrate" failed on node1: exit 1\. The new release was removed from every node; nothing was switched\./,
    );
    expect(result.stderr).toMatch(/hooks\.beforeSwitch in deploy\.config\.ts/);
    for (const node of NODES) {
      expect(project.current(node)).toBe(before[node]);
      expect(project.lockExists(node)).toBe(false);
      expect(project.releases(node).some((r) => r.includes('v1.2.0'))).toBe(false);
      expect(written(node, 'after-switch.log')).toHaveLength(2);
    }
    expect(written('node1', 'migrations.log')).toHaveLength(2);
    expect(
      project
        .journal('node1')
        .filter((e) => e.event === 'hook_failed')
        .map((e) => e.hook),
    ).toEqual(['migrate']);
  });
});
