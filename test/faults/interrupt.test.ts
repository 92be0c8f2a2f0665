// The interrupt suite: a deploy or rollback stopped at each step boundary and inside the upload (SIGINT,
// SIGTERM, the dashboard's Stop), on a cold and a warm fleet, in every distribution mode; then what the person
// on call checks: the run ended by itself, no lock, nothing of the run left in any node's process table, every
// node serving exactly what `current` points at (nothing where there is none), one version across the fleet,
// `interrupted` journaled where nodes were touched, and the printed resume command works.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  distDir,
  httpText,
  onNode,
  Project,
  readSandbox,
  repoRoot,
  type Sandbox,
  stopApps,
} from '../helpers/project.js';
import { apiJson } from '../helpers/json.js';

const NODES = ['node1', 'node2', 'node3', 'node4'];
const zx = path.join(repoRoot, 'node_modules', 'zx', 'build', 'cli.js');
/** Past this after the signal, a run that has not ended has hung. */
const ENDS_WITHIN_MS = 30_000;
let sb: Sandbox;

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
});

const haproxy = () => [
  'lb:',
  '  driver: haproxy',
  `  socket: ${sb.haproxy.socket}`,
  `  backend: ${sb.haproxy.backend}`,
];

/** 8 MiB of random bytes, new in every tag: every deploy between two such tags sends it whole. */
const payload = () => (repo: string) => fs.writeFileSync(path.join(repo, 'payload.bin'), crypto.randomBytes(8 << 20));

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
  acted: boolean;
}

/**
 * Runs the CLI; the first time its output matches `at`, waits `delayMs` and calls `act` (a signal, a fault).
 * A run still going ENDS_WITHIN_MS after that is killed and reported as hung (code null).
 */
function interrupt(p: Project, args: string[], at: RegExp, act: (pid: number) => void, delayMs = 0) {
  const child = p.spawn(args);
  let stdout = '';
  let stderr = '';
  let acted = false;
  let hung: NodeJS.Timeout | undefined;
  const fire = () => {
    acted = true;
    setTimeout(() => {
      act(child.pid!);
      hung = setTimeout(() => child.kill('SIGKILL'), ENDS_WITHIN_MS);
    }, delayMs);
  };
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!acted && at.test(stdout)) fire();
  });
  return new Promise<Ended>((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(hung);
      // Killed by the hang timer: null. Ended by a signal it did not handle (one sent after the run had
      // already ended and let go of its handlers): said, so a race in a test is not taken for a hang.
      const late = signal && signal !== 'SIGKILL' ? `\n(ended by ${signal}, unhandled)` : '';
      resolve({ code: signal === 'SIGKILL' ? null : code, stdout, stderr: stderr + late, acted });
    }),
  );
}

const signal = (name: NodeJS.Signals) => (pid: number) => process.kill(pid, name);

/** The run id the CLI printed in its first line. */
const runIdOf = (out: string) => /\(run (\S+)\)/.exec(out)?.[1];

/** What the person on call checks after the run ended. */
async function fleetIsWhole(p: Project, ended: Ended, label: string): Promise<void> {
  expect(ended.code, `${label}: the run did not end by itself\n${ended.stdout}\n${ended.stderr}`).not.toBeNull();
  expect([0, 130], `${label}: exit\n${ended.stdout}\n${ended.stderr}`).toContain(ended.code);
  const run = runIdOf(ended.stdout);
  const currents = new Set<string>();
  for (const name of NODES) {
    const node = sb.nodes.find((n) => n.name === name)!;
    expect(p.lockExists(name), `${label}: lock left on ${name}`).toBe(false);
    const ps = onNode(sb, name, 'ps -eo args');
    expect(ps, `${label}: process of the run left on ${name}`).not.toMatch(
      /rsync --server|timeout -k|relink-upload|sleep 600/,
    );
    const keys = onNode(sb, name, 'cat /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys 2>/dev/null || true');
    expect(keys, `${label}: the run's relay key left on ${name}`).not.toContain('relink-relay-');
    const current = p.current(name);
    const body = await httpText(`http://${node.address}:${node.appPort}/`).catch(() => 'nothing');
    if (current) {
      currents.add(/_(v[\d.]+)_/.exec(current)?.[1] ?? current);
      expect(body, `${label}: ${name} serves what current points at`).toContain(path.basename(current));
    } else expect(body, `${label}: ${name} has no current and serves nothing`).toBe('nothing');
    const mine = p.journal(name).filter((e) => e.run === run);
    if (ended.code === 130 && mine.length > 0) {
      const finished = mine.filter((e) => e.event === 'run_finished');
      expect(finished.at(-1)?.result, `${label}: ${name} journals the interrupt`).toBe('interrupted');
    }
  }
  expect(currents.size, `${label}: one version across the fleet: ${[...currents].join(', ')}`).toBeLessThanOrEqual(1);
}

