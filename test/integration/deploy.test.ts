import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  breakHealth,
  httpText,
  onNode,
  Project,
  readSandbox,
  servedThroughLb,
  stopApps,
  type Sandbox,
} from '../helpers/project.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];

/**
 * The processes on this machine that carry `mark` in their environment: a run started with it passes it to
 * every process it starts (rsync, its remote shell, any ssh), so what is left after the run ended is its own.
 */
function leftBehind(mark: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`RELINK_IT_RUN=${mark}`)) continue;
      found.push(fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim());
    } catch {
      // Ended while being read.
    }
  }
  return found;
}

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
});

describe('deploy over real SSH on a 4-node sandbox', () => {
  let project: Project;

  beforeAll(() => {
    stopApps(sb);
    project = new Project(sb);
  });
  afterAll(() => {
    stopApps(sb);
    project.remove();
  });

  it('deploys v1.0.0 then v1.1.0: current, app, HAProxy and journal all show v1.1.0', async () => {
    const first = await project.deploy(['prod', 'v1.0.0']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const second = await project.deploy(['prod', 'v1.1.0']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/deployed v1\.1\.0 to 4 node\(s\) of prod/);

    const release = project.current('node1')!.replace('releases/', '');
    expect(release).toMatch(/^hello_prod_v1\.1\.0_main_\d{8}-\d{6}_/);
    for (const node of NODES) {
      expect(project.current(node)).toBe(`releases/${release}`);
      const { address, appPort } = sb.nodes.find((n) => n.name === node)!;
      expect(await httpText(`http://${address}:${appPort}/`)).toContain(`from v1.1.0 (${release})`);
      const events = project
        .journal(node)
        .filter((e) => e.release === release)
        .map((e) => e.event);
      expect(events).toEqual(['unpacked', 'activated', 'smoke_ok', 'run_finished']);
      expect(project.lockExists(node)).toBe(false);
      // The rendered template is on the node with mode 0600 and its secret, never in git.
      const env = project.nodePath(node, 'releases', release, 'app.env');
      expect(fs.statSync(env).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(env, 'utf8')).toContain('APP_SECRET=it-secret-value');
    }
    const answers = await servedThroughLb(sb, 'v1.1.0');
    expect(answers.every((a) => a.includes(`from v1.1.0 (${release})`))).toBe(true);
    // The pre node went first.
    const activations = NODES.map(
      (node) => project.journal(node).find((e) => e.release === release && e.event === 'activated')!.ts,
    );
    expect(activations[0]! <= activations[1]!).toBe(true);
    // No secret in the console output or the run logs.
    const logs = fs
      .readdirSync(path.join(project.dir, '.relink', 'logs'))
      .map((f) => fs.readFileSync(path.join(project.dir, '.relink', 'logs', f), 'utf8'));
    for (const text of [first.stdout, second.stdout, ...logs]) expect(text).not.toContain('it-secret-value');
    expect(logs.join('\n')).toMatch(/"step":"rollout:relink"/);
  });

  it('a release whose smoke test fails on pre leaves every node on v1.1.0 and exits non-zero', async () => {
    const before = NODES.map((node) => project.current(node));
    project.tag('v1.3.0', breakHealth, 'break the health check');
    const result = await project.deploy(['prod', 'v1.3.0']);
    expect(result.code).toBe(1);
    const pre = sb.nodes[0]!;
    expect(result.stderr).toContain(
      `node1: smoke test failed after 30 attempts: GET http://127.0.0.1:${pre.appPort}/health answered 500`,
    );
    expect(result.stderr).toMatch(/Rolled back node1 to the release each ran before/);
    expect(NODES.map((node) => project.current(node))).toEqual(before);
    for (const node of NODES.slice(1)) {
      expect(project.journal(node).filter((e) => e.version === 'v1.3.0' && e.event === 'activated')).toEqual([]);
    }
    const events = project.journal('node1').map((e) => e.event);
    expect(events).toContain('smoke_failed');
    expect(events).toContain('rolled_back');
    expect(await httpText(`http://127.0.0.1:${pre.appPort}/`)).toContain('from v1.1.0');
    expect(await servedThroughLb(sb, 'v1.1.0')).toHaveLength(8);
    for (const node of NODES) expect(project.lockExists(node)).toBe(false);
  });

  it('a failed upload on one node leaves no new release dir anywhere', async () => {
    // Incompressible, so the tarball is larger than the node's tiny incoming dir.
    project.tag(
      'v1.4.0',
      (repo) => {
        fs.writeFileSync(path.join(repo, 'payload.bin'), crypto.randomBytes(256 * 1024));
        const file = path.join(repo, 'server.js');
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('res.writeHead(500,', 'res.writeHead(200,'));
      },
      'add a payload, fix the health check',
    );
    const incoming = `${project.deployTo}/.relink/incoming`;
    onNode(sb, 'node3', `mkdir -p ${incoming} && mount -t tmpfs -o size=64k tmpfs ${incoming}`);
    try {
      const before = NODES.map((node) => project.releases(node));
      const result = await project.deploy(['prod', 'v1.4.0']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/distribute failed on node3: .*upload/);
      expect(result.stderr).toMatch(/The new release was removed from every node; nothing was switched/);
      expect(NODES.map((node) => project.releases(node))).toEqual(before);
      for (const node of NODES) {
        expect(project.current(node)).toMatch(/_v1\.1\.0_/);
        expect(project.lockExists(node)).toBe(false);
      }
      expect(project.journal('node1').at(-1)).toMatchObject({
        event: 'run_finished',
        result: 'failed',
        version: 'v1.4.0',
      });
    } finally {
      onNode(sb, 'node3', `umount ${incoming}`);
    }
  });
});

