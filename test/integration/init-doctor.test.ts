import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { distDir, readSandbox, repoRoot, type Sandbox } from '../helpers/project.js';
import { cliJson } from '../helpers/json.js';

let sb: Sandbox;
let dir: string;
let home: string;

/** The built CLI in the new project, as a user would run it: their HOME, not a terminal. */
async function deploy(args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [path.join(distDir, 'bin', 'deploy.js'), ...args], {
      cwd: dir,
      env: { ...process.env, HOME: home, CI: 'true' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-init-it-'));
  dir = path.join(tmp, 'shop');
  home = path.join(tmp, 'home');
  execFileSync('git', ['init', '-q', dir]);
  // What `npm i -D relink` leaves: the package with its dist/ and docs/ (the hosts files' $schema points there).
  const pkg = path.join(dir, 'node_modules', 'relink');
  fs.mkdirSync(pkg, { recursive: true });
  const { name, type, exports } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name, type, exports }));
  fs.symlinkSync(distDir, path.join(pkg, 'dist'));
  fs.symlinkSync(path.join(repoRoot, 'docs'), path.join(pkg, 'docs'));
  // The user's own ssh setup, where relink looks by default: their key and known_hosts.
  fs.mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
  fs.copyFileSync(path.join(sb.dir, 'id_ed25519'), path.join(home, '.ssh', 'id_ed25519'));
  fs.chmodSync(path.join(home, '.ssh', 'id_ed25519'), 0o600);
  fs.copyFileSync(path.join(sb.dir, 'known_hosts'), path.join(home, '.ssh', 'known_hosts'));
});

afterAll(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

describe('deploy init, then deploy doctor against the sandbox', () => {
  it('in an empty git repository: init, fill in the hosts with the sandbox nodes, doctor prod passes (exit 0)', async () => {
    const deployTo = `/srv/init-${crypto.randomBytes(3).toString('hex')}`;
    // Each node as name=address:port: init writes its address and SSH port.
    const nodes = sb.nodes.map((n) => `${n.name}=${n.address}:${n.sshPort}`).join(',');
    const init = await deploy([
      'init',
      '--project',
      'shop',
      '--deploy-to',
      deployTo,
      '--lb',
      'haproxy',
      '--hosts',
      nodes,
    ]);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('npx deploy doctor prod');

    // No placeholder environment: only prod, which --hosts named.
    expect(fs.readdirSync(path.join(dir, 'hosts'))).toEqual(['prod.yaml']);
    // Filling in, as the comments in the file ask: each node's user and app port; the LB's socket.
    const file = path.join(dir, 'hosts', 'prod.yaml');
    const doc = parseDocument(fs.readFileSync(file, 'utf8'));
    sb.nodes.forEach((n, i) => {
      expect([doc.getIn(['hosts', i, 'address']), doc.getIn(['hosts', i, 'port'])]).toEqual([n.address, n.sshPort]);
      doc.setIn(['hosts', i, 'user'], 'relink');
      doc.setIn(['hosts', i, 'vars', 'appPort'], n.appPort);
    });
    doc.setIn(['lb', 'socket'], sb.haproxy.socket);
    doc.setIn(['lb', 'backend'], sb.haproxy.backend);
    fs.writeFileSync(file, doc.toString());
    expect(fs.readFileSync(file, 'utf8').split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=/);

    const doctor = await deploy(['doctor', 'prod']);
    expect(doctor.stderr).toBe('');
    expect(doctor.stdout).toContain('nothing blocks a release to prod');
    expect(doctor.code).toBe(0);
    const report = cliJson('doctor', (await deploy(['doctor', 'prod', '--json'])).stdout);
    expect(report.ok).toBe(true);
    for (const n of sb.nodes) {
      const checks = report.checks.filter((c) => c.node === n.name && c.ok).map((c) => c.check);
      expect(checks, n.name).toEqual(expect.arrayContaining(['ssh', 'deployTo', 'disk', 'tools', 'lock']));
    }
    expect(report.checks).toContainEqual(expect.objectContaining({ node: 'lb', check: 'haproxy', ok: true }));
    // doctor changes nothing: the deploy directory is still to be created.
    expect(report.checks.find((c) => c.check === 'deployTo')).toMatchObject({
      detail: expect.stringContaining('will be created'),
    });
  });
});