/** Runs the command the interrupted run printed to resume, and checks every node ends on its version. */
async function resumes(p: Project, ended: Ended, label: string): Promise<void> {
  if (ended.code !== 130) return;
  const resume = /to resume[:,] (deploy|rollback) (.+?)(?: again)?$/m.exec(ended.stderr);
  expect(resume, `${label}: a resume command\n${ended.stderr}`).not.toBeNull();
  const words = resume![2]!.trim().split(/\s+/);
  const args = resume![1] === 'rollback' ? ['rollback', ...words] : words;
  const again = await p.deploy(args);
  expect(again.code, `${label}: the resume command works\n${again.stdout}\n${again.stderr}`).toBe(0);
  if (resume![1] === 'deploy') {
    const version = words[1]!;
    for (const name of NODES) expect(p.current(name), `${label}: ${name} after resume`).toContain(`_${version}_`);
  }
}

/** Empties every node (no release, no app): a cold fleet. */
function coldFleet(p: Project): void {
  stopApps(sb);
  for (const name of NODES) fs.rmSync(p.nodePath(name), { recursive: true, force: true });
}

interface Point {
  readonly name: string;
  readonly at: RegExp;
  readonly delayMs?: number;
  readonly signal?: NodeJS.Signals;
}

const COLD: Point[] = [
  { name: 'in the gates', at: /gates:lock/ },
  { name: 'after the build', at: /build:artifact/ },
  { name: 'early in the upload', at: /== distribute/, delayMs: 50 },
  { name: 'late in the upload', at: /== distribute/, delayMs: 300 },
  { name: 'after distribute', at: /== rollout/, signal: 'SIGTERM' },
  { name: 'after the pre node switched', at: /node1\s+rollout:relink/ },
  { name: 'after the pre node smoked', at: /node1\s+rollout:smoke/ },
  { name: 'while the rest restart', at: /node3\s+rollout:relink/ },
];
const WARM: Point[] = [
  ...COLD,
  { name: 'in group 2', at: /node2\s+rollout:drain/, signal: 'SIGTERM' },
  { name: 'at the last group', at: /group 4\/4/ },
];

describe('interrupts in the default setup (push, rsync, HAProxy drain)', () => {
  let p: Project;
  let warm = 'v2.0.0';
  beforeAll(() => {
    p = new Project(sb, { lb: haproxy(), configExtra: "rollout: { upload: 'rsync' }," });
    p.tag('v2.0.0', payload(), 'payload a');
    p.tag('v2.1.0', payload(), 'payload b');
  });
  afterAll(() => {
    stopApps(sb);
    p.remove();
  });

  for (const point of COLD)
    it(`cold fleet, ${point.signal ?? 'SIGINT'} ${point.name}`, async () => {
      coldFleet(p);
      const ended = await interrupt(p, ['prod', 'v2.0.0'], point.at, signal(point.signal ?? 'SIGINT'), point.delayMs);
      await fleetIsWhole(p, ended, point.name);
      await resumes(p, ended, point.name);
    });

  for (const point of WARM)
    it(`warm fleet, ${point.signal ?? 'SIGINT'} ${point.name}`, async () => {
      if (!NODES.every((n) => p.current(n)?.includes(`_${warm}_`)))
        expect((await p.deploy(['prod', warm])).code).toBe(0);
      const next = warm === 'v2.0.0' ? 'v2.1.0' : 'v2.0.0';
      const ended = await interrupt(p, ['prod', next], point.at, signal(point.signal ?? 'SIGINT'), point.delayMs);
      await fleetIsWhole(p, ended, point.name);
      await resumes(p, ended, point.name);
      warm = NODES.every((n) => p.current(n)?.includes(`_${next}_`)) ? next : warm;
    });

  for (const point of [
    { name: 'after the pre node went back', at: /node1\s+rollback:relink/ },
    { name: 'while node2 goes back', at: /node2\s+rollback:drain/, signal: 'SIGTERM' as const },
  ])
    it(`rollback --last, ${point.signal ?? 'SIGINT'} ${point.name}`, async () => {
      // Two good deploys in a row: every node has a previous good release to go back to.
      warm = warm === 'v2.0.0' ? 'v2.1.0' : 'v2.0.0';
      expect((await p.deploy(['prod', warm])).code).toBe(0);
      const ended = await interrupt(p, ['rollback', 'prod', '--last'], point.at, signal(point.signal ?? 'SIGINT'));
      await fleetIsWhole(p, ended, point.name);
      await resumes(p, ended, point.name);
    });
});

