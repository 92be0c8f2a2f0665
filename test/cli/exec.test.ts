// `deploy exec` refuses bad input before it connects anywhere: exit 2, and the next step.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distDir } from '../helpers/project.js';

const bin = path.join(distDir, 'bin', 'deploy.js');
let dir: string;

async function deploy(args: string[]) {
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
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-cli-exec-'));
  fs.mkdirSync(path.join(dir, 'hosts'));
  // Port 9 of the loopback: nothing listens, so a command that got as far as connecting would say so.
  fs.writeFileSync(
    path.join(dir, 'hosts', 'prod.yaml'),
    'pre: web1\nhosts:\n  - { name: web1, address: 127.0.0.1, port: 9, roles: [app] }\n' +
      '  - { name: web2, address: 127.0.0.1, port: 9, roles: [app] }\n',
  );
  fs.writeFileSync(
    path.join(dir, 'deploy.config.ts'),
    "export default { project: 'hello', repo: './app', deployTo: '/srv/cli-test' };\n",
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('deploy exec, bad input (exit 2, nothing run)', () => {
  const cases: [string, string[], RegExp, RegExp][] = [
    ['no command', ['exec', 'prod'], /no command: give it after --/, /next: deploy exec prod -- uname -a/],
    [
      'the command before --',
      ['exec', 'prod', 'uname'],
      /the command goes after --/,
      /next: deploy exec prod -- uname/,
    ],
    [
      "the command's options before --",
      ['exec', 'prod', 'ls', '-la'],
      /unknown option -l, -a: the command and its options go after --/,
      /next: deploy exec prod \[options\] -- <command>/,
    ],
    [
      'an unknown environment',
      ['exec', 'staging', '--', 'uname', '-a'],
      /unknown environment "staging"/,
      /next: use one of: prod/,
    ],
    [
      'an unknown node',
      ['exec', 'prod', '--node', 'web9', '--', 'true'],
      /unknown node: web9/,
      /next: nodes of this environment: web1, web2/,
    ],
    [
      'an unknown role',
      ['exec', 'prod', '--role', 'db', '--', 'true'],
      /unknown role: db/,
      /next: roles of this environment: app/,
    ],
    [
      'a group there is not',
      ['exec', 'prod', '--group', '3', '--', 'true'],
      /no group 3/,
      /next: the groups of this environment, pre node first: 1: web1; 2: web2/,
    ],
    [
      'a bad --timeout',
      ['exec', 'prod', '--timeout', 'soon', '--', 'true'],
      /--timeout takes a duration/,
      /run deploy --help/,
    ],
    [
      'an empty command',
      ['exec', 'prod', '--', ''],
      /no command to run: give it after --/,
      /next: one quoted argument is a shell command line/,
    ],
  ];
  for (const [what, args, message, next] of cases) {
    it(what, async () => {
      const r = await deploy(args);
      expect([r.code, r.stdout]).toEqual([2, '']);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(next);
      expect(r.stderr).not.toMatch(/ECONNREFUSED|unreachable/);
    });
  }

  it('is listed in deploy --help, and its own --help shows where the command goes', async () => {
    expect((await deploy(['--help'])).stdout).toMatch(/deploy exec <env>/);
    const help = await deploy(['exec', '--help']);
    expect(help.stdout).toMatch(/deploy exec <env> \[options\] -- <command>/);
    expect(help.stdout).toMatch(/Exit codes:/);
  });
});
