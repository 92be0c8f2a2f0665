import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distDir } from '../helpers/project.js';

const bin = path.join(distDir, 'bin', 'deploy.js');
let dir: string;

async function cli(args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [bin, ...args], {
      cwd: dir,
      env: { ...process.env, CI: 'true' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-cli-announce-'));
  fs.mkdirSync(path.join(dir, 'hosts'));
  fs.writeFileSync(
    path.join(dir, 'hosts', 'prod.yaml'),
    'hosts:\n  - name: web1\n    address: 127.0.0.1\n    port: 2999\n',
  );
  fs.writeFileSync(
    path.join(dir, 'deploy.config.ts'),
    "export default { project: 'hello', repo: './app', deployTo: '/srv/cli-test', timezone: 'Europe/Berlin' };\n",
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('help', () => {
  it("a verb's help and `deploy help` are wrapped to the width (100 in a pipe), every line", async () => {
    for (const args of [['announce', '--help'], ['status', '-h'], ['help']]) {
      const { stdout } = await cli(args);
      expect(stdout.split('\n').length, args.join(' ')).toBeGreaterThan(5);
      for (const line of stdout.split('\n')) expect(line.length, `${args.join(' ')}: ${line}`).toBeLessThanOrEqual(100);
    }
  });
});

describe('deploy announce', () => {
  it('is a verb with --at and --json', async () => {
    const help = await cli(['announce', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/deploy announce <env> <version>/);
    expect(help.stdout).toMatch(/--at/);
    expect(help.stdout).toMatch(/--json/);
    expect((await cli(['--help'])).stdout).toMatch(/deploy announce <env> <version>\s+announce a release ahead/);
  });

  it('refuses a time it cannot read, or one that is past, with exit 2 before reading any node', async () => {
    const unread = await cli(['announce', 'prod', 'v1.0.0', '--at', 'tomorrow']);
    expect(unread.code).toBe(2);
    expect(unread.stderr).toMatch(/--at: "tomorrow" is not a time such as 2026-12-08 17:00/);
    const past = await cli(['announce', 'prod', 'v1.0.0', '--at', '2020-01-01 10:00']);
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/--at 2020-01-01 10:00 is past \(2020-01-01T09:00:00\.000Z\)/);
  });
});
