import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  onNode,
  Project,
  readSandbox,
  repoRoot,
  servedThroughLb,
  startUntil,
  stopApps,
  type Sandbox,
} from '../helpers/project.js';
import { cliJson } from '../helpers/json.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];
const zx = path.join(repoRoot, 'node_modules', 'zx', 'build', 'cli.js');

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
});

function sandbox(verb: string, node: string): void {
  execFileSync('node', [zx, path.join(repoRoot, 'scripts', 'sandbox.mjs'), verb, '--name', node, '--dir', sb.dir], {
    stdio: 'ignore',
  });
}

/**
 * Shadows /usr/bin/<name> inside one node's mount namespace with a copy that
 * sleeps first (only when its first argument is `firstArg`, if given). The
 * shadow is gone when the node restarts.
 */
function slowBinaryOn(node: string, name: string, seconds: number, firstArg?: string): void {
  const real = path.join(sb.dir, `${name}.real`);
  const wrapper = path.join(sb.dir, `${name}.slow`);
  fs.copyFileSync(`/usr/bin/${name}`, real);
  fs.chmodSync(real, 0o755);
  const pause = firstArg ? `[ "$1" = "${firstArg}" ] && sleep ${seconds}` : `sleep ${seconds}`;
  fs.writeFileSync(wrapper, `#!/bin/sh\n${pause}\nexec ${real} "$@"\n`, { mode: 0o755 });
  onNode(sb, node, `mount --bind ${wrapper} /usr/bin/${name}`);
}

/** Server name to HAProxy admin state (0 ready, 1 maintenance, 8 drain) from the runtime API. */
function haproxyAdminStates(): Record<string, string> {
  const out = execFileSync('socat', ['stdio', `unix-connect:${sb.haproxy.socket}`], {
    input: `show servers state ${sb.haproxy.backend}\n`,
    encoding: 'utf8',
  });
  const rows = out
    .split('\n')
    .filter((l) => /^\d+ /.test(l))
    .map((l) => l.split(' '));
  return Object.fromEntries(rows.map((c) => [c[3]!, c[6]!]));
}

const versions = (p: Project) => NODES.map((n) => p.current(n)?.match(/_(v[\d.]+)_/)?.[1] ?? 'none');
const bigPayload = (repo: string) =>
  fs.writeFileSync(path.join(repo, 'payload.bin'), crypto.randomBytes(40 * 1024 * 1024));
const slowRestart = (seconds: number) => (repo: string) => {
  const file = path.join(repo, 'bin', 'restart.sh');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('set -eu\n', `set -eu\nsleep ${seconds}\n`));
};

let project: Project | undefined;
afterEach(() => {
  stopApps(sb);
  project?.remove();
  project = undefined;
});

