import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cliJson } from '../helpers/json.js';
import { httpText, onNode, Project, readSandbox, servedThroughLb, stopApps, type Sandbox } from '../helpers/project.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
});

/**
 * A restart that first writes which config ran it (A, B, C) and for what version into deployTo/restart-mark on
 * the node, then starts the app; it fails where deployTo/break-<mark> exists.
 */
function restartMarked(mark: string): string {
  const check = `test ! -e "$RELINK_DEPLOY_TO/break-${mark}"`;
  const write = `echo "${mark} $RELINK_VERSION" > "$RELINK_DEPLOY_TO/restart-mark"`;
  return `${check} && ${write} && sh bin/restart.sh`;
}

/** An afterSwitch hook that appends which config it came from (A, B, C) and the version to deployTo/hook-mark. */
function hookMarked(mark: string): string {
  return `echo "hook-${mark} $RELINK_VERSION" >> "$RELINK_DEPLOY_TO/hook-mark"`;
}

describe('releases carry their own config (4-node sandbox)', () => {
  let project: Project;

  /** Rewrites the config: its restart, its afterSwitch hook and its shared dirs. */
  function configure(mark: string, dirs: string[]): void {
    const file = project.configFile;
    const hooks = `hooks: { afterSwitch: [{ name: 'mark', command: ${JSON.stringify(hookMarked(mark))} }] },\n`;
    const text = fs
      .readFileSync(file, 'utf8')
      .replace(/\n\s*hooks: \{ afterSwitch[^\n]*\n/, '\n')
      .replace(
        /restart: \{ command: [^\n]*\n/,
        `restart: { command: ${JSON.stringify(restartMarked(mark))}, timeoutMs: 15000 },\n  ${hooks}`,
      )
      .replace(/shared: \{ dirs: [^\n]*\n/, `shared: { dirs: ${JSON.stringify(dirs)} },\n`);
    fs.writeFileSync(file, text);
  }
  const marks = () => NODES.map((n) => fs.readFileSync(project.nodePath(n, 'restart-mark'), 'utf8').trim());
  /** The last afterSwitch hook that ran on each node: which config's, for which version. */
  const hookMarks = () =>
    NODES.map((n) => fs.readFileSync(project.nodePath(n, 'hook-mark'), 'utf8').trim().split('\n').at(-1));
  const versions = () => NODES.map((n) => project.current(n)?.match(/_(v[\d.]+)_/)?.[1] ?? 'none');
  const settingsOf = (node: string, version: string) => {
    const release = project.releases(node).find((r) => r.includes(`_${version}_`))!;
    return fs.readFileSync(project.nodePath(node, 'releases', release, '.relink', 'settings.json'), 'utf8');
  };

  beforeAll(async () => {
    stopApps(sb);
    project = new Project(sb);
    configure('A', ['log']);
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    configure('B', ['log', 'data']);
    expect((await project.deploy(['prod', 'v1.1.0'])).code).toBe(0);
  });
  afterAll(() => {
    stopApps(sb);
    project.remove();
  });

  it('every release holds the settings it was deployed with, secret names only, never a value', () => {
    expect(marks()).toEqual(NODES.map(() => 'B v1.1.0'));
    for (const node of NODES) {
      const v1 = JSON.parse(settingsOf(node, 'v1.0.0'));
      const v11 = JSON.parse(settingsOf(node, 'v1.1.0'));
      expect(v1.settings.restart.command).toBe(restartMarked('A'));
      expect(v1.settings.shared).toEqual({ dirs: ['log'], files: [] });
      expect(v11.settings.restart.command).toBe(restartMarked('B'));
      expect(v11.settings.shared).toEqual({ dirs: ['log', 'data'], files: [] });
      expect(v1.settings.hooks.afterSwitch).toMatchObject([{ name: 'mark', on: 'each', command: hookMarked('A') }]);
      expect(v11.settings.hooks.afterSwitch).toMatchObject([{ command: hookMarked('B') }]);
      expect(v11.secrets).toEqual(['APP_SECRET']);
      // The template holds the secret on the node; the settings file never does.
      const release = project.current(node)!;
      expect(fs.readFileSync(project.nodePath(node, release, 'app.env'), 'utf8')).toContain('it-secret-value');
      expect(settingsOf(node, 'v1.1.0')).not.toContain('it-secret-value');
    }
  });

  it("rollback --to v1.0.0 restarts each node with v1.0.0's own restart and afterSwitch hook, not today's", async () => {
    expect(hookMarks()).toEqual(NODES.map(() => 'hook-B v1.1.0'));
    const result = await project.deploy(['rollback', 'prod', '--to', 'v1.0.0']);
    expect(result.code, result.stderr).toBe(0);
    expect(versions()).toEqual(NODES.map(() => 'v1.0.0'));
    expect(marks()).toEqual(NODES.map(() => 'A v1.0.0'));
    expect(hookMarks()).toEqual(NODES.map(() => 'hook-A v1.0.0'));
    expect(result.stdout).toMatch(/runs with the settings it was deployed with \(hooks, restart, shared differ/);
    expect((await servedThroughLb(sb, 'v1.0.0')).every((a) => a.includes('v1.0.0'))).toBe(true);
  });

  it('--use-current-config restarts with the config as it is now', async () => {
    configure('C', ['log', 'data']);
    const result = await project.deploy(['rollback', 'prod', '--to', 'v1.1.0', '--use-current-config']);
    expect(result.code, result.stderr).toBe(0);
    expect(marks()).toEqual(NODES.map(() => 'C v1.1.0'));
    expect(hookMarks()).toEqual(NODES.map(() => 'hook-C v1.1.0'));
  });

  it('a rollback that fails on the pre node puts it back where it was, exits non-zero, marks the target bad', async () => {
    onNode(sb, 'node1', `touch ${project.deployTo}/break-A`);
    const before = NODES.map((n) => project.current(n));
    const result = await project.deploy(['rollback', 'prod', '--to', 'v1.0.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rollback stopped: node1: restart failed/);
    expect(result.stderr).toMatch(/node1 is back on the release each ran before/);
    expect(NODES.map((n) => project.current(n))).toEqual(before);
    // node1 came back with the restart its release kept (B), and serves again; the others were not touched.
    expect(marks()).toEqual(['B v1.1.0', 'C v1.1.0', 'C v1.1.0', 'C v1.1.0']);
    // Going back is a switch too: node1 ran the afterSwitch hook its release kept (B).
    expect(hookMarks()).toEqual(['hook-B v1.1.0', 'hook-C v1.1.0', 'hook-C v1.1.0', 'hook-C v1.1.0']);
    const node1 = sb.nodes[0]!;
    expect(await httpText(`http://${node1.address}:${node1.appPort}/`)).toContain('v1.1.0');
    expect((await servedThroughLb(sb, 'v1.1.0')).every((a) => a.includes('v1.1.0'))).toBe(true);
    const releases = cliJson('releases', (await project.deploy(['releases', 'prod', '--json'])).stdout);
    for (const n of releases.nodes) expect(n.releases.find((r) => r.version === 'v1.0.0')!.status).toBe('bad');
    for (const node of NODES) expect(project.lockExists(node)).toBe(false);
  });
});
