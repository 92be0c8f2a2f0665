import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { distDir, Project, readSandbox, type Sandbox, stopApps } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;

beforeAll(async () => {
  sb = readSandbox(inject('sandboxDir'));
  project = new Project(sb);
  for (const v of ['v1.0.0', 'v1.1.0', 'v1.2.0']) expect((await project.deploy(['prod', v])).code).toBe(0);
});
afterAll(() => {
  stopApps(sb);
  project.remove();
});

describe('a closed stdout ends a command quietly with exit 0 (like git log | head)', () => {
  it.each([
    ['releases', 'prod'],
    ['status', 'prod'],
    ['history', 'prod', '-n', '200'],
    ['stats'],
    ['logs', 'prod', '-n', '2000'],
    ['lock', 'status', 'prod'],
    ['doctor', 'prod'],
    ['plan', 'prod', 'v1.0.0'],
    ['--help'],
  ])('deploy %s ... | head -1', async (...args) => {
    const bin = path.join(distDir, 'bin', 'deploy.js');
    const line = `set -o pipefail; node ${bin} ${args.join(' ')} | head -1`;
    const { stdout, stderr } = await promisify(execFile)('bash', ['-c', line], {
      cwd: project.dir,
      env: { ...process.env, CI: 'true', APP_SECRET: 'it-secret-value' },
    });
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
  });
});

describe('a closed stdout does not cut a run that changes nodes short', () => {
  it('deploy prod v1.1.0 | head -1: the deploy goes on to its end (every node switched, no lock left, exit 0)', async () => {
    const bin = path.join(distDir, 'bin', 'deploy.js');
    const line = `set -o pipefail; node ${bin} prod v1.1.0 | head -1`;
    const { stdout, stderr } = await promisify(execFile)('bash', ['-c', line], {
      cwd: project.dir,
      env: { ...process.env, CI: 'true', APP_SECRET: 'it-secret-value' },
    });
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    for (const node of sb.nodes.map((n) => n.name)) {
      expect(project.current(node), node).toMatch(/_v1\.1\.0_/);
      expect(project.lockExists(node), node).toBe(false);
    }
  });
});