describe("rsync upload over the run's own SSH connection", () => {
  it('a warm deploy hard-links the unchanged files, sends the changed ones (same size too), opens no second connection and leaves no process', async () => {
    stopApps(sb);
    const project = new Project(sb, { configExtra: "rollout: { upload: 'rsync' }," });
    try {
      project.tag('v1.3.0', (repo) => fs.writeFileSync(path.join(repo, 'data.txt'), 'aaaa\n'), 'data file');
      expect((await project.deploy(['prod', 'v1.3.0'])).code).toBe(0);
      // Same size, new content: rsync compares content (--checksum), so it is sent.
      project.tag('v1.3.1', (repo) => fs.writeFileSync(path.join(repo, 'data.txt'), 'bbbb\n'), 'same-size change');
      // An `ssh` first in PATH that only fails: rsync must not start a connection of its own.
      const bin = path.join(project.dir, 'no-ssh');
      fs.mkdirSync(bin);
      fs.writeFileSync(
        path.join(bin, 'ssh'),
        '#!/bin/sh\necho "a second ssh connection was attempted" >&2\nexit 99\n',
        { mode: 0o755 },
      );
      const mark = crypto.randomUUID();
      const result = await project.deploy(['prod', 'v1.3.1'], {
        PATH: `${bin}:${process.env.PATH}`,
        RELINK_IT_RUN: mark,
      });
      expect(result.code).toBe(0);
      // Nothing the run started outlives it: no rsync, no remote-shell stand-in, no ssh.
      expect(leftBehind(mark)).toEqual([]);
      expect(result.stdout).toMatch(/node1 +distribute:upload +ok .*unchanged files hard-linked/);
      for (const node of NODES) {
        const [older, newer] = project.releases(node);
        const inode = (release: string, file: string) =>
          fs.statSync(project.nodePath(node, 'releases', release!, file)).ino;
        expect(inode(newer!, 'server.js')).toBe(inode(older!, 'server.js'));
        expect(inode(newer!, 'data.txt')).not.toBe(inode(older!, 'data.txt'));
        expect(fs.readFileSync(project.nodePath(node, 'releases', newer!, 'data.txt'), 'utf8')).toBe('bbbb\n');
        expect(project.current(node)).toBe(`releases/${newer}`);
      }
      expect((await servedThroughLb(sb, 'v1.3.1')).every((a) => a.includes('v1.3.1'))).toBe(true);
    } finally {
      stopApps(sb);
      project.remove();
    }
  });
});

