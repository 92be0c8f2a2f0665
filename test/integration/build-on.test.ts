import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Project, readSandbox, type Sandbox, stopApps } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;
const NODES = ['node1', 'node2', 'node3', 'node4'];
/** A platform unlike the sandbox nodes' (this machine's), standing in for the deploy machine's. */
const STAND_IN = 'linux-arm64-glibc2.17';

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb);
});

afterAll(() => {
  stopApps(sb);
  project.remove();
});

/**
 * The build: the example app's, then where it ran (the SSH connection the build came in on: empty on the
 * deploy machine, whose build gets only the basics of its environment) and a native addon.
 */
function buildOn(where: string): void {
  const file = project.configFile;
  const command = 'node build.mjs && echo \\"$SSH_CONNECTION\\" > built-on.txt && touch addon.node';
  const text = fs
    .readFileSync(file, 'utf8')
    .replace(/build: \{[^}]*\},/, `build: { command: "${command}", on: '${where}' },`);
  fs.writeFileSync(file, text);
}

const cached = () =>
  fs
    .readdirSync(path.join(project.dir, '.relink', 'artifacts'))
    .filter((f) => f.endsWith('.d')) // push sends from a directory (distribution/delta.ts)
    .sort();

describe('build.on: the build runs on a node of the environment', () => {
  it('build.on node1: built there, every node gets that release, the build dir is gone, one artifact cached', async () => {
    buildOn('node1');
    const result = await project.deploy(['prod', 'v1.0.0']);
    expect(result.code, result.stderr).toBe(0);
    const release = project.current('node1')!.replace('releases/', '');
    const node1 = sb.nodes.find((n) => n.name === 'node1')!;
    for (const node of NODES) {
      expect(project.current(node), node).toBe(`releases/${release}`);
      // The build came in over node1's sshd: its address and port end the SSH connection it saw.
      const builtOn = fs.readFileSync(project.nodePath(node, 'releases', release, 'built-on.txt'), 'utf8').trim();
      expect(builtOn, node).toMatch(new RegExp(` ${node1.address.replaceAll('.', '\\.')} ${node1.sshPort}$`));
    }
    expect(fs.readdirSync(project.nodePath('node1', '.relink', 'build'))).toEqual([]);
    for (const node of ['node2', 'node3', 'node4'])
      expect(fs.existsSync(project.nodePath(node, '.relink', 'build')), node).toBe(false);
    const platform = /artifact [\d.]+ MB sha256 [0-9a-f]{16}… for (\S+)/.exec(result.stdout)?.[1];
    expect(platform, result.stdout).toMatch(/^linux-(x64|arm64)-glibc\d+\.\d+$/);
    expect(cached()).toEqual([
      expect.stringMatching(new RegExp(`^hello-${platform!.replaceAll('.', '\\.')}-[0-9a-f]{16}\\.d$`)),
    ]);
    // The addon was built where the nodes run: no warning.
    expect(`${result.stdout}${result.stderr}`).not.toContain('native addons');
  });

  it('a build here for a stand-in platform: a second artifact, and the native addon is warned about', async () => {
    buildOn('local');
    const result = await project.deploy(['prod', 'v1.0.0'], { RELINK_BUILD_PLATFORM: STAND_IN });
    expect(result.code, result.stderr).toBe(0);
    const output = `${result.stdout}${result.stderr}`;
    expect(output).toMatch(
      new RegExp(
        `the release holds native addons \\(addon\\.node\\) built on ${STAND_IN.replaceAll('.', '\\.')}, unlike ` +
          'node1 \\(linux-\\S+\\), node2 \\(linux-\\S+\\), node3 \\(linux-\\S+\\), node4 \\(linux-\\S+\\): ' +
          'they may not load there',
      ),
    );
    const release = project.current('node2')!.replace('releases/', '');
    expect(fs.readFileSync(project.nodePath('node2', 'releases', release, 'built-on.txt'), 'utf8')).toBe('\n');
    // One artifact per platform key.
    const artifacts = cached();
    expect(artifacts).toHaveLength(2);
    expect(artifacts.filter((f) => f.startsWith(`hello-${STAND_IN}-`))).toHaveLength(1);
  });

  it("doctor shows each node's architecture and libc, and warns where the build platform differs", async () => {
    const same = await project.deploy(['doctor', 'prod']);
    expect(same.stdout).toMatch(
      /node1\s+platform\s+ok\s+(x86_64|aarch64), glibc \d+\.\d+ \(linux-\S+\); builds on this machine/,
    );
    const unlike = await project.deploy(['doctor', 'prod'], { RELINK_BUILD_PLATFORM: STAND_IN });
    for (const node of NODES)
      expect(unlike.stdout).toMatch(
        new RegExp(
          `${node}\\s+platform\\s+warn\\s+.*builds on this machine: ${STAND_IN.replaceAll('.', '\\.')}: native`,
        ),
      );
    expect(unlike.code).toBe(same.code);
  });
});
