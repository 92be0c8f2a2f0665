import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distDir } from '../helpers/project.js';

const bin = path.join(distDir, 'bin', 'deploy.js');
let dir: string;

/** Runs the built binary in the project with `input` on stdin (not a terminal). */
function cli(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'node',
      [bin, ...args],
      { cwd: dir, env: { ...process.env, CI: 'true' } },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-serve-'));
  fs.mkdirSync(path.join(dir, 'hosts'));
  fs.writeFileSync(
    path.join(dir, 'hosts', 'prod.yaml'),
    'hosts:\n  - name: web1\n    address: 127.0.0.1\n    port: 2999\n',
  );
  fs.writeFileSync(
    path.join(dir, 'deploy.config.ts'),
    "export default { project: 'hello', repo: './app', deployTo: '/srv/serve-test' };\n",
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('deploy serve on the command line', () => {
  it('refuses to start while nobody could log in (exit 2)', async () => {
    const result = await cli(['serve', '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no users in .*users\.json: nobody could log in/);
    expect(result.stderr).toMatch(/deploy serve --add-user NAME --role deployer/);
  });

  it('adds a user from stdin into .relink/users.json, mode 0600, with an scrypt hash', async () => {
    const result = await cli(
      ['serve', '--add-user', 'ana', '--role', 'deployer', '--env', 'prod'],
      'a long password\n',
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ana: deployer in prod \(viewer elsewhere\)/);
    const file = path.join(dir, '.relink', 'users.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/"hash": "scrypt\$32768\$8\$1\$/);
    expect(text).not.toContain('a long password');
    expect((await cli(['serve', '--list-users'])).stdout).toMatch(/^ana +user +deployer in prod/m);
  });

  it('refuses a short password, an unknown role and a bad name, changing nothing (exit 2)', async () => {
    expect((await cli(['serve', '--add-user', 'bob', '--role', 'viewer'], 'short\n')).code).toBe(2);
    expect((await cli(['serve', '--add-user', 'bob', '--role', 'admin'], 'a long password\n')).code).toBe(2);
    expect((await cli(['serve', '--add-user', '../x', '--role', 'viewer'], 'a long password\n')).code).toBe(2);
    expect(fs.readFileSync(path.join(dir, '.relink', 'users.json'), 'utf8')).not.toContain('bob');
  });

  it('prints an API token once and keeps only its hash', async () => {
    const result = await cli(['serve', '--add-token', 'ci', '--role', 'viewer']);
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    expect(token).toMatch(/^rlk_[\w-]{32}$/);
    expect(fs.readFileSync(path.join(dir, '.relink', 'users.json'), 'utf8')).not.toContain(token);
  });

  it('refuses a non-loopback address without TLS or --behind-proxy (exit 2), and says what to give', async () => {
    const result = await cli(['serve', '--host', '0.0.0.0', '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/refusing to serve on 0\.0\.0\.0 without TLS/);
    expect(result.stderr).toMatch(/--tls-cert and --tls-key, or --behind-proxy/);
    expect((await cli(['serve', '--port', 'x'])).code).toBe(2);
    expect((await cli(['serve', '--tls-cert', 'a.pem'])).code).toBe(2);
  });

  it('ends the sessions of a user whose password is changed or who is removed, at their next request', async () => {
    expect((await cli(['serve', '--add-user', 'cy', '--role', 'viewer'], 'the first password\n')).code).toBe(0);
    const server = spawn('node', [bin, 'serve', '--port', '0'], { cwd: dir, env: { ...process.env, CI: 'true' } });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        server.stdout.on('data', (data: Buffer) => {
          out += data.toString();
          const found = /relink dashboard for hello: (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (found) resolve(found[1]!);
        });
        server.on('exit', (code) => reject(new Error(`deploy serve exited ${code}: ${out}`)));
      });
      const login = async (password: string) => {
        const answer = await fetch(`${url}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ user: 'cy', password }).toString(),
          redirect: 'manual',
        });
        return answer.status === 303 ? answer.headers.get('set-cookie')!.split(';')[0]! : undefined;
      };
      const page = async (cookie: string) => {
        const answer = await fetch(`${url}/`, { headers: { cookie }, redirect: 'manual' });
        return { status: answer.status, text: await answer.text() };
      };
      const first = (await login('the first password'))!;
      expect((await page(first)).status).toBe(200);
      const changed = await cli(['serve', '--add-user', 'cy', '--role', 'viewer'], 'the second password\n');
      expect(changed.code).toBe(0);
      const after = await page(first);
      expect(after.status).toBe(401);
      expect(after.text).toContain('action="/login"');
      expect(await login('the first password')).toBeUndefined();
      const second = (await login('the second password'))!;
      expect((await page(second)).status).toBe(200);
      expect((await cli(['serve', '--remove-user', 'cy'])).code).toBe(0);
      expect((await page(second)).status).toBe(401);
    } finally {
      server.kill('SIGTERM');
    }
  });

  it('removes a user', async () => {
    expect((await cli(['serve', '--remove-user', 'ana'])).code).toBe(0);
    expect((await cli(['serve', '--remove-user', 'ana'])).code).toBe(2);
  });
});