describe('a node dies', () => {
  it('sshd killed during distribute (upload or unpack): nothing switched anywhere; the next plain deploy succeeds with no cleanup', async () => {
    project = new Project(sb);
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    project.tag('v1.5.0', (repo) => fs.writeFileSync(path.join(repo, 'payload.txt'), 'new\n'), 'new payload');
    // node3's tar sleeps before unpacking, so the kill always lands inside distribute, whatever the machine's speed.
    slowBinaryOn('node3', 'tar', 30);
    const result = await startUntil(project, ['prod', 'v1.5.0'], /node3 +distribute:verify +ok/, () =>
      sandbox('kill-node', 'node3'),
    );
    sandbox('start-node', 'node3');
    onNode(sb, 'node3', 'umount /usr/bin/tar 2>/dev/null || true');
    expect(result.acted).toBe(true);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /distribute failed on node3: .*(connection to the node was lost|upload to .* failed)/is,
    );
    expect(versions(project)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    for (const node of ['node1', 'node2', 'node4']) {
      expect(project.releases(node).filter((r) => r.includes('_v1.5.0_'))).toEqual([]);
      expect(project.lockExists(node)).toBe(false);
      expect(project.journal(node).at(-1)).toMatchObject({ event: 'run_finished', result: 'failed' });
    }
    // node3 was down: its lock is left behind by a run that is gone, and the next deploy takes it over.
    const next = await project.deploy(['prod', 'v1.5.0']);
    expect(next.code).toBe(0);
    expect(next.stdout).toMatch(/warning: node3: taking over a dead run's lock/);
    expect(versions(project)).toEqual(['v1.5.0', 'v1.5.0', 'v1.5.0', 'v1.5.0']);
  });

  it("sshd killed during an rsync upload (over the run's own connection): nothing switched; the message says the connection was lost", async () => {
    // Cold nodes: rsync mode sends them the build directory by rsync (a warm node gets the delta as a tar).
    project = new Project(sb, { configExtra: "rollout: { upload: 'rsync' }," });
    project.tag('v1.5.0', (repo) => fs.writeFileSync(path.join(repo, 'payload.txt'), 'new\n'), 'new payload');
    // node3's rsync (the remote half) sleeps first, so the kill lands while node3 is inside its upload.
    slowBinaryOn('node3', 'rsync', 30);
    const result = await startUntil(project, ['prod', 'v1.5.0'], /node4 +distribute:upload +ok/, () =>
      sandbox('kill-node', 'node3'),
    );
    sandbox('start-node', 'node3');
    onNode(sb, 'node3', 'umount /usr/bin/rsync 2>/dev/null || true');
    expect(result.acted).toBe(true);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /distribute failed on node3: node3: rsync to .* failed .*the connection to the node was lost before rsync finished/s,
    );
    expect(versions(project)).toEqual(['none', 'none', 'none', 'none']);
    for (const node of ['node1', 'node2', 'node4']) {
      expect(project.releases(node).filter((r) => r.includes('_v1.5.0_'))).toEqual([]);
      expect(project.lockExists(node)).toBe(false);
    }
    // No rsync of this run is left behind on the deploy machine.
    const running = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
        } catch {
          return '';
        }
      });
    // Only this project's: another file's deploy may be uploading beside this one (integration files run in parallel).
    expect(running.filter((cmd) => cmd.includes('relink-rsh') && cmd.includes(project.dir))).toEqual([]);
    const next = await project.deploy(['prod', 'v1.5.0']);
    expect(next.code).toBe(0);
    expect(versions(project)).toEqual(['v1.5.0', 'v1.5.0', 'v1.5.0', 'v1.5.0']);
  });

  it('sshd killed after relink, before restart: the others are rolled back, the dead node is named; the next deploy repairs it', async () => {
    project = new Project(sb);
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    project.tag('v1.6.0', slowRestart(2), 'slow restart');
    const result = await startUntil(project, ['prod', 'v1.6.0'], /node2 +rollout:relink +ok/, () =>
      sandbox('kill-node', 'node2'),
    );
    sandbox('start-node', 'node2');
    expect(result.acted).toBe(true);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Rolled back node1, node2, but 1 node\(s\) did not come back cleanly: node2: /);
    expect(result.stderr).toMatch(/next: check those nodes now: deploy status prod/);
    expect(versions(project)).toEqual(['v1.0.0', 'v1.6.0', 'v1.0.0', 'v1.0.0']);
    const status = await project.deploy(['status', 'prod', '--check']);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/drift/);
    const next = await project.deploy(['prod', 'v1.6.0']);
    expect(next.code).toBe(0);
    expect(versions(project)).toEqual(['v1.6.0', 'v1.6.0', 'v1.6.0', 'v1.6.0']);
  });

  it('sshd killed during rollout after its drain: switched nodes rolled back, the dead node put back in HAProxy, named in the message', async () => {
    project = new Project(sb, {
      lb: ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, '  backend: app', '  serveTimeoutMs: 3000'],
    });
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    project.tag('v1.6.0', (repo) => fs.writeFileSync(path.join(repo, 'payload.txt'), 'v1.6.0\n'), 'new payload');
    // node3's `mv -Tf` (the relink) sleeps, so the kill always lands after its drain and before its switch.
    slowBinaryOn('node3', 'mv', 30, '-Tf');
    const result = await startUntil(project, ['prod', 'v1.6.0'], /node3 +rollout:drained +ok/, () =>
      sandbox('kill-node', 'node3'),
    );
    sandbox('start-node', 'node3');
    onNode(sb, 'node3', 'umount /usr/bin/mv 2>/dev/null || true');
    expect(result.acted).toBe(true);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/node3: command failed .*the connection to the node was lost/s);
    // node3 went during its relink, so it may have switched: it is put back too, and says it could not be.
    expect(result.stderr).toMatch(/Rolled back node1, node2, node3, but 1 node\(s\) did not come back cleanly: node3:/);
    expect(versions(project)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    for (const node of ['node1', 'node2', 'node4']) {
      expect(project.lockExists(node)).toBe(false);
      expect(project.journal(node).at(-1)).toMatchObject({ event: 'run_finished', result: 'rolled_back' });
    }
    // No server is left in maintenance or drain: HAProxy's admin state is 0 (ready) for every node.
    expect(haproxyAdminStates()).toEqual({ node1: '0', node2: '0', node3: '0', node4: '0' });
    const next = await project.deploy(['prod', 'v1.6.0']);
    expect(next.code).toBe(0);
    expect(next.stdout).toMatch(/warning: node3: taking over a dead run's lock/);
    expect(versions(project)).toEqual(['v1.6.0', 'v1.6.0', 'v1.6.0', 'v1.6.0']);
    expect((await servedThroughLb(sb, 'v1.6.0')).every((a) => a.includes('v1.6.0'))).toBe(true);
  });

  it('with maxFailures: 1, a node killed mid-rollout is set aside and named (exit 5); --retry-failed brings only it up', async () => {
    project = new Project(sb, {
      lb: ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, '  backend: app', '  serveTimeoutMs: 3000'],
      configExtra: 'rollout: { maxFailures: 1 },',
    });
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    project.tag('v1.7.0', (repo) => fs.writeFileSync(path.join(repo, 'payload.txt'), 'v1.7.0\n'), 'new payload');
    slowBinaryOn('node3', 'mv', 30, '-Tf');
    const result = await startUntil(project, ['prod', 'v1.7.0'], /node3 +rollout:drained +ok/, () =>
      sandbox('kill-node', 'node3'),
    );
    expect(result.acted).toBe(true);
    expect(result.code).toBe(5);
    expect(`${result.stdout}${result.stderr}`).toMatch(/warning: node3: set aside, 1 of 1 allowed/);
    expect(result.stdout).toMatch(/deployed v1\.7\.0 to 3 of 4 node\(s\) of prod/);
    expect(`${result.stdout}${result.stderr}`).toMatch(
      /set aside: node3 \(rollout: .*deploy prod v1\.7\.0 --retry-failed/,
    );
    sandbox('start-node', 'node3');
    onNode(sb, 'node3', 'umount /usr/bin/mv 2>/dev/null || true');
    expect(versions(project)).toEqual(['v1.7.0', 'v1.7.0', 'v1.0.0', 'v1.7.0']);
    for (const node of ['node1', 'node2', 'node4'])
      expect(project.journal(node).at(-1)).toMatchObject({ event: 'run_finished', result: 'partial' });
    expect(project.journal('node1').at(-1)).toMatchObject({ setAside: ['node3'] });
    const release = project.current('node1');
    const status = await project.deploy(['status', 'prod']);
    expect(status.stdout).toMatch(/^node3 .*SET ASIDE by run /m);
    expect(status.stdout).toMatch(
      /warning: node3 set aside by run .*; once they are back: deploy prod v1\.7\.0 --retry-failed/,
    );
    const report = await project.deploy(['report', 'last']);
    expect(report.stdout).toMatch(/## Set aside \(rollout\.maxFailures\)\n\n- node3: rollout: /);
    const before = ['node1', 'node2', 'node4'].map((n) => project!.journal(n).length);

    const retry = await project.deploy(['prod', 'v1.7.0', '--retry-failed']);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(/retrying node3 of run /);
    expect(versions(project)).toEqual(['v1.7.0', 'v1.7.0', 'v1.7.0', 'v1.7.0']);
    expect(project.current('node3')).toBe(release);
    // Nothing else changed: no line in the other nodes' journals, every server back in HAProxy's pool.
    expect(['node1', 'node2', 'node4'].map((n) => project!.journal(n).length)).toEqual(before);
    expect(haproxyAdminStates()).toEqual({ node1: '0', node2: '0', node3: '0', node4: '0' });
    expect((await servedThroughLb(sb, 'v1.7.0')).every((a) => a.includes('v1.7.0'))).toBe(true);
  });

  it("a node's /srv full during unpack (tmpfs in its namespace): nothing switched, the journal records it", async () => {
    project = new Project(sb);
    const releases = `${project.deployTo}/releases`;
    onNode(sb, 'node3', `mkdir -p ${releases} && mount -t tmpfs -o size=128k tmpfs ${releases}`);
    try {
      project.tag(
        'v1.4.0',
        (repo) => fs.writeFileSync(path.join(repo, 'payload.bin'), crypto.randomBytes(512 * 1024)),
        'payload',
      );
      const result = await project.deploy(['prod', 'v1.4.0']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/distribute failed on node3: .*tar.*No space left on device/s);
      for (const node of NODES) {
        expect(project.current(node)).toBeUndefined();
        expect(project.releases(node)).toEqual([]);
        expect(project.lockExists(node)).toBe(false);
        expect(project.journal(node).at(-1)).toMatchObject({ event: 'run_finished', result: 'failed' });
      }
    } finally {
      onNode(sb, 'node3', `umount ${releases}`);
    }
    expect((await project.deploy(['prod', 'v1.4.0'])).code).toBe(0);
  });
});

