import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { httpText, onNode, Project, readSandbox, servedThroughLb, stopApps, type Sandbox } from '../helpers/project.js';
import { cliJson } from '../helpers/json.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
});

function versionsOf(project: Project): string[] {
  return NODES.map((node) => project.current(node)?.match(/_(v[\d.]+)_/)?.[1] ?? 'none');
}

describe('rollback on a 4-node sandbox', () => {
  let project: Project;

  beforeAll(async () => {
    stopApps(sb);
    project = new Project(sb);
    for (const v of ['v1.0.0', 'v1.1.0', 'v1.2.0']) expect((await project.deploy(['prod', v])).code).toBe(0);
  });
  afterAll(() => {
    stopApps(sb);
    project.remove();
  });

  it('--last goes to v1.1.0 on every node, served by the app and HAProxy, and is journaled', async () => {
    const result = await project.deploy(['rollback', 'prod', '--last', '--reason', 'checkout broken']);
    expect(result.code).toBe(0);
    expect(versionsOf(project)).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0', 'v1.1.0']);
    expect(await httpText(`http://${sb.nodes[2]!.address}:${sb.nodes[2]!.appPort}/`)).toContain('from v1.1.0');
    expect((await servedThroughLb(sb, 'v1.1.0')).every((a) => a.includes('v1.1.0'))).toBe(true);
    for (const node of NODES) {
      const back = project
        .journal(node)
        .filter((e) => e.event === 'rolled_back')
        .at(-1)!;
      expect(back).toMatchObject({ version: 'v1.1.0', reason: 'checkout broken' });
      expect(back.from).toMatch(/_v1\.2\.0_/);
      expect(back.user).toBeTruthy();
      expect(project.journal(node).at(-1)).toMatchObject({
        event: 'run_finished',
        command: 'rollback prod --last',
        result: 'success',
      });
      expect(project.lockExists(node)).toBe(false);
    }
  });

  it('a second --last goes further back to v1.0.0, not forward', async () => {
    const result = await project.deploy(['rollback', 'prod', '--last']);
    expect(result.code).toBe(0);
    expect(versionsOf(project)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
  });

  it('--to v1.2.0 returns to the release rolled back from', async () => {
    const result = await project.deploy(['rollback', 'prod', '--to', 'v1.2.0']);
    expect(result.code).toBe(0);
    expect(versionsOf(project)).toEqual(['v1.2.0', 'v1.2.0', 'v1.2.0', 'v1.2.0']);
    expect((await servedThroughLb(sb, 'v1.2.0')).every((a) => a.includes('v1.2.0'))).toBe(true);
  });

  it('releases --json and status --json match what is on the nodes', async () => {
    const releases = cliJson('releases', (await project.deploy(['releases', 'prod', '--json'])).stdout);
    for (const n of releases.nodes) {
      expect(n.releases.map((r) => r.name).sort()).toEqual(project.releases(n.node));
      expect(n.current).toBe(project.current(n.node)!.replace('releases/', ''));
      expect(n.releases.filter((r) => r.current).map((r) => r.version)).toEqual(['v1.2.0']);
      expect(n.releases.find((r) => r.version === 'v1.1.0')!.status).toBe('bad');
      expect(n.releases.find((r) => r.version === 'v1.0.0')!.status).toBe('good');
    }
    const status = await project.deploy(['status', 'prod', '--json', '--check']);
    expect(status.code).toBe(0);
    const parsed = cliJson('status', status.stdout);
    expect(parsed.drift).toBe(false);
    for (const n of parsed.nodes) {
      expect(n).toMatchObject({
        version: 'v1.2.0',
        healthy: true,
        current: project.current(n.node)!.replace('releases/', ''),
      });
    }
  });

  it('a node relinked by hand is reported as drift and status --check exits non-zero', async () => {
    const other = project.releases('node3').find((r) => r.includes('_v1.1.0_'))!;
    onNode(sb, 'node3', `ln -sfn releases/${other} ${project.deployTo}/current`);
    try {
      const status = await project.deploy(['status', 'prod', '--check']);
      expect(status.code).toBe(1);
      expect(status.stdout).toMatch(/warning: drift: the nodes run 2 different releases/);
      expect(status.stdout).toMatch(new RegExp(`${other}: node3`));
      const json = cliJson('status', (await project.deploy(['status', 'prod', '--json'])).stdout);
      expect(json.drift).toBe(true);
    } finally {
      onNode(
        sb,
        'node3',
        `ln -sfn releases/${project.current('node1')!.replace('releases/', '')} ${project.deployTo}/current`,
      );
    }
  });

  it('deploy logs shows the app log with the node name in front', async () => {
    const result = await project.deploy(['logs', 'prod', '-n', '3', '--node', 'node2', '--node', 'node4']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => /^node[24] \| /.test(l))).toBe(true);
    expect(result.stdout).toMatch(new RegExp(`node2 \\| .*listening on ${sb.nodes[1]!.appPort}`));
  });

  it('refuses while another run holds the lock, naming it; --force breaks it and journals that', async () => {
    const owner = {
      run: 'other-run',
      user: 'ana',
      host: 'laptop',
      pid: 4242,
      command: 'deploy prod v9',
      since: new Date(Date.now() - 120_000).toISOString(),
    };
    onNode(
      sb,
      'node3',
      `mkdir -p ${project.deployTo}/.relink/lock && printf '%s' '${JSON.stringify(owner)}' > ${project.deployTo}/.relink/lock/owner.json`,
    );
    const refused = await project.deploy(['rollback', 'prod', '--last']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(
      /deploy lock on prod is held \(node3\) by ana on laptop \(pid 4242, run other-run\) since .* 2m\ds ago: deploy prod v9/,
    );
    expect(versionsOf(project)).toEqual(['v1.2.0', 'v1.2.0', 'v1.2.0', 'v1.2.0']);
    expect(project.lockExists('node1')).toBe(false);
    const forced = await project.deploy(['rollback', 'prod', '--to', 'v1.1.0', '--force']);
    expect(forced.code).toBe(0);
    expect(versionsOf(project)).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0', 'v1.1.0']);
    expect(project.journal('node3').find((e) => e.event === 'lock_broken')!.reason).toMatch(
      /was held by ana on laptop/,
    );
    expect(project.lockExists('node3')).toBe(false);
  });

  it('a hand-deleted release dir: --last refuses naming the node, --force rolls back the others', async () => {
    // Now on v1.1.0 everywhere, moved back from v1.2.0 (bad now): the previous good release is v1.0.0.
    const target = project.releases('node2').find((r) => r.includes('_v1.0.0_'))!;
    fs.rmSync(project.nodePath('node2', 'releases', target), { recursive: true });
    const refused = await project.deploy(['rollback', 'prod', '--last']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/rollback refused: 1 node\(s\) cannot be rolled back\. Nothing was changed\./);
    expect(refused.stderr).toMatch(new RegExp(`node2 .*!! ${target} is not on disk`));
    expect(versionsOf(project)).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0', 'v1.1.0']);
    const forced = await project.deploy(['rollback', 'prod', '--last', '--force']);
    expect(forced.code).toBe(0);
    expect(versionsOf(project)).toEqual(['v1.0.0', 'v1.1.0', 'v1.0.0', 'v1.0.0']);
  });

  it('--emergency works with the git repository moved away and the local build cache deleted', async () => {
    fs.renameSync(project.appRepo, `${project.appRepo}.moved`);
    fs.rmSync(path.join(project.dir, '.relink'), { recursive: true, force: true });
    try {
      const result = await project.deploy(['rollback', 'prod', '--to', 'v1.1.0', '--emergency']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(versionsOf(project)).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0', 'v1.1.0']);
      for (const node of ['node1', 'node3', 'node4']) {
        expect(
          project
            .journal(node)
            .filter((e) => e.event === 'rolled_back')
            .at(-1),
        ).toMatchObject({ emergency: true, version: 'v1.1.0' });
      }
      for (const node of NODES)
        expect(project.journal(node).at(-1)).toMatchObject({
          command: 'rollback prod --to v1.1.0 --emergency',
          result: 'success',
          emergency: true,
        });
      expect((await servedThroughLb(sb, 'v1.1.0')).every((a) => a.includes('v1.1.0'))).toBe(true);
    } finally {
      fs.renameSync(`${project.appRepo}.moved`, project.appRepo);
    }
  });
});

describe('rollback refusals', () => {
  it('no previous good release: refuse with a table, change nothing', async () => {
    stopApps(sb);
    const project = new Project(sb);
    try {
      expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
      const result = await project.deploy(['rollback', 'prod', '--last']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/rollback refused: 4 node\(s\) cannot be rolled back/);
      expect(result.stderr).toMatch(/node1 +v1\.0\.0 +-> - +!! no previous good release in the journal/);
      expect(versionsOf(project)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    } finally {
      stopApps(sb);
      project.remove();
    }
  });

  it('--to a release only some nodes have: refuse; --force moves only those', async () => {
    stopApps(sb);
    const project = new Project(sb);
    try {
      expect((await project.deploy(['prod', 'v1.0.0', '--node', 'node1', '--node', 'node2'])).code).toBe(0);
      expect((await project.deploy(['prod', 'v1.1.0'])).code).toBe(0);
      const refused = await project.deploy(['rollback', 'prod', '--to', 'v1.0.0']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/node3 .*!! no release "v1\.0\.0" that passed a smoke test here/);
      expect(versionsOf(project)).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0', 'v1.1.0']);
      const forced = await project.deploy(['rollback', 'prod', '--to', 'v1.0.0', '--force']);
      expect(forced.code).toBe(0);
      expect(versionsOf(project)).toEqual(['v1.0.0', 'v1.0.0', 'v1.1.0', 'v1.1.0']);
    } finally {
      stopApps(sb);
      project.remove();
    }
  });

  it('a node unreachable during --last: refuse before touching any node; --force rolls back the rest', async () => {
    stopApps(sb);
    const project = new Project(sb);
    try {
      for (const v of ['v1.0.0', 'v1.1.0']) expect((await project.deploy(['prod', v])).code).toBe(0);
      fs.appendFileSync(
        path.join(project.dir, 'hosts', 'prod.yaml'),
        '  - name: ghost\n    address: 127.0.0.1\n    port: 2399\n    user: root\n    vars: { appPort: 8399 }\n',
      );
      const refused = await project.deploy(['rollback', 'prod', '--last']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/ghost .*!! unreachable: .*ECONNREFUSED/);
      expect(versionsOf(project)).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0', 'v1.1.0']);
      const forced = await project.deploy(['rollback', 'prod', '--last', '--force']);
      expect(forced.code).toBe(0);
      expect(versionsOf(project)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    } finally {
      stopApps(sb);
      project.remove();
    }
  });
});
