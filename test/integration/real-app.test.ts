// A real application from npm, end to end: json-server 0.17.4 (a REST API that keeps its data in a JSON file
// and writes it by temp file and rename), built with `npm ci` from its lock file, run as a service under the
// nodes' own manager (start-stop-daemon and cron here: the sandbox has no systemd), its data in a shared dir,
// with a seed hook, a migration hook once per release and an after-switch hook on each node; deployed,
// rolled back and rolled back to a release whose config differs, through HAProxy under load.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startLoad } from '../helpers/load.js';
import { onNode, Project, readSandbox, repoRoot, type Sandbox, stopApps } from '../helpers/project.js';

const NODES = ['node1', 'node2', 'node3', 'node4'];
const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'json-server-app');
const zx = path.join(repoRoot, 'node_modules', 'zx', 'build', 'cli.js');
let sb: Sandbox;

/**
 * The start command: json-server on the node's address and port, over the shared data dir, with `/health` (what
 * HAProxy checks) answered by the todo list (routes.json); `extra` flags.
 */
const start = (extra: string) =>
  `. ./app.env && exec node node_modules/json-server/lib/cli/bin.js data/db.json --routes routes.json --host "$BIND" --port "$PORT"${extra}`;

/** The service setting with a given start command (the config of a release). */
const service = (command: string) =>
  `{ manager: 'start-stop-daemon', unit: 'todo', start: ${JSON.stringify(command)}, stopTimeoutMs: 5000 }`;

const CONFIG = `
  build: { command: 'npm ci --omit=dev --no-audit --no-fund --prefer-offline', timeoutMs: 300000 },
  shared: { dirs: ['log', 'data'] },
  smoke: { url: 'http://{{ node.address }}:{{ host.appPort }}/todos', retries: 100, intervalMs: 100 },
  hooks: {
    afterDistribute: [{ name: 'seed', command: 'test -s data/db.json || echo \\'{ "todos": [] }\\' > data/db.json' }],
    beforeSwitch: [{ name: 'migrate', command: 'echo "$RELINK_RELEASE" >> data/migrations.log' }],
    afterSwitch: [{ name: 'warm', command: 'echo "$RELINK_RELEASE" >> data/switched.log' }],
  },
`;

/** The node's json-server command line, from its process table. */
const appLine = (node: string) =>
  onNode(sb, node, 'ps -eo args')
    .split('\n')
    .filter((l) => l.includes('json-server/lib/cli/bin.js'));

async function json(url: string, init?: RequestInit): Promise<unknown> {
  const answer = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  if (!answer.ok) throw new Error(`${url}: ${answer.status}`);
  return answer.json();
}

const nodeUrl = (node: string) => {
  const n = sb.nodes.find((x) => x.name === node)!;
  return `http://${n.address}:${n.appPort}`;
};

/** The titles of the todos a node's API answers (its own data: each node keeps its own file). */
const titles = async (node: string) =>
  ((await json(`${nodeUrl(node)}/todos`)) as { title: string }[]).map((t) => t.title);