describe('a slow network (tc on node3, which has a network namespace of its own)', () => {
  const slow = () => sb.nodes.find((n) => n.name === 'node3')!;
  /** Runs `tc qdisc <verb> dev <end> root ...` on both ends of node3's veth pair (the node end inside its namespace). */
  const qdisc = (verb: 'replace' | 'del', ...args: string[]) => {
    const { netns, veth } = slow();
    const peer = veth!.replace(/^rlh/, 'rln');
    execFileSync('tc', ['qdisc', verb, 'dev', veth!, 'root', ...args], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'exec', netns!, 'tc', 'qdisc', verb, 'dev', peer, 'root', ...args], { stdio: 'pipe' });
  };
  /**
   * Slows both directions of node3's link: `netem delay` where the kernel has
   * sch_netem, otherwise a `tbf` rate limit (the kernel this suite first ran
   * on has tbf and htb but no netem). Returns the qdisc used.
   */
  const slowDown = (delay: string, rate: string): 'netem' | 'tbf' => {
    try {
      qdisc('replace', 'netem', 'delay', delay);
      return 'netem';
    } catch (error) {
      if (!/qdisc kind is unknown/.test(String((error as { stderr?: Buffer }).stderr))) throw error;
    }
    qdisc('replace', 'tbf', 'rate', rate, 'burst', '1600', 'latency', '60s');
    return 'tbf';
  };
  afterEach(() => {
    try {
      qdisc('del');
    } catch {
      // nothing was added
    }
  });

  it('node3 far slower than the rest: the release goes out everywhere; the fast nodes finish their upload without waiting for the slow one', async () => {
    expect(slow().netns).toBeDefined();
    project = new Project(sb, { configExtra: "rollout: { upload: 'rsync' }," });
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    project.tag(
      'v1.7.0',
      (repo) => fs.writeFileSync(path.join(repo, 'payload.bin'), crypto.randomBytes(256 * 1024)),
      'a 256 KB payload',
    );
    const kind = slowDown('150ms', '512kbit');
    expect(execFileSync('tc', ['qdisc', 'show', 'dev', slow().veth!], { encoding: 'utf8' })).toMatch(
      kind === 'netem' ? /netem .*delay 150ms/ : /tbf .*rate 512Kbit/,
    );
    const result = await project.deploy(['prod', 'v1.7.0']);
    expect(result.code).toBe(0);
    expect(versions(project)).toEqual(['v1.7.0', 'v1.7.0', 'v1.7.0', 'v1.7.0']);
    const at = (node: string) => result.stdout.search(new RegExp(`^${node} +distribute:upload +ok`, 'm'));
    for (const node of ['node1', 'node2', 'node4']) {
      expect(at(node)).toBeGreaterThan(-1);
      expect(at(node)).toBeLessThan(at('node3'));
    }
    expect(
      project
        .journal('node3')
        .filter((e) => e.event === 'activated')
        .at(-1),
    ).toMatchObject({ version: 'v1.7.0' });
    expect((await servedThroughLb(sb, 'v1.7.0')).every((a) => a.includes('v1.7.0'))).toBe(true);
  });

  it('slower than connectTimeoutMs: refused before any node is touched, no lock left, the node named', async () => {
    project = new Project(sb, {
      configExtra: `ssh: { identityFile: ${JSON.stringify(path.join(sb.dir, 'id_ed25519'))}, knownHostsFile: ${JSON.stringify(path.join(sb.dir, 'known_hosts'))}, connectTimeoutMs: 1000 },`,
    });
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    slowDown('1500ms', '8kbit');
    const result = await project.deploy(['prod', 'v1.1.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `node3 \\(root@[\\d.]+:${sb.nodes[2]!.sshPort}\\): cannot connect: Timed out .*\\(ssh\\.connectTimeoutMs is 1000 ms\\)`,
      ),
    );
    expect(result.stderr).toMatch(/next: check the network to the node .*raise ssh\.connectTimeoutMs/);
    expect(versions(project)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    for (const node of ['node1', 'node2', 'node4']) {
      expect(project.lockExists(node)).toBe(false);
      expect(project.releases(node).filter((r) => r.includes('_v1.1.0_'))).toEqual([]);
    }
  });
});