describe('bad input and unreachable nodes stop the deploy before any node changes', () => {
  beforeEach(() => stopApps(sb));

  it('a node with an unknown host key: bad input (exit 2) naming the node and how to trust it, nothing changed', async () => {
    const port = sb.nodes[1]!.sshPort;
    const known = fs
      .readFileSync(path.join(sb.dir, 'known_hosts'), 'utf8')
      .split('\n')
      .filter((l) => !l.includes(`:${port} `))
      .join('\n');
    const project = new Project(sb, { knownHosts: known });
    try {
      const result = await project.deploy(['prod', 'v1.0.0']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        new RegExp(`node2 \\(root@127\\.0\\.0\\.1:${port}\\): host key is not in .*known_hosts; refusing`),
      );
      expect(result.stderr).toMatch(
        new RegExp(
          `next: check the node's fingerprint, then add it deliberately: ssh-keyscan -p ${port} 127\\.0\\.0\\.1 >>`,
        ),
      );
      for (const node of NODES) {
        expect(project.releases(node)).toEqual([]);
        expect(project.lockExists(node)).toBe(false);
      }
    } finally {
      project.remove();
    }
  });

  it('a node that refuses the connection: abort naming it, nothing changed on the others', async () => {
    const project = new Project(sb, {
      extraHosts: [
        '  - name: ghost',
        '    address: 127.0.0.1',
        '    port: 2399',
        '    user: root',
        '    vars: { appPort: 8399 }',
      ],
    });
    try {
      const result = await project.deploy(['prod', 'v1.0.0']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/ghost \(root@127\.0\.0\.1:2399\): cannot connect: .*ECONNREFUSED/);
      expect(result.stderr).toMatch(/Nothing was changed on any node/);
      for (const node of NODES) expect(project.current(node)).toBeUndefined();
    } finally {
      project.remove();
    }
  });

  it('deployTo not writable by the ordinary deploy user: abort naming the node', async () => {
    for (const node of NODES) onNode(sb, node, 'mkdir -p /srv/rootonly && chmod 755 /srv/rootonly');
    const project = new Project(sb, { user: 'relink', deployTo: '/srv/rootonly/app' });
    try {
      const result = await project.deploy(['prod', 'v1.0.0']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /node\d: \/srv\/rootonly\/app is not writable by relink\. Nothing was changed on any node\./,
      );
      expect(result.stderr).toMatch(/next: make \/srv\/rootonly\/app writable for relink/);
    } finally {
      project.remove();
    }
  });

  it('deploys as an ordinary user where the inventory says so', async () => {
    for (const node of NODES) onNode(sb, node, 'mkdir -p /srv/userapp && chown relink /srv/userapp');
    const project = new Project(sb, { user: 'relink', deployTo: '/srv/userapp' });
    try {
      const result = await project.deploy(['prod', 'v1.0.0']);
      expect(result.code).toBe(0);
      for (const node of NODES) {
        const owner = onNode(
          sb,
          node,
          `stat -c %U /srv/userapp/${project.current(node)} && ps -o user= -p $(cat /srv/userapp/shared/run/app.pid)`,
        );
        expect(owner.trim().split('\n')).toEqual(['relink', 'relink']);
      }
    } finally {
      stopApps(sb);
      project.remove();
    }
  });

  it('a branch and author full of shell syntax run nothing and give a safe release name', async () => {
    const marker = `/tmp/relink-pwned-${process.pid}`;
    const project = new Project(sb);
    try {
      const branch = `x$(touch\${IFS}${marker}-b)\`touch\${IFS}${marker}-c\`"'`;
      execFileSync('git', ['-C', project.appRepo, 'branch', '-m', 'main', branch]);
      const author = `Zoë "$(touch ${marker}-a)" \`id\` O'Neil`;
      const result = await project.deploy(['dev', 'v1.0.0', '--author', author]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const release = project.current('node2')!.replace('releases/', '');
      const parts = release.split('_');
      expect(parts).toHaveLength(6);
      for (const part of parts) expect(part).toMatch(/^[A-Za-z0-9.-]+$/);
      expect(parts.slice(0, 3)).toEqual(['hello', 'dev', 'v1.0.0']);
      expect(parts[3]).toMatch(/^x-touch-IFS-tmp-relink-pwned-\d+-b-/);
      expect(parts[5]).toMatch(/^Zo-touch-tmp-relink-pwned-\d+/);
      for (const suffix of ['a', 'b', 'c']) expect(fs.existsSync(`${marker}-${suffix}`)).toBe(false);
      expect(onNode(sb, 'node2', `ls /srv /tmp | grep -c relink-pwned || true`).trim()).toBe('0');
      const activated = project.journal('node2').find((e) => e.event === 'activated')!;
      expect(activated.user).toBe(author);
    } finally {
      stopApps(sb);
      project.remove();
    }
  });
});
