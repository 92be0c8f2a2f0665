import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cliJson } from '../helpers/json.js';
import {
  breakHealth,
  httpText,
  onNode,
  Project,
  readSandbox,
  repoRoot,
  servedThroughLb,
  stopApps,
  type Sandbox,
} from '../helpers/project.js';

let sb: Sandbox;
const zx = path.join(repoRoot, 'node_modules', 'zx', 'build', 'cli.js');
/** The sandbox has no systemd: the fallback, as on a node without it. */
const SERVICE = "{ manager: 'start-stop-daemon', unit: 'hello', start: 'exec node server.js' }";

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
});
afterAll(() => {
  stopApps(sb);
  for (const node of sb.nodes) onNode(sb, node.name, 'crontab -r 2>/dev/null || true');
});

/** The node's processes (its own PID namespace) that run from under the project's deployTo. */
function appProcesses(project: Project, node: string): string[] {
  const out = onNode(
    sb,
    node,
    `for p in /proc/[0-9]*; do d=$(readlink "$p/cwd" 2>/dev/null) && echo "\${p#/proc/} $d"; done`,
  );
  return out.split('\n').filter((line) => line.includes(`${project.deployTo}/`));
}

/** The node's app, asked directly until it answers with `version` (or 15 s pass). */
async function answersDirectly(node: string, version: string): Promise<string> {
  const n = sb.nodes.find((x) => x.name === node)!;
  const deadline = Date.now() + 15_000;
  let last = '';
  while (Date.now() < deadline) {
    last = await httpText(`http://${n.address}:${n.appPort}/`).catch((e: Error) => `error ${e.message}`);
    if (last.includes(version)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}

describe('the app as a service on nodes without systemd: start-stop-daemon, and cron at boot', () => {
  it("undoing a failed first deploy stops the app it started: none is left in the node's process table", async () => {
    const project = new Project(sb, { service: SERVICE });
    try {
      project.tag('v9.0.0', breakHealth);
      const result = await project.deploy(['prod', 'v9.0.0']);
      expect(result.code).not.toBe(0);
      expect(`${result.stdout}${result.stderr}`).toMatch(/smoke test failed/);
      expect(project.current('node1')).toBeUndefined();
      // It did run: started by start-stop-daemon, its output in the log file, then stopped by the undo.
      expect(fs.readFileSync(project.nodePath('node1', 'shared', 'log', 'hello.log'), 'utf8')).toMatch(
        /listening on \d+ version=v9\.0\.0/,
      );
      expect(appProcesses(project, 'node1')).toEqual([]);
      expect(fs.existsSync(project.nodePath('node1', '.relink', 'service-hello.pid'))).toBe(false);
      // Nothing starts it at boot either.
      expect(onNode(sb, 'node1', 'crontab -l 2>/dev/null || true')).not.toContain('#relink-service:hello:');
    } finally {
      project.remove();
    }
  });

  describe('deployed', () => {
    let project: Project;
    beforeAll(async () => {
      stopApps(sb);
      project = new Project(sb, { service: SERVICE });
      const result = await project.deploy(['prod', 'v1.0.0']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    });
    afterAll(() => project.remove());

    it('runs under start-stop-daemon with a pid file, is answered through HAProxy, and has its @reboot line', async () => {
      expect((await servedThroughLb(sb, 'v1.0.0')).every((a) => a.includes('v1.0.0'))).toBe(true);
      for (const node of sb.nodes) {
        const pid = fs.readFileSync(project.nodePath(node.name, '.relink', 'service-hello.pid'), 'utf8').trim();
        expect(appProcesses(project, node.name).map((line) => line.split(' ')[0])).toEqual([pid]);
        const crontab = onNode(sb, node.name, 'crontab -l');
        expect(crontab.match(/^@reboot .*#relink-service:hello:$/gm)).toHaveLength(1);
      }
    });

    it('deploy doctor finds what the fallback needs on every node, and plan names the restart', async () => {
      const doctor = await project.deploy(['doctor', 'prod', '--json']);
      const rows = cliJson('doctor', doctor.stdout).checks.filter((c) => c.check === 'service');
      expect(rows.map((r) => [r.node, r.ok, r.detail])).toEqual(
        sb.nodes.map((n) => [
          n.name,
          true,
          'hello by start-stop-daemon, at boot by cron (#relink-service:hello:): /sbin/start-stop-daemon yes, crontab yes',
        ]),
      );
      const plan = await project.deploy(['plan', 'prod', 'v1.1.0']);
      expect(plan.stdout).toContain('start-stop-daemon restarts hello: exec node server.js');
    });

    it('a second deploy restarts it through the manager, from the new release', async () => {
      const before = fs.readFileSync(project.nodePath('node2', '.relink', 'service-hello.pid'), 'utf8');
      expect((await project.deploy(['prod', 'v1.1.0'])).code).toBe(0);
      expect((await servedThroughLb(sb, 'v1.1.0')).every((a) => a.includes('v1.1.0'))).toBe(true);
      expect(fs.readFileSync(project.nodePath('node2', '.relink', 'service-hello.pid'), 'utf8')).not.toBe(before);
      // Restarting installed the boot line again, not a second one.
      expect(onNode(sb, 'node2', 'crontab -l').match(/#relink-service:hello:$/gm)).toHaveLength(1);
    });

    it('comes back after its node reboots, with no deploy, and deploy status shows it running', async () => {
      const runs = project.journal('node2').length;
      const pid = fs.readFileSync(project.nodePath('node2', '.relink', 'service-hello.pid'), 'utf8');
      const script = path.join(repoRoot, 'scripts', 'sandbox.mjs');
      execFileSync('node', [zx, script, 'restart-node', '--name', 'node2', '--dir', sb.dir], { stdio: 'ignore' });
      expect(await answersDirectly('node2', 'v1.1.0')).toContain('from v1.1.0');
      expect((await servedThroughLb(sb, 'v1.1.0', 12)).every((a) => a.includes('v1.1.0'))).toBe(true);
      // Started again at boot by the crontab line (a new process), not by a deploy (the journal is as it was).
      expect(fs.readFileSync(project.nodePath('node2', '.relink', 'service-hello.pid'), 'utf8')).not.toBe(pid);
      expect(project.journal('node2')).toHaveLength(runs);
      const result = await project.deploy(['status', 'prod', '--json', '--node', 'node2']);
      expect(result.code).toBe(0);
      const status = cliJson('status', result.stdout);
      expect(status.nodes).toEqual([
        expect.objectContaining({
          node: 'node2',
          healthy: true,
          service: expect.stringMatching(/^running, pid \d+, starts at boot$/),
        }),
      ]);
    });
  });
});