describe('signals to the deploy process in each phase', () => {
  beforeAll(async () => {
    stopApps(sb);
  });

  it.each([
    ['gates', /== gates/, 'SIGINT'],
    ['build', /== build/, 'SIGTERM'],
    ['distribute', /distribute:upload/, 'SIGINT'],
    ['rollout', /group 2\/4/, 'SIGTERM'],
  ] as const)(
    '%s + %s: every node on the old release, no lock, exit 130; the next deploy succeeds',
    async (_phase, marker, signal) => {
      project = new Project(sb);
      expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
      project.tag(
        'v1.5.0',
        (repo) => {
          bigPayload(repo);
          slowRestart(1)(repo);
        },
        'big and slow',
      );
      const result = await startUntil(project, ['prod', 'v1.5.0'], marker, (child) => child.kill(signal));
      expect(result.acted).toBe(true);
      expect(result.code).toBe(130);
      expect(result.stderr).toMatch(new RegExp(`interrupted by ${signal}|Rolled back`));
      expect(versions(project)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
      for (const node of NODES) expect(project.lockExists(node)).toBe(false);
      expect((await project.deploy(['prod', 'v1.5.0'])).code).toBe(0);
      expect(versions(project)).toEqual(['v1.5.0', 'v1.5.0', 'v1.5.0', 'v1.5.0']);
      // Whatever the interrupted run left unpacked or rolled back from is gone after the next cleanup.
      for (const node of NODES)
        expect(project.releases(node).filter((r) => r.includes('_v1.5.0_'))).toEqual([
          project.current(node)!.replace('releases/', ''),
        ]);
    },
  );

  it('SIGKILL mid-rollout leaves the lock (stale, dead pid); the next plain deploy takes it over and succeeds', async () => {
    project = new Project(sb);
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    project.tag('v1.6.0', slowRestart(1), 'slow restart');
    const result = await startUntil(project, ['prod', 'v1.6.0'], /group 2\/4/, (child) => child.kill('SIGKILL'));
    expect(result.signal).toBe('SIGKILL');
    for (const node of NODES) expect(project.lockExists(node)).toBe(true);
    expect((await project.deploy(['lock', 'status', 'prod'])).stdout).toMatch(/is not running on this machine/);
    const next = await project.deploy(['prod', 'v1.6.0']);
    expect(next.code).toBe(0);
    expect(versions(project)).toEqual(['v1.6.0', 'v1.6.0', 'v1.6.0', 'v1.6.0']);
    for (const node of NODES) {
      expect(project.lockExists(node)).toBe(false);
      expect(project.journal(node).some((e) => e.event === 'lock_broken' && /owner gone/.test(e.reason ?? ''))).toBe(
        true,
      );
    }
  });
});

describe('a restart that hangs', () => {
  it('times out, the pre node is rolled back, exit 1', async () => {
    project = new Project(sb, { configExtra: "restart: { command: 'sh bin/restart.sh', timeoutMs: 1500 }," });
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    project.tag('v1.7.0', slowRestart(30), 'restart hangs');
    const result = await project.deploy(['prod', 'v1.7.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /node1: restart did not finish within 1500 ms\. Rolled back node1 to the release each ran before\./,
    );
    expect(versions(project)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
  });
});

describe('hostile input', () => {
  it('a build that makes a symlink out of the release is refused before anything is uploaded', async () => {
    project = new Project(sb, { configExtra: "build: { command: 'node build.mjs && ln -s /etc/passwd leak' }," });
    const result = await project.deploy(['prod', 'v1.0.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /release directory refused: symlink leak -> \/etc\/passwd points outside the release/,
    );
    for (const node of NODES) expect(project.releases(node)).toEqual([]);
  });

  it('a cached artifact given links out of the release is refused before it goes anywhere', async () => {
    project = new Project(sb);
    // Build once so the cache holds the artifact (a directory), then tamper with it, as an attacker would.
    expect((await project.deploy(['prod', 'v1.0.0', '--node', 'node1'])).code).toBe(0);
    const dir = path.join(project.dir, '.relink', 'artifacts');
    const cached = fs
      .readdirSync(dir, { withFileTypes: true })
      .find((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'released')!;
    fs.symlinkSync('/etc/hostname', path.join(dir, cached.name, 'leak'));
    fs.symlinkSync('../../escape', path.join(dir, cached.name, 'up'));
    const result = await project.deploy(['prod', 'v1.0.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /release directory refused: symlink leak -> \/etc\/hostname points outside the release/,
    );
    expect(result.stderr).toMatch(/symlink up -> \.\.\/\.\.\/escape points outside the release/);
    expect(project.releases('node2')).toEqual([]);
    expect(fs.existsSync(project.nodePath('node2', '..', 'escape'))).toBe(false);
  });

  it('a node whose host key changed is refused, with how to accept it deliberately', async () => {
    const port = sb.nodes[1]!.sshPort;
    const other =
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(sb.dir, `tmpkey-${process.pid}`)]) &&
      fs
        .readFileSync(path.join(sb.dir, `tmpkey-${process.pid}.pub`), 'utf8')
        .split(' ')
        .slice(0, 2)
        .join(' ');
    const known = fs
      .readFileSync(path.join(sb.dir, 'known_hosts'), 'utf8')
      .split('\n')
      .map((l) => (l.startsWith(`[127.0.0.1]:${port} `) ? `[127.0.0.1]:${port} ${other}` : l))
      .join('\n');
    project = new Project(sb, { knownHosts: known });
    const result = await project.deploy(['prod', 'v1.0.0']);
    // A trust decision, not a failed release: exit 2, as for an unknown key.
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`node2 \\(root@127\\.0\\.0\\.1:${port}\\): HOST KEY CHANGED: .*refusing \\(this can be an attack\\)`),
    );
    expect(result.stderr).toMatch(
      new RegExp(
        `next: if the node was rebuilt on purpose: ssh-keygen -R '\\[127\\.0\\.0\\.1\\]:${port}' -f .* && ssh-keyscan -p ${port} 127\\.0\\.0\\.1 >>`,
      ),
    );
    for (const node of NODES) expect(project.releases(node)).toEqual([]);
  });

  it('shell syntax, newlines, ../ and unicode in vars, host vars, commit subjects and author run nothing and write nothing outside deployTo', async () => {
    const marker = `/tmp/relink-hostile-${process.pid}`;
    const hostile = `$(touch ${marker}-var)\`touch ${marker}-tick\`'"; ../../etc ✓`;
    project = new Project(sb, {
      configExtra: `vars: { greeting: ${JSON.stringify(hostile)} },`,
      vars: { node2: `note: ${JSON.stringify(`$(touch ${marker}-host)`)}` },
    });
    project.tag(
      'v1.8.0',
      (repo) => fs.appendFileSync(path.join(repo, 'CHANGELOG.md'), 'x\n'),
      `$(touch ${marker}-subject) \`id\` ; rm -rf /`,
    );
    const result = await project.deploy(['prod', 'v1.8.0', '--author', `${'a'.repeat(3000)}$(touch ${marker}-author)`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const plan = await project.deploy(['plan', 'prod', 'v1.8.0']);
    expect(plan.stdout).toContain(`$(touch ${marker}-subject)`);
    for (const suffix of ['var', 'tick', 'host', 'subject', 'author'])
      expect(fs.existsSync(`${marker}-${suffix}`)).toBe(false);
    const env = fs.readFileSync(project.nodePath('node2', 'current', 'app.env'), 'utf8');
    expect(env).toContain(`GREETING=${hostile}`);
    expect(project.current('node2')!.length).toBeLessThan(200);
    // Only what relink makes lives under deployTo, and nothing else appeared on the node's /srv.
    expect(fs.readdirSync(project.nodePath('node2')).sort()).toEqual(['.relink', 'current', 'releases', 'shared']);
  });

  it('secrets are in no log, journal, report or console output', async () => {
    const secret = `s3cret-${crypto.randomBytes(6).toString('hex')}`;
    project = new Project(sb);
    const results = [];
    for (const v of ['v1.0.0', 'v1.1.0']) results.push(await project.deploy(['prod', v], { APP_SECRET: secret }));
    results.push(await project.deploy(['rollback', 'prod', '--last'], { APP_SECRET: secret }));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(fs.readFileSync(project.nodePath('node1', 'current', 'app.env'), 'utf8')).toContain(secret);
    const files = ['logs', 'reports'].flatMap((d) =>
      fs.readdirSync(path.join(project!.dir, '.relink', d)).map((f) => path.join(project!.dir, '.relink', d, f)),
    );
    const texts = [
      ...results.flatMap((r) => [r.stdout, r.stderr]),
      ...files.map((f) => fs.readFileSync(f, 'utf8')),
      ...NODES.map((n) => fs.readFileSync(project!.nodePath(n, '.relink', 'journal.jsonl'), 'utf8')),
    ];
    expect(texts.length).toBeGreaterThan(10);
    for (const text of texts) expect(text).not.toContain(secret);
  });
});

describe('deploy doctor', () => {
  afterAll(() => stopApps(sb));

  it('a per-node table; exit 0 when nothing blocks, 1 when something does', async () => {
    project = new Project(sb, { lb: ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, '  backend: app'] });
    const ok = await project.deploy(['doctor', 'prod']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      new RegExp(`node1 +ssh +ok +root@127\\.0\\.0\\.1:${sb.nodes[0]!.sshPort}, host key verified`),
    );
    expect(ok.stdout).toMatch(/node4 +tools +ok +tar yes, mv -T yes/);
    expect(ok.stdout).toMatch(/lb +haproxy +ok +node1 ready/);
    expect(ok.stdout).toMatch(/nothing blocks a release to prod/);
    onNode(
      sb,
      'node3',
      `mkdir -p ${project.deployTo}/.relink/lock && echo '{"run":"x","kind":"freeze","user":"ana","host":"h","pid":1,"command":"lock","since":"2026-01-01T00:00:00Z","heartbeat":"2026-01-01T00:00:00Z","message":"audit"}' > ${project.deployTo}/.relink/lock/owner.json`,
    );
    const blocked = await project.deploy(['doctor', 'prod', '--json']);
    expect(blocked.code).toBe(1);
    const json = cliJson('doctor', blocked.stdout);
    expect(json.ok).toBe(false);
    expect(json.checks.filter((c) => !c.ok).map((c) => `${c.node}/${c.check}`)).toEqual(['node3/lock']);
  });
});