describe('interrupts in the other modes', () => {
  const site = () =>
    (sb.nginx as unknown as { artifacts: { dir: string; path: string; hosts: Record<string, string> } }).artifacts;
  const modes: [string, () => Project][] = [
    ['tar upload', () => new Project(sb, { lb: haproxy(), configExtra: "rollout: { upload: 'tar' }," })],
    [
      'relay',
      () =>
        new Project(sb, {
          lb: haproxy(),
          configExtra:
            "rollout: { fanout: { mode: 'relay', seeds: 1, width: 2, from: ['127.0.0.1', '10.213.0.0/16'] } },",
        }),
    ],
    [
      'pull',
      () => {
        const url = `http://{{ host.artifactHost }}:${sb.nginx.port}${site().path}{{ release }}.tar.gz`;
        const publish = `install -m 644 {{ file }} ${site().dir}/{{ release }}.tar.gz`;
        return new Project(sb, {
          lb: haproxy(),
          configExtra: `rollout: { fanout: { mode: 'pull', url: ${JSON.stringify(url)}, publish: ${JSON.stringify(publish)} } },`,
          vars: Object.fromEntries(NODES.map((n) => [n, `artifactHost: '${site().hosts[n]}'`])),
        });
      },
    ],
    ['no load balancer', () => new Project(sb, { configExtra: "rollout: { upload: 'rsync' }," })],
  ];
  for (const [mode, make] of modes)
    it(`${mode}: SIGINT while distributing, SIGTERM after the pre node switched`, async () => {
      stopApps(sb);
      const p = make();
      try {
        p.tag('v2.0.0', payload(), 'payload a');
        expect((await p.deploy(['prod', 'v1.0.0'])).code).toBe(0);
        const first = await interrupt(p, ['prod', 'v2.0.0'], /== distribute/, signal('SIGINT'), 100);
        await fleetIsWhole(p, first, `${mode}, distributing`);
        await resumes(p, first, `${mode}, distributing`);
        const second = await interrupt(p, ['prod', 'v1.1.0'], /node1\s+rollout:relink/, signal('SIGTERM'));
        await fleetIsWhole(p, second, `${mode}, after the pre node`);
        await resumes(p, second, `${mode}, after the pre node`);
      } finally {
        stopApps(sb);
        p.remove();
      }
    });
});

describe('interrupts with a node in trouble', () => {
  const sandbox = (verb: string, node: string) =>
    execFileSync('node', [zx, path.join(repoRoot, 'scripts', 'sandbox.mjs'), verb, '--name', node, '--dir', sb.dir], {
      stdio: 'ignore',
    });
  /** The pid of a node's sshd (its namespace's init), as the sandbox last started it. */
  const nodePid = (name: string) =>
    (
      JSON.parse(fs.readFileSync(path.join(sb.dir, 'sandbox.json'), 'utf8')) as {
        nodes: { name: string; pid: number }[];
      }
    ).nodes.find((n) => n.name === name)!.pid;

  it('a restart that hangs: SIGINT ends it on the node, the run ends by itself and leaves no sleep behind', async () => {
    stopApps(sb);
    const p = new Project(sb, { lb: haproxy() });
    try {
      expect((await p.deploy(['prod', 'v1.0.0'])).code).toBe(0);
      p.tag('v2.0.0', (repo) => {
        const file = path.join(repo, 'bin', 'restart.sh');
        fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('set -eu\n', 'set -eu\nsleep 600\n'));
      });
      const ended = await interrupt(p, ['prod', 'v2.0.0'], /node1\s+rollout:relink/, signal('SIGINT'), 300);
      await fleetIsWhole(p, ended, 'hung restart');
      expect(ended.code).toBe(130);
      for (const name of NODES) expect(p.current(name), name).toContain('_v1.0.0_');
    } finally {
      stopApps(sb);
      p.remove();
    }
  });

  it('an unpack on a full disk, then SIGINT: nothing switched, no release dir or lock left, the fleet whole', async () => {
    stopApps(sb);
    const p = new Project(sb, { lb: haproxy(), configExtra: "rollout: { upload: 'tar' }," });
    const releases = `${p.deployTo}/releases`;
    try {
      expect((await p.deploy(['prod', 'v1.0.0'])).code).toBe(0);
      p.tag('v2.0.0', payload(), 'payload');
      onNode(sb, 'node3', `mount -t tmpfs -o size=256k tmpfs ${releases}`);
      const ended = await interrupt(p, ['prod', 'v2.0.0'], /node3\s+distribute:upload/, signal('SIGINT'), 20);
      onNode(sb, 'node3', `umount ${releases}`);
      expect(ended.code, `${ended.stdout}\n${ended.stderr}`).not.toBeNull();
      expect([1, 130]).toContain(ended.code);
      for (const name of NODES) {
        expect(p.lockExists(name), name).toBe(false);
        expect(p.current(name), name).toContain('_v1.0.0_');
        expect(
          p.releases(name).filter((r) => r.includes('_v2.0.0_')),
          name,
        ).toEqual([]);
      }
      expect((await p.deploy(['prod', 'v2.0.0'])).code).toBe(0);
    } finally {
      onNode(sb, 'node3', `umount ${releases} 2>/dev/null || true`);
      stopApps(sb);
      p.remove();
    }
  });

  it('a node whose sshd dies: named, keeps its lock, a clean-up command printed; every other node ends unlocked', async () => {
    stopApps(sb);
    const p = new Project(sb, { lb: haproxy(), configExtra: "rollout: { upload: 'rsync' }," });
    try {
      expect((await p.deploy(['prod', 'v1.0.0'])).code).toBe(0);
      p.tag('v2.0.0', payload(), 'payload a');
      const ended = await interrupt(
        p,
        ['prod', 'v2.0.0'],
        /== distribute/,
        (pid) => {
          // The node's init, killed directly: through the sandbox script this took a second on a busy
          // machine, long enough for the run to fail on its own and end before the SIGINT came.
          process.kill(nodePid('node4'), 'SIGKILL');
          process.kill(pid, 'SIGINT');
        },
        50,
      );
      sandbox('start-node', 'node4');
      expect(ended.code, `${ended.stdout}\n${ended.stderr}`).not.toBeNull();
      expect(ended.code).not.toBe(0);
      const said = `${ended.stdout}\n${ended.stderr}`;
      expect(said).toMatch(/node4/);
      expect(said).toMatch(/node4 keeps this run's deploy lock.*deploy unlock prod --force/);
      expect(p.lockExists('node4')).toBe(true);
      for (const name of ['node1', 'node2', 'node3']) {
        expect(p.lockExists(name), name).toBe(false);
        expect(p.current(name), name).toContain('_v1.0.0_');
      }
      expect((await p.deploy(['unlock', 'prod', '--force'])).code).toBe(0);
      expect(p.lockExists('node4')).toBe(false);
    } finally {
      stopApps(sb);
      p.remove();
    }
  });
});

