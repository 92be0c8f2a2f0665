import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Project, readSandbox, type Sandbox, stopApps } from '../helpers/project.js';
import { cliJson } from '../helpers/json.js';

let sb: Sandbox;
let project: Project;
const NODES = ['node1', 'node2', 'node3', 'node4'];

beforeAll(async () => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb);
  const first = await project.deploy(['prod', 'v1.0.0']);
  expect(first.code, first.stderr).toBe(0);
});
afterAll(() => {
  stopApps(sb);
  project.remove();
});

describe('deploy logs --color', () => {
  beforeAll(() => {
    // The app logs in colour, and one line tries to clear the screen.
    const lines = ['\x1b[31mERROR\x1b[0m payment declined', '\x1b[2J\x1b[Hwiped?', ''].join('\n');
    fs.appendFileSync(project.nodePath('node2', 'shared', 'log', 'colour.log'), lines);
  });

  const logs = async (...extra: string[]) => {
    const result = await project.deploy(['logs', 'prod', '--node', 'node2', '-n', '2', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };

  it('never, and auto in a pipe: the colours are gone, no escape code is printed', async () => {
    for (const out of [await logs('--color', 'never'), await logs()]) {
      expect(out).toContain('node2 | ERROR payment declined\n');
      expect(out).not.toContain('\x1b');
      expect(out).not.toContain('\\x1b[31m');
      // Not a colour: shown as text, never sent to the terminal.
      expect(out).toContain('node2 | \\x1b[2J\\x1b[Hwiped?\n');
    }
  });

  it('always: the colours pass, reset at the end of the line; other sequences still shown as text', async () => {
    const out = await logs('--color', 'always');
    expect(out).toContain('node2 | \x1b[31mERROR\x1b[0m payment declined\x1b[0m\n');
    expect(out).toContain('node2 | \\x1b[2J\\x1b[Hwiped?\n');
  });

  it('a wrong value is bad input (exit 2)', async () => {
    const result = await project.deploy(['logs', 'prod', '--color', 'sometimes']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/color/);
  });
});

describe('a --node deploy of the commit the other nodes run', () => {
  const statusCheck = async () => {
    const result = await project.deploy(['status', 'prod', '--check']);
    const json = cliJson('status', (await project.deploy(['status', 'prod', '--json'])).stdout);
    return { code: result.code, stdout: result.stdout, drift: json.drift };
  };

  it('catching a node up: it gets the release name the others run, and status --check exits 0', async () => {
    const three = await project.deploy(['prod', 'v1.1.0', '--node', 'node1', '--node', 'node2', '--node', 'node3']);
    expect(three.code, three.stderr).toBe(0);
    const fleet = project.current('node1')!;
    expect(['node2', 'node3'].map((n) => project.current(n))).toEqual([fleet, fleet]);
    expect(project.current('node4')).not.toBe(fleet);
    expect((await statusCheck()).code).toBe(1); // node4 still runs v1.0.0: drift, rightly

    const last = await project.deploy(['prod', 'v1.1.0', '--node', 'node4']);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout + last.stderr).toContain(`the other nodes run v1.1.0 as ${path.basename(fleet)}`);
    expect(NODES.map((n) => project.current(n))).toEqual(NODES.map(() => fleet));
    const status = await statusCheck();
    expect([status.code, status.drift], status.stdout).toEqual([0, false]);
    expect(status.stdout).not.toMatch(/drift/);
  });

  it('redeploying a node that already runs it: a release of its own (its live dir is not replaced), no drift', async () => {
    const fleet = project.current('node1')!;
    const again = await project.deploy(['prod', 'v1.1.0', '--node', 'node3']);
    expect(again.code, again.stderr).toBe(0);
    expect(project.current('node3')).not.toBe(fleet);
    expect(project.releases('node3')).toContain(path.basename(fleet));
    const status = await statusCheck();
    expect([status.code, status.drift], status.stdout).toEqual([0, false]);
  });
});
