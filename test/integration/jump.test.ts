import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project, readSandbox, repoRoot, type Sandbox } from '../helpers/project.js';

// A sandbox of its own: node1 on 127.0.0.1, node2 and node3 behind a jump
// node, in network namespaces this machine has no route to.
const zx = path.join(repoRoot, 'node_modules', 'zx', 'build', 'cli.js');
const script = path.join(repoRoot, 'scripts', 'sandbox.mjs');
const base = Number(process.env.RELINK_IT_PORTS ?? 23);
const app = 8000 + (base % 10) * 100;

interface JumpSandbox extends Sandbox {
  jump: { user: string; address: string; sshPort: number; dir: string };
}

let dir: string;
let sb: JumpSandbox;
let project: Project;
let jumpSpec: string;
const BEHIND = ['node2', 'node3'];
const NODES = ['node1', ...BEHIND];

/** Logins the jump node's sshd has accepted so far (its log has one line per login). */
const jumpLogins = () =>
  fs.readFileSync(path.join(sb.jump.dir, 'sshd.log'), 'utf8').match(/Accepted publickey for relink/g)?.length ?? 0;

function tcpConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-jump-'));
  const ports = ['--ssh-port', `${base}41`, '--app-port', `${app + 41}`, '--lb-port', `${app + 50}`];
  execFileSync('node', [zx, script, 'up', '--nodes', '3', '--dir', dir, ...ports, '--behind-jump', BEHIND.join(',')], {
    stdio: 'inherit',
  });
  sb = readSandbox(dir) as JumpSandbox;
  jumpSpec = `${sb.jump.user}@${sb.jump.address}:${sb.jump.sshPort}`;
  // The environment's ssh.proxyJump; the upload mode is chosen per command.
  project = new Project(sb, {
    configExtra: `environments: { prod: { ssh: { proxyJump: ${JSON.stringify(jumpSpec)} } } },
  rollout: { upload: process.env.JUMP_UPLOAD === 'rsync' ? 'rsync' : 'tar' },`,
  });
  // node1 is reachable from here and not from the jump node: it opts out.
  const hosts = sb.nodes.map((n) =>
    [
      `  - name: ${n.name}`,
      `    address: ${n.address}`,
      `    port: ${n.sshPort}`,
      '    user: root',
      `    vars: { appPort: ${n.appPort} }`,
      ...(n.name === 'node1' ? ['    proxyJump: none'] : []),
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(project.dir, 'hosts', 'prod.yaml'),
    `pre: node1\ngroupSize: 1\nhosts:\n${hosts.join('\n')}\n`,
  );
  // The app behind the jump node answers only there: the smoke test runs on the node.
  const smoke = '. ./app.env && curl -fsS "http://$BIND:$PORT/health" | grep -qF "\\"version\\":\\"$RELINK_VERSION\\""';
  const config = project.configFile;
  fs.writeFileSync(
    config,
    fs
      .readFileSync(config, 'utf8')
      .replace(/^ {2}smoke: .*$/m, `  smoke: { command: ${JSON.stringify(smoke)}, retries: 30, intervalMs: 100 },`),
  );
}, 180_000);

afterAll(() => {
  project?.remove();
  if (dir) {
    execFileSync('node', [zx, script, 'down', '--dir', dir], { stdio: 'inherit' });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('deploy through a jump host to nodes unreachable directly', () => {
  it('has no direct way to the nodes behind the jump node, only to the jump node', async () => {
    for (const name of BEHIND) {
      const node = sb.nodes.find((n) => n.name === name)!;
      expect(await tcpConnects(node.address, node.sshPort), `${name} reached directly`).toBe(false);
    }
    expect(await tcpConnects(sb.jump.address, sb.jump.sshPort)).toBe(true);
  });

  it('deploys (tar, then rsync) through one jump connection per run, and rolls back', async () => {
    const before = jumpLogins();
    const first = await project.deploy(['prod', 'v1.0.0']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    // One login at the jump node for both nodes behind it.
    expect(jumpLogins() - before).toBe(1);
    const old = project.current('node1')!;
    expect(old).toMatch(/^releases\/hello_prod_v1\.0\.0_/);
    for (const node of NODES) expect(project.current(node), node).toBe(old);

    // rsync rides each node's connection, so through the jump too; the second one hard-links against the first.
    for (const version of ['v1.1.0', 'v1.2.0']) {
      const next = await project.deploy(['prod', version], { JUMP_UPLOAD: 'rsync' });
      expect(next.stderr).toBe('');
      expect(next.code).toBe(0);
    }
    const rsynced = project.current('node1')!;
    const release = rsynced.replace('releases/', '');
    expect(release).toMatch(/^hello_prod_v1\.2\.0_/);
    for (const node of NODES) {
      expect(project.current(node), node).toBe(rsynced);
      const events = project.journal(node).filter((e) => e.release === release);
      expect(events.map((e) => e.event)).toEqual(['unpacked', 'activated', 'smoke_ok', 'run_finished']);
      // rsync links by content: v1.1.0 linked against the tar release v1.0.0, and v1.2.0 against v1.1.0, so
      // one inode serves all three releases.
      expect(fs.statSync(project.nodePath(node, rsynced, 'bin', 'restart.sh')).nlink, node).toBe(3);
    }

    const back = await project.deploy(['rollback', 'prod', '--last']);
    expect(back.code).toBe(0);
    const previous = project.releases('node1').find((r) => r.includes('_v1.1.0_'))!;
    for (const node of NODES) expect(project.current(node), node).toBe(`releases/${previous}`);
    expect(old).not.toBe(`releases/${previous}`);
  });

  it('refuses a jump host whose key is not in known_hosts, naming it; nothing changes on any node', async () => {
    const known = path.join(project.dir, 'known_hosts');
    const saved = fs.readFileSync(known, 'utf8');
    const before = NODES.map((n) => project.releases(n));
    try {
      const jumpLine = `[${sb.jump.address}]:${sb.jump.sshPort} `;
      fs.writeFileSync(
        known,
        saved
          .split('\n')
          .filter((line) => !line.startsWith(jumpLine))
          .join('\n'),
      );
      expect(fs.readFileSync(known, 'utf8')).not.toContain(jumpLine);
      const result = await project.deploy(['prod', 'v1.2.0']);
      expect(result.code).not.toBe(0);
      const jump = `relink@${sb.jump.address.replace(/\./g, '\\.')}:${sb.jump.sshPort}`;
      expect(result.stderr).toMatch(
        new RegExp(`node2 \\(root@[\\d.]+:\\d+\\): jump host \\(${jump}\\): host key is not in .*known_hosts`),
      );
      expect(result.stderr).toContain(`ssh-keyscan -p ${sb.jump.sshPort} ${sb.jump.address} >> ${known}`);
      expect(result.stderr).toContain('Nothing was changed on any node.');
      expect(NODES.map((n) => project.releases(n))).toEqual(before);
    } finally {
      fs.writeFileSync(known, saved);
    }
  });
});