describe("the dashboard's Stop", () => {
  it('stops a deploy started from the dashboard: exit as interrupted, no lock, the fleet whole', async () => {
    stopApps(sb);
    const p = new Project(sb, { lb: haproxy(), configExtra: "rollout: { upload: 'rsync' }," });
    const bin = path.join(distDir, 'bin', 'deploy.js');
    const env = { ...process.env, CI: 'true', APP_SECRET: 'it-secret-value' };
    const token = /\b([A-Za-z0-9_-]{24,})\b/.exec(
      execFileSync('node', [bin, 'serve', '--add-token', 'ci', '--role', 'deployer'], {
        cwd: p.dir,
        env,
        encoding: 'utf8',
      }),
    )?.[1];
    expect(token).toBeTruthy();
    const server = p.spawn(['serve', '--port', '0']);
    try {
      expect((await p.deploy(['prod', 'v1.0.0'])).code).toBe(0);
      p.tag('v2.0.0', payload(), 'payload a');
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`deploy serve did not start: ${out}`)), 30_000);
        server.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /relink dashboard for \S+: (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const api = (method: string, route: string, body?: unknown) =>
        fetch(`${url}${route}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
      const started = apiJson('deploy', await (await api('POST', '/api/deploy/prod', { version: 'v2.0.0' })).text());
      expect(started.run).toBeTruthy();
      // Stop once the upload began.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && !NODES.some((n) => p.journal(n).some((e) => e.run === started.run)))
        await new Promise((r) => setTimeout(r, 50));
      while (Date.now() < deadline && !p.lockExists('node1')) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200));
      expect((await api('POST', `/api/runs/${started.run}/stop`)).status).toBeLessThan(300);
      let result: string | undefined;
      const ends = Date.now() + ENDS_WITHIN_MS;
      while (Date.now() < ends && !result) {
        const run = apiJson('run', await (await api('GET', `/api/runs/${started.run}`)).text());
        result = run.result;
        if (!result) await new Promise((r) => setTimeout(r, 200));
      }
      expect(['interrupted', 'success']).toContain(result);
      await fleetIsWhole(
        p,
        { code: result === 'success' ? 0 : 130, stdout: `(run ${started.run})`, stderr: '', acted: true },
        'Stop',
      );
    } finally {
      server.kill('SIGTERM');
      stopApps(sb);
      p.remove();
    }
  });
});