/** Asks a node until its API answers (a node that rebooted starts its app from cron), or 20 s pass. */
async function answers(node: string): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await titles(node);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Until every server of the backend answered through HAProxy (its health checks see them up), or 30 s pass. */
async function lbSeesAll(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let inARow = 0;
  while (inARow < 12) {
    if (Date.now() > deadline) throw new Error(`HAProxy did not answer 12 times in a row: ${url}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    inARow = ok ? inARow + 1 : 0;
    if (!ok) await new Promise((r) => setTimeout(r, 500));
  }
}

/** Runs `moves` under load through HAProxy (once it sees every node) and checks no request failed. */
async function underLoad(url: string, moves: () => Promise<void>): Promise<void> {
  await lbSeesAll(url);
  const load = startLoad(url, 40, 4, 600, (status, body) => status === 200 && body.trimStart().startsWith('['));
  let done = false;
  try {
    await moves();
    done = true;
  } finally {
    const seen = await load.stop();
    if (done) {
      expect(seen.requests).toBeGreaterThan(40);
      expect(seen.failures, seen.errors.join('\n')).toBe(0);
    }
  }
}

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
});
afterAll(() => {
  for (const node of sb.nodes)
    onNode(sb, node.name, "pkill -9 -f '[j]son-server/lib/cli' || true; crontab -r 2>/dev/null || true");
});

describe('json-server from npm, as a service, with hooks and shared data, through HAProxy under load', () => {
  let p: Project;
  const lb = () => ['lb:', '  driver: haproxy', `  socket: ${sb.haproxy.socket}`, `  backend: ${sb.haproxy.backend}`];

  beforeAll(() => {
    p = new Project(sb, { lb: lb(), service: service(start('')), configExtra: CONFIG });
    // The app's repository becomes json-server's: its package.json and lock file, nothing of the example app.
    execFileSync('git', ['-C', p.appRepo, 'rm', '-rq', '.']);
    p.tag('v2.0.0', (repo) => {
      for (const f of ['package.json', 'package-lock.json', 'routes.json'])
        fs.copyFileSync(path.join(FIXTURE, f), path.join(repo, f));
      fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules/\ndata/\n');
    });
    p.tag('v2.1.0', (repo) => fs.writeFileSync(path.join(repo, 'NOTES.md'), 'v2.1.0\n'));
    p.tag('v2.2.0', (repo) => fs.writeFileSync(path.join(repo, 'NOTES.md'), 'v2.2.0\n'));
  });
  afterAll(() => p.remove());

  it('keeps its data through deploys and rollbacks, runs each hook where it says, and drops no request', async () => {
    const first = await p.deploy(['prod', 'v2.0.0']);
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
    for (const node of NODES) expect(p.current(node)).toContain('_v2.0.0_');

    const lbUrl = `http://127.0.0.1:${sb.haproxy.port}/todos`;
    // Each node keeps its own file: a todo posted to each, read back from each after every move.
    for (const node of NODES)
      await json(`${nodeUrl(node)}/todos`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: `kept on ${node}` }),
      });
    const kept = async (when: string) => {
      for (const node of NODES) expect(await answers(node), `${node} ${when}`).toContain(`kept on ${node}`);
    };

    await underLoad(lbUrl, async () => {
      // The config changes with v2.1.0: another start command. The release keeps the one it was deployed with.
      const before = fs.readFileSync(p.configFile, 'utf8');
      const changed = before.replace(JSON.stringify(start('')), JSON.stringify(start(' --no-gzip')));
      expect(changed).not.toBe(before);
      fs.writeFileSync(p.configFile, changed);
      for (const v of ['v2.1.0', 'v2.2.0']) {
        const result = await p.deploy(['prod', v]);
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        await kept(`after deploying ${v}`);
      }
      for (const node of NODES) expect(appLine(node).join()).toContain('--no-gzip');

      const last = await p.deploy(['rollback', 'prod', '--last']);
      expect(last.code, `${last.stdout}\n${last.stderr}`).toBe(0);
      for (const node of NODES) expect(p.current(node)).toContain('_v2.1.0_');
      await kept('after rollback --last');

      const older = await p.deploy(['rollback', 'prod', '--to', 'v2.0.0']);
      expect(older.code, `${older.stdout}\n${older.stderr}`).toBe(0);
      await kept('after rollback --to v2.0.0');
      for (const node of NODES) {
        expect(p.current(node)).toContain('_v2.0.0_');
        // Started as v2.0.0 was deployed (no --no-gzip), though today's config says otherwise.
        expect(appLine(node)).toHaveLength(1);
        expect(appLine(node).join()).not.toContain('--no-gzip');
      }
    });

    // The migration ran once per deploy, on the pre node only; the after-switch hook on every node, every move.
    const data = (node: string, file: string) =>
      fs.existsSync(p.nodePath(node, 'shared', 'data', file))
        ? fs
            .readFileSync(p.nodePath(node, 'shared', 'data', file), 'utf8')
            .trim()
            .split('\n')
        : [];
    const migrations = data('node1', 'migrations.log');
    expect(migrations.map((r) => /_(v[\d.]+)_/.exec(r)?.[1])).toEqual(['v2.0.0', 'v2.1.0', 'v2.2.0']);
    for (const node of ['node2', 'node3', 'node4']) expect(data(node, 'migrations.log'), node).toEqual([]);
    for (const node of NODES) {
      const switched = data(node, 'switched.log').map((r) => /_(v[\d.]+)_/.exec(r)?.[1]);
      expect(switched, node).toEqual(['v2.0.0', 'v2.1.0', 'v2.2.0', 'v2.1.0', 'v2.0.0']);
    }

    // A node that reboots: only its sshd and what its users' crontabs start at boot; the app comes back.
    const script = path.join(repoRoot, 'scripts', 'sandbox.mjs');
    execFileSync('node', [zx, script, 'restart-node', '--name', 'node3', '--dir', sb.dir], { stdio: 'ignore' });
    expect(await answers('node3')).toContain('kept on node3');
    expect(appLine('node3')).toHaveLength(1);

    await underLoad(lbUrl, async () => {
      // A rollback that fails on the pre node puts it back where it was, serving; nothing else moved.
      const again = await p.deploy(['prod', 'v2.2.0']);
      expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
      // The releases rolled back from are spent (cleanup took them): v2.0.0 is the one to go back to.
      const broken = p.releases('node1').find((r) => r.includes('_v2.0.0_'));
      expect(broken, p.releases('node1').join('\n')).toBeDefined();
      fs.rmSync(p.nodePath('node1', 'releases', broken!, 'node_modules'), { recursive: true, force: true });
      const failed = await p.deploy(['rollback', 'prod', '--last']);
      expect(failed.code, `${failed.stdout}\n${failed.stderr}`).not.toBe(0);
      for (const node of NODES) expect(p.current(node), node).toContain('_v2.2.0_');
      await kept('after a rollback that failed on the pre node');
    });
  }, 300_000);
});
