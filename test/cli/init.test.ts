import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { distDir } from '../helpers/project.js';

const bin = path.join(distDir, 'bin', 'deploy.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-init-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let repos = 0;
function emptyRepo(): string {
  const dir = path.join(tmp, `repo${++repos}`);
  fs.mkdirSync(dir);
  execFileSync('git', ['init', '-q', dir]);
  return dir;
}

/** The built CLI, not on a terminal (stdin closed, CI set): init must ask nothing. */
async function deploy(args: string[], cwd: string) {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [bin, ...args], {
      cwd,
      env: { ...process.env, CI: 'true' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const written = ['deploy.config.ts', 'hosts/prod.yaml', 'templates/app.env'];

describe('deploy init', () => {
  it('writes the files into the repository root (from a subdirectory too) without asking, and ignores secrets', async () => {
    const repo = emptyRepo();
    fs.mkdirSync(path.join(repo, 'src'));
    fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules\n');
    const r = await deploy(['init', '--project', 'shop', '--lb', 'nginx', '--hosts', 'a,b'], path.join(repo, 'src'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote in ${fs.realpathSync(repo)}:`);
    expect(r.stdout).not.toMatch(/\[.*\]: /); // no question was asked
    for (const file of written) expect(fs.existsSync(path.join(repo, file)), file).toBe(true);
    expect(fs.readdirSync(path.join(repo, 'hosts'))).toEqual(['prod.yaml']); // no placeholder environments
    expect(r.stdout).toContain('another environment (dev, test, pre): copy hosts/prod.yaml to hosts/<env>.yaml');
    expect(fs.readFileSync(path.join(repo, 'hosts', 'prod.yaml'), 'utf8')).toMatch(
      /driver: nginx[\s\S]*name: a[\s\S]*name: b/,
    );
    expect(fs.readFileSync(path.join(repo, '.gitignore'), 'utf8')).toBe(
      'node_modules\n\n# relink: secret values and local state\ndeploy.secrets.env\n.relink/\n',
    );
    const ignored = execFileSync('git', ['-C', repo, 'check-ignore', 'deploy.secrets.env', '.relink/cache/x']);
    expect(ignored.toString()).toBe('deploy.secrets.env\n.relink/cache/x\n');
  });

  it('never overwrites: a second run names the files that exist, writes nothing and exits 2', async () => {
    const repo = emptyRepo();
    expect((await deploy(['init'], repo)).code).toBe(0);
    fs.writeFileSync(path.join(repo, 'hosts', 'prod.yaml'), 'mine\n');
    const r = await deploy(['init', '--project', 'other', '--hosts', 'dev=d1'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'error: deploy init: deploy.config.ts, hosts/prod.yaml, templates/app.env already exist; nothing written',
    );
    expect(fs.readFileSync(path.join(repo, 'hosts', 'prod.yaml'), 'utf8')).toBe('mine\n');
    expect(fs.existsSync(path.join(repo, 'hosts', 'dev.yaml'))).toBe(false);
    expect(fs.readFileSync(path.join(repo, 'deploy.config.ts'), 'utf8')).not.toContain('other');
  });

  it('counts another config file name, or a .yml hosts file, as taken', async () => {
    const repo = emptyRepo();
    fs.writeFileSync(path.join(repo, 'deploy.config.mjs'), 'export default {};\n');
    fs.mkdirSync(path.join(repo, 'hosts'));
    fs.writeFileSync(path.join(repo, 'hosts', 'dev.yml'), 'hosts: []\n');
    const r = await deploy(['init', '--hosts', 'dev=d1'], repo);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('deploy.config.mjs, hosts/dev.yml already exist');
  });

  it('refuses bad input with exit 2: outside a git repository, a wrong option value', async () => {
    const plain = path.join(tmp, 'plain');
    fs.mkdirSync(plain);
    const outside = await deploy(['init'], plain);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('deploy init: not in a git repository');
    const repo = emptyRepo();
    expect((await deploy(['init', '--lb', 'traefik'], repo)).code).toBe(2);
    const hosts = await deploy(['init', '--hosts', 'web1=x:99999'], repo);
    expect([hosts.code, hosts.stderr]).toEqual([
      2,
      expect.stringContaining('--hosts web1=x:99999: "web1=x:99999": a port'),
    ]);
    expect(fs.readdirSync(repo)).toEqual(['.git']);
  });

  it('asks on a terminal (a pseudo-terminal here): Enter takes the default, a wrong answer is asked again', async () => {
    const repo = emptyRepo();
    const env = { ...process.env };
    delete env.CI;
    // `script` runs init on a pseudo-terminal; each answer is typed when its question is on the screen.
    const child = spawn('script', ['-qec', `node ${JSON.stringify(bin)} init --user relink`, '/dev/null'], {
      cwd: repo,
      env,
    });
    const lb = 'load balancer of prod (haproxy, nginx, none) [none]: ';
    const replies: [string, string][] = [
      ['project name [', 'shop2'],
      ['directory on the nodes [/srv/shop2]: ', ''],
      [lb, 'traefik'],
      [lb, 'haproxy'],
      ['prod nodes, comma-separated ([name=]address[:port]) [web1,web2]: ', 'x,y=10.0.0.2:2202'],
    ];
    let log = '';
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      screen += chunk.toString();
      while (replies[0] && screen.includes(replies[0][0])) {
        const [prompt, answer] = replies.shift()!;
        screen = screen.slice(screen.indexOf(prompt) + prompt.length);
        child.stdin.write(`${answer}\r`);
      }
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code, log).toBe(0);
    expect(replies).toEqual([]);
    expect(log).toContain('"traefik": haproxy, nginx or none');
    expect(log).not.toContain('SSH user'); // --user answered it
    const config = fs.readFileSync(path.join(repo, 'deploy.config.ts'), 'utf8');
    expect(config).toContain("project: 'shop2'");
    expect(config).toContain("deployTo: '/srv/shop2'");
    const prod = fs.readFileSync(path.join(repo, 'hosts', 'prod.yaml'), 'utf8');
    expect(prod).toMatch(/driver: haproxy[\s\S]*name: x[\s\S]*user: relink[\s\S]*name: y\n {4}address: 10\.0\.0\.2\n/);
  });

  it('--hosts name=address:port writes each node with its address and port; named environments only', async () => {
    const repo = emptyRepo();
    const r = await deploy(
      ['init', '--hosts', 'n1=127.0.0.1:2201,n2=127.0.0.1:2202', '--hosts', 'pre=p1=10.0.0.9'],
      repo,
    );
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(fs.readdirSync(path.join(repo, 'hosts')).sort()).toEqual(['pre.yaml', 'prod.yaml']);
    const prod = fs.readFileSync(path.join(repo, 'hosts', 'prod.yaml'), 'utf8');
    expect(prod).toMatch(/name: n1 [^\n]*\n {4}address: 127\.0\.0\.1 [^\n]*\n[^\n]*\n {4}port: 2201/);
    expect(prod).toMatch(/name: n2\n {4}address: 127\.0\.0\.1\n[^\n]*\n {4}port: 2202\n/);
    expect(fs.readFileSync(path.join(repo, 'hosts', 'pre.yaml'), 'utf8')).toMatch(
      /name: p1 .*\n {4}address: 10\.0\.0\.9 /,
    );
    expect(r.stdout).toContain('another environment (dev, test)');
  });

  it('is listed in --help', async () => {
    expect((await deploy(['--help'], tmp)).stdout).toMatch(/deploy init\s+start relink in an application's repository/);
  });
});
