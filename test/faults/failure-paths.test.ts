import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { onNode, Project, readSandbox, type Sandbox, startUntil, stopApps } from '../helpers/project.js';
import { cliJson } from '../helpers/json.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];
const versions = (p: Project) => NODES.map((n) => p.current(n)?.match(/_(v[\d.]+)_/)?.[1] ?? 'none');
const projects: Project[] = [];
const project = (options: ConstructorParameters<typeof Project>[1] = {}) => {
  const p = new Project(sb, options);
  projects.push(p);
  return p;
};

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
});
afterEach(() => {
  stopApps(sb);
  for (const p of projects.splice(0)) p.remove();
});

/** Replaces the example's restart script in a new tag. */
const restartScript = (body: string) => (repo: string) =>
  fs.writeFileSync(path.join(repo, 'bin', 'restart.sh'), `#!/bin/sh\n${body}\n`);

/** A new tag's restart script waits a second first, so a signal lands mid-rollout. */
const slowRestart = (repo: string) => {
  const file = path.join(repo, 'bin', 'restart.sh');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('set -eu\n', 'set -eu\nsleep 1\n'));
};

/** A local webhook receiver: every body it was sent. */
async function webhooks() {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return { url, bodies, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Every process on a node, as the node's own process table shows it (each node has a PID namespace). */
const processesOn = (node: string) => onNode(sb, node, 'ps -eo args');

describe('1. secrets on failure paths', () => {
  // A secret with a quote, a backslash and a newline: JSON sinks escape it, error messages cut it at the newline.
  const secret = `s3c"r\\et-${crypto.randomBytes(4).toString('hex')}\nsecond-line-${crypto.randomBytes(4).toString('hex')}`;
  const forms = [secret, JSON.stringify(secret).slice(1, -1), ...secret.split('\n')];

  // v2.0.0 carries a file named `broken`: the build, the smoke test (and, by a flag, the LB command) fail on it.
  const breakIt = (p: Project) => p.tag('v2.0.0', (repo) => fs.writeFileSync(path.join(repo, 'broken'), 'x\n'));
  const lbFlag = path.join('/tmp', `relink-lb-fail-${process.pid}`);
  afterEach(() => fs.rmSync(lbFlag, { force: true }));

  const cases: [string, (hook: string) => ConstructorParameters<typeof Project>[1], (p: Project) => void][] = [
    [
      'build',
      (hook) => ({
        configExtra: `build: {
    command: 'node build.mjs && if [ -f broken ]; then printf "%s\\\\n" "$APP_SECRET" >&2; exit 3; fi',
    passEnv: ['APP_SECRET'],
  },
  notify: { webhooks: [{ url: '${hook}' }] },`,
      }),
      breakIt,
    ],
    [
      'restart',
      (hook) => ({ configExtra: `notify: { webhooks: [{ url: '${hook}' }] },` }),
      (p) => p.tag('v2.0.0', restartScript('cat app.env >&2\nexit 1')),
    ],
    [
      'smoke',
      (hook) => ({
        configExtra: `smoke: { command: 'test ! -f broken || { cat app.env >&2; exit 1; }', retries: 1 },
  notify: { webhooks: [{ url: '${hook}' }] },`,
      }),
      breakIt,
    ],
    [
      'a load-balancer command',
      (hook) => ({
        lb: [
          'lb:',
          '  driver: command',
          `  drain: test ! -f ${lbFlag} || { printf "%s\\n" "$APP_SECRET" >&2; exit 1; }`,
          '  undrain: "true"',
        ],
        configExtra: `notify: { webhooks: [{ url: '${hook}' }] },`,
      }),
      (p) => {
        breakIt(p);
        fs.writeFileSync(lbFlag, '');
      },
    ],
  ];

  it.each(cases)(
    'a deploy that fails in %s while printing a secret: the secret is in no sink',
    async (what, options, tag) => {
      const hook = await webhooks();
      try {
        const p = project(options(hook.url));
        expect((await p.deploy(['prod', 'v1.0.0'], { APP_SECRET: secret })).code).toBe(0);
        tag(p);
        const failed = await p.deploy(['prod', 'v2.0.0'], { APP_SECRET: secret });
        expect(failed.code).toBe(1);
        expect(failed.stderr).toMatch(what === 'build' ? /build failed/ : /Rolled back|No node was switched/);
        // The app got the secret where it belongs (the rendered app.env), and nowhere else.
        expect(fs.readFileSync(p.nodePath('node2', 'current', 'app.env'), 'utf8')).toContain(secret);
        const files = ['logs', 'reports'].flatMap((d) => {
          const dir = path.join(p.dir, '.relink', d);
          return fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => path.join(dir, f)) : [];
        });
        expect(files.some((f) => f.includes('reports'))).toBe(true);
        const sinks = [
          ['stdout', failed.stdout],
          ['stderr', failed.stderr],
          ...files.map((f) => [f, fs.readFileSync(f, 'utf8')]),
          ...NODES.map((n) => [`journal of ${n}`, fs.readFileSync(p.nodePath(n, '.relink', 'journal.jsonl'), 'utf8')]),
          ...hook.bodies.map((b, i) => [`notification ${i + 1}`, b]),
        ];
        expect(hook.bodies.length).toBeGreaterThan(0);
        for (const [sink, text] of sinks) for (const form of forms) expect(text, `${sink} leaks`).not.toContain(form);
        expect(`${failed.stdout}${failed.stderr}`).toContain('[REDACTED]');
      } finally {
        await hook.close();
      }
    },
  );
});

describe('2. lock takeover and state read under the lock', () => {
  it('after a deploy SIGKILLed mid-rollout, two deploys from two project directories start at once: exactly one proceeds, the other exits 4 and changed nothing (10 times)', async () => {
    const a = project();
    const b = project({ deployTo: a.deployTo });
    // Two clones of one application: the same commits and tags in both project directories.
    fs.rmSync(b.appRepo, { recursive: true, force: true });
    execFileSync('git', ['clone', '-q', a.appRepo, b.appRepo]);
    expect((await a.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    const killed = await startUntil(a, ['prod', 'v1.1.0'], /group 2\/4/, (child) => child.kill('SIGKILL'));
    expect(killed.signal).toBe('SIGKILL');
    for (const node of NODES) expect(a.lockExists(node)).toBe(true);
    const dead = fs.readFileSync(a.nodePath('node1', '.relink', 'lock', 'owner.json'), 'utf8');
    for (let round = 1; round <= 10; round++) {
      // What the killed run left: its lock, naming a pid that is gone, on every node.
      for (const node of NODES) {
        const lock = a.nodePath(node, '.relink', 'lock');
        fs.rmSync(lock, { recursive: true, force: true });
        fs.mkdirSync(lock, { recursive: true });
        fs.writeFileSync(path.join(lock, 'owner.json'), dead);
      }
      const version = round % 2 ? 'v1.2.0' : 'v1.1.0';
      const [ra, rb] = await Promise.all([a.deploy(['prod', version]), b.deploy(['prod', version])]);
      const codes = [ra.code, rb.code].sort();
      expect(codes, `round ${round}: ${ra.stderr} | ${rb.stderr}`).toEqual([0, 4]);
      const loser = ra.code === 4 ? ra : rb;
      expect(loser.stderr).toMatch(/deploy lock on prod is held/);
      const loserRun = loser.stdout.match(/\(run ([\w-]+)\)/)![1]!;
      for (const node of NODES) {
        expect(a.lockExists(node)).toBe(false);
        // The loser journaled nothing and switched nothing: every event of its run id is absent.
        expect(a.journal(node).filter((e) => e.run === loserRun)).toEqual([]);
      }
      expect(versions(a)).toEqual([version, version, version, version]);
    }
  });
});

describe('3. timeouts stop the work, not just the wait', () => {
  it('a restart that hangs (sleep 613 and a child) past its 2 s limit: the node is rolled back and no sleep is left on it', async () => {
    const p = project({ configExtra: "restart: { command: 'sh bin/restart.sh', timeoutMs: 2000 }," });
    expect((await p.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    p.tag('v2.0.0', restartScript('sh -c "sleep 614" &\nsleep 613'), 'restart hangs');
    const result = await p.deploy(['prod', 'v2.0.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/node1: restart did not finish within 2000 ms\. Rolled back node1/);
    expect(versions(p)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    expect(processesOn('node1')).not.toMatch(/sleep 61[34]/);
  });

  it('a build that starts a child and hangs past its limit: stopped with everything it started', async () => {
    const marker = 600 + (process.pid % 300);
    const p = project({
      configExtra: `build: { command: 'sh -c "sleep ${marker}1" & sleep ${marker}2', timeoutMs: 2000 },`,
    });
    const result = await p.deploy(['prod', 'v1.0.0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/build failed \(exit 124\).*\n.*timed out after 2000 ms/);
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(left).not.toMatch(new RegExp(`sleep ${marker}[12]`));
    for (const node of NODES) expect(p.lockExists(node)).toBe(false);
  });
});

describe('4. operator intent', () => {
  it('a freeze survives rollback --emergency --force, and the output says it is still in force', async () => {
    const p = project();
    for (const v of ['v1.0.0', 'v1.1.0']) expect((await p.deploy(['prod', v])).code).toBe(0);
    expect((await p.deploy(['lock', 'prod', '-m', 'incident 42: no deploys'])).code).toBe(0);
    const rolled = await p.deploy(['rollback', 'prod', '--last', '--emergency', '--force']);
    expect(rolled.code).toBe(0);
    expect(versions(p)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    expect(rolled.stdout).toMatch(/prod stays frozen .*incident 42: no deploys.*deploy unlock prod/);
    for (const node of NODES) expect(p.lockExists(node)).toBe(true);
    const refused = await p.deploy(['prod', 'v1.1.0']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/prod is frozen/);
    expect((await p.deploy(['unlock', 'prod'])).code).toBe(0);
    expect((await p.deploy(['prod', 'v1.1.0'])).code).toBe(0);
  });

  it('Ctrl-C during an rsync upload is an interrupt: exit 130, journaled interrupted, counted apart, how to resume', async () => {
    const p = project({ configExtra: "rollout: { upload: 'rsync' }," });
    expect((await p.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    p.tag('v1.5.0', (repo) => fs.writeFileSync(path.join(repo, 'payload.bin'), crypto.randomBytes(40 << 20)), 'big');
    const result = await startUntil(p, ['prod', 'v1.5.0'], /distribute:upload|== distribute/, (c) => c.kill('SIGINT'));
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/interrupted by SIGINT/);
    expect(result.stderr).toMatch(/next: to resume: deploy prod v1\.5\.0/);
    expect(result.stderr).not.toMatch(/check free disk/);
    const finished = p.journal('node1').filter((e) => e.event === 'run_finished');
    expect(finished.at(-1)!.result).toBe('interrupted');
    // Interrupted in the rollout as well: the release it rolled back from is `interrupted`, not `bad`.
    p.tag('v1.6.0', slowRestart, 'slow restart');
    const again = await startUntil(p, ['prod', 'v1.6.0'], /group 2\/4/, (c) => c.kill('SIGINT'));
    expect(again.code).toBe(130);
    expect(again.stderr).toMatch(/to resume, deploy prod v1\.6\.0 again/);
    const listed = cliJson('releases', (await p.deploy(['releases', 'prod', '--json'])).stdout);
    const node1 = listed.nodes.find((n) => n.node === 'node1')!.releases.find((r) => r.name.includes('_v1.6.0_'));
    expect(node1?.status).toBe('interrupted');
    const stats = cliJson('envStats', (await p.deploy(['stats', 'prod', '--json'])).stdout);
    expect(stats).toMatchObject({ deploys: 3, successes: 1, failures: 0, interrupted: 2, successRate: 1 });
    expect((await p.deploy(['prod', 'v1.5.0'])).code).toBe(0);
  });

  it('rollback --last after a deploy limited with --node undoes that run on the nodes it changed', async () => {
    const p = project();
    expect((await p.deploy(['prod', 'v1.0.0'])).code).toBe(0);
    expect((await p.deploy(['prod', 'v1.1.0', '--node', 'node1'])).code).toBe(0);
    expect(versions(p)).toEqual(['v1.1.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    const rolled = await p.deploy(['rollback', 'prod', '--last']);
    expect(rolled.code).toBe(0);
    expect(rolled.stdout).toMatch(/node2 .*not changed by the last run: stays/);
    expect(versions(p)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    expect((await p.deploy(['status', 'prod', '--check'])).code).toBe(0);
  });
});

describe('5. unsafe defaults', () => {
  it('a pre node outside the pool (preInPool: false) is never drained; one the load balancer still serves is refused', async () => {
    const lb = ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, `  backend: ${sb.haproxy.backend}`];
    const p = project({ lb: ['preInPool: false', ...lb] });
    const api = (line: string) =>
      execFileSync('socat', ['stdio', `unix-connect:${sb.haproxy.socket}`], { input: `${line}\n`, encoding: 'utf8' });
    // The case under test: the load balancer has node1 in its pool (whatever an earlier file on this sandbox left).
    api(`set server ${sb.haproxy.backend}/node1 state ready`);
    const refused = await p.deploy(['prod', 'v1.0.0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /node1 is the pre node and outside the pool \(preInPool: false\), but the load balancer has it in its pool/,
    );
    for (const node of NODES) expect(p.releases(node)).toEqual([]);
    api(`set server ${sb.haproxy.backend}/node1 state maint`);
    try {
      const ok = await p.deploy(['prod', 'v1.0.0']);
      expect(ok.code).toBe(0);
      expect(versions(p)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
      // Warm now (the others serve): they are drained one by one; the pre node never is.
      await new Promise((r) => setTimeout(r, 2500));
      const warm = await p.deploy(['prod', 'v1.1.0']);
      expect(warm.code).toBe(0);
      expect(warm.stdout).not.toMatch(/node1 +rollout:drain/);
      expect(warm.stdout).toMatch(/node2 +rollout:drain/);
      expect(api(`show servers state ${sb.haproxy.backend}`)).toMatch(/ node1 \S+ \d+ \d+ 1 /);
    } finally {
      api(`set server ${sb.haproxy.backend}/node1 state ready`);
    }
  });
});
