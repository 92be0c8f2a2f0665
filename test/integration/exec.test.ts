// deploy exec on the sandbox: a command on every node over real SSH, its lines prefixed by node, the exit
// codes, the current release, the deploy lock, the journal, the deadline and Ctrl-C.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cliJson } from '../helpers/json.js';
import { onNode, Project, readSandbox, type Sandbox, startUntil, stopApps } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;
const NODES = ['node1', 'node2', 'node3', 'node4'];

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb);
});

afterAll(() => {
  stopApps(sb);
  project.remove();
});

/** The journal lines `deploy exec` wrote on a node. */
const execLines = (node: string) => project.journal(node).filter((e) => e.event === 'exec');

/** Whether a process whose command line matches `pattern` runs on a node. */
const running = (node: string, pattern: string) => onNode(sb, node, `pgrep -f '${pattern}' || true`).trim() !== '';

describe('deploy exec', () => {
  it('with --in current and nothing deployed: each node says so, and nothing runs (exit 1)', async () => {
    const r = await project.deploy(['exec', 'prod', '--in', 'current', '--', 'pwd']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    for (const node of NODES) {
      expect(r.stderr).toContain(`${node}  not run: no current release on ${node}: nothing is deployed there yet`);
    }
    expect(r.stderr).toMatch(/failed on 4 of 4 nodes: node1, node2, node3, node4\n$/);
    expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
  });

  it('prints one line per node, prefixed by its name, and an exit code per node; exit 0', async () => {
    const r = await project.deploy(['exec', 'prod', '--', 'uname', '-a']);
    expect([r.code, r.stderr]).toEqual([0, expect.stringMatching(/exit 0 on all 4 nodes\n$/)]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toMatch(/^node\d \| Linux \S+ /);
    expect(lines.map((l) => l.slice(0, 5)).sort()).toEqual(NODES);
    for (const node of NODES) expect(r.stderr).toMatch(new RegExp(`^${node}  exit 0  \\d+\\.\\ds$`, 'm'));
    // Journaled on each node: who, what, its exit code.
    for (const node of NODES) {
      expect(execLines(node)).toEqual([
        expect.objectContaining({ user: expect.any(String), command: 'uname -a', code: 0, env: 'prod' }),
      ]);
    }
  });

  it('fails when the command fails on one node: exit 1, naming it and its code; the others ran', async () => {
    const r = await project.deploy(['exec', 'prod', '--', 'echo "on $RELINK_NODE"; test "$RELINK_NODE" != node3']);
    expect(r.code).toBe(1);
    expect(r.stdout.trimEnd().split('\n').sort()).toEqual(NODES.map((n) => `${n} | on ${n}`));
    expect(r.stderr).toMatch(/^node3 {2}exit 1 /m);
    expect(r.stderr).toMatch(/^node1 {2}exit 0 /m);
    expect(r.stderr).toMatch(/failed on 1 of 4 nodes: node3\n$/);
    expect(execLines('node3').at(-1)).toMatchObject({ code: 1 });
    expect(execLines('node1').at(-1)).toMatchObject({ code: 0 });
  });

  it('runs inside the current release with --in current, its secrets redacted; --json says where', async () => {
    const r = await project.deploy(['exec', 'prod', '--in', 'current', '--', 'pwd -P; grep APP_SECRET app.env']);
    expect(r.code, r.stderr).toBe(0);
    for (const node of NODES) {
      const release = path.basename(project.current(node)!);
      expect(r.stdout).toContain(`${node} | ${project.deployTo}/releases/${release}\n`);
      expect(r.stdout).toContain(`${node} | APP_SECRET=[REDACTED]\n`);
    }
    expect(r.stdout).not.toContain('it-secret-value');
    const json = cliJson(
      'exec',
      (await project.deploy(['exec', 'prod', '--in', 'current', '--json', '--', 'pwd'])).stdout,
    );
    expect(json).toMatchObject({ env: 'prod', command: 'pwd', in: 'current', ok: true });
    for (const n of json.nodes) {
      expect(n.ran && n.release).toBe(path.basename(project.current(n.node)!));
      expect(n.ran && n.stdout).toBe(`${project.deployTo}/releases/${n.ran && n.release}\n`);
    }
    expect(execLines('node2').at(-1)).toMatchObject({ command: 'pwd', release: json.nodes[1]!.release });
  });

  it('is refused while another run holds the deploy lock (exit 4, nothing run), and runs beside it with --force', async () => {
    const now = new Date().toISOString();
    const owner = {
      run: 'other-run',
      kind: 'run',
      user: 'bo',
      host: 'ci-7',
      pid: 4242,
      command: 'deploy',
      since: now,
      heartbeat: now,
    };
    fs.mkdirSync(project.nodePath('node2', '.relink', 'lock'));
    fs.writeFileSync(project.nodePath('node2', '.relink', 'lock', 'owner.json'), `${JSON.stringify(owner)}\n`);
    try {
      const before = NODES.map((n) => execLines(n).length);
      const refused = await project.deploy(['exec', 'prod', '--', 'touch', 'exec-ran']);
      expect(refused.code).toBe(4);
      expect(refused.stderr).toMatch(
        /the deploy lock of prod is held; nothing was run:\n {2}node2: bo on ci-7 \(pid 4242, run other-run\)/,
      );
      expect(refused.stderr).toMatch(
        /next: wait for it \(deploy lock status prod\), or run the command beside it: add --force/,
      );
      expect(NODES.map((n) => execLines(n).length)).toEqual(before);
      expect(NODES.some((n) => fs.existsSync(project.nodePath(n, 'exec-ran')))).toBe(false);

      const forced = await project.deploy(['exec', 'prod', '--force', '--', 'touch', 'exec-ran']);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stderr).toMatch(/warning: node2: running beside the deploy lock \(--force\): bo on ci-7/);
      expect(NODES.every((n) => fs.existsSync(project.nodePath(n, 'exec-ran')))).toBe(true);
      expect(execLines('node2').at(-1)!.reason).toMatch(/^run beside the deploy lock \(--force\): bo on ci-7/);
      // The lock is the other run's still: exec read it, never took it.
      expect(JSON.parse(fs.readFileSync(project.nodePath('node2', '.relink', 'lock', 'owner.json'), 'utf8'))).toEqual(
        owner,
      );
    } finally {
      fs.rmSync(project.nodePath('node2', '.relink', 'lock'), { recursive: true, force: true });
    }
  });

  it('ends the command on every node at its --timeout (exit 124 there, 1 here), leaving nothing running', async () => {
    const started = Date.now();
    const r = await project.deploy(['exec', 'prod', '--timeout', '1s', '--', 'sleep 31.5']);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    for (const node of NODES) {
      expect(r.stderr).toMatch(new RegExp(`^${node}  exit 124 \\(timed out after 1\\.0s\\)`, 'm'));
      expect(running(node, 'sleep 31[.]5')).toBe(false);
      expect(execLines(node).at(-1)).toMatchObject({ command: 'sleep 31.5', code: 124 });
    }
  });

  it('stops on every node at Ctrl-C: exit 130, nothing left running, each node journaled', async () => {
    const all = /(started[\s\S]*){4}/;
    const ended = await startUntil(project, ['exec', 'prod', '--', 'echo started; sleep 33.5'], all, (child) =>
      child.kill('SIGINT'),
    );
    expect(ended.acted).toBe(true);
    expect(ended.code, ended.stderr).toBe(130);
    // exec moves nothing: Ctrl-C says the command is stopped, with nothing to undo.
    expect(ended.stderr).toMatch(/SIGINT received: stopping the command on every node .*nothing to undo/);
    expect(ended.stderr).not.toMatch(/undoing what this run changed/);
    for (const node of NODES) {
      expect(ended.stderr).toMatch(new RegExp(`^${node}  exit 130 \\(interrupted\\)`, 'm'));
      expect(running(node, 'sleep 33[.]5')).toBe(false);
      expect(execLines(node).at(-1)).toMatchObject({ command: 'echo started; sleep 33.5', code: 130 });
    }
  });
});
