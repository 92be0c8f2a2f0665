import { describe, expect, it } from 'vitest';
import { statusOf } from '../../src/app/reads.js';
import { observe } from '../../src/app/observe.js';
import { deploy } from '../../src/pipeline/run.js';
import { fakeRun, label } from '../helpers/fake-run.js';

// biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not JavaScript.
const XDG = 'XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"';
const systemd = { restart: undefined, service: { unit: 'hello', start: 'exec node server.js' } };
const fallback = {
  restart: undefined,
  service: { manager: 'start-stop-daemon', unit: 'hello', start: 'exec node server.js', stopTimeoutMs: 4000 },
};
const PID = '/srv/app/.relink/service-hello.pid';
const START =
  `mkdir -p /srv/app/.relink /srv/app/shared/log && /sbin/start-stop-daemon --start --quiet --background ` +
  `--make-pidfile --pidfile ${PID} --chdir /srv/app/current --output /srv/app/shared/log/hello.log ` +
  "--startas /usr/bin/env -- /bin/sh -c 'exec node server.js'";
const STOP = `/sbin/start-stop-daemon --stop --quiet --oknodo --pidfile ${PID} --remove-pidfile --retry TERM/4/KILL/5`;
const CRONTAB = "crontab -l 2>/dev/null | grep -vF -- '#relink-service:hello:'";

/** A node's commands from its relink on, labelled, the service's own in full. */
function fromRelink(run: ReturnType<typeof fakeRun>, node: string): string[] {
  const labels = run.transport.commandsFor(node).map(label);
  return labels.slice(labels.findIndex((l) => l.startsWith('relink:')));
}

describe('a deploy with a systemd service', () => {
  it('writes the user unit, reloads, enables and restarts it with systemctl --user after the relink', async () => {
    const run = fakeRun({ config: systemd });
    await deploy(run.request, run.deps, run.source);
    for (const node of ['node1', 'node2', 'node3', 'node4']) {
      const [relink, restart, ...rest] = fromRelink(run, node);
      expect(relink).toMatch(/^relink:hello_prod_v1\.1\.0/);
      expect(restart).toMatch(
        /^mkdir -p "\$HOME"\/\.config\/systemd\/user && cd "\$HOME"\/\.config\/systemd\/user && printf %s '# hello/,
      );
      expect(restart).toContain('\nWorkingDirectory=/srv/app/current\n');
      expect(restart).toContain('\nExecStart=/bin/sh -c "exec node server.js"\n');
      expect(restart).toMatch(
        new RegExp(
          ` > \\.hello\\.service\\.relink-tmp && mv -f \\.hello\\.service\\.relink-tmp hello\\.service && ${esc(XDG)} ` +
            `systemctl --user daemon-reload && ${esc(XDG)} systemctl --user enable --quiet hello\\.service && ` +
            `${esc(XDG)} systemctl --user restart hello\\.service$`,
        ),
      );
      expect(rest.some((c) => c.includes('systemctl'))).toBe(false);
    }
  });

  it('a system unit: /etc/systemd/system and plain systemctl', async () => {
    const run = fakeRun({ config: { ...systemd, service: { ...systemd.service, user: false } } });
    await deploy(run.request, run.deps, run.source);
    const restart = fromRelink(run, 'node2')[1]!;
    expect(restart).toMatch(/^mkdir -p \/etc\/systemd\/system && cd \/etc\/systemd\/system && /);
    expect(restart).toMatch(
      / && systemctl daemon-reload && systemctl enable --quiet hello\.service && systemctl restart hello\.service$/,
    );
    expect(restart).toContain('WantedBy=multi-user.target');
  });

  it('a failed restart names the node, systemctl and its last words, not the command line', async () => {
    const run = fakeRun({
      config: systemd,
      answer: (node, command) =>
        node === 'node1' && command.includes('systemctl --user restart')
          ? { code: 1, stdout: '', stderr: 'Job for hello.service failed.' }
          : undefined,
    });
    const error = (await deploy(run.request, run.deps, run.source).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/^node1: systemctl restart of hello exited 1\n {2}Job for hello\.service failed\./);
    expect(error.message).not.toContain('daemon-reload');
  });

  it('deploy status reads systemctl show: the state, the pid, and an app that is not running is unhealthy', async () => {
    const show = (state: string) =>
      `LoadState=loaded\nActiveState=${state}\nSubState=x\nMainPID=812\nUnitFileState=enabled\n`;
    const run = fakeRun({
      config: systemd,
      answer: (node, command) =>
        command.includes('systemctl --user show')
          ? { stdout: show(node === 'node3' ? 'failed' : 'active') }
          : undefined,
    });
    const seen = await observe(run.request.config, run.request.inventory, 'ana', 'obs1', run.deps);
    const { rows } = await statusOf(seen, new Date('2026-11-21T17:00:00Z'));
    await seen.close();
    expect(run.transport.commandsFor('node1')).toContain(
      `${XDG} systemctl --user show --property=LoadState,ActiveState,SubState,MainPID,UnitFileState -- hello.service`,
    );
    expect(rows[0]).toMatchObject({ healthy: true, health: 'ok', service: 'active (x), pid 812, enabled' });
    expect(rows[2]).toMatchObject({
      healthy: false,
      health: 'service hello: failed (x), pid 812, enabled',
      service: 'failed (x), pid 812, enabled',
    });
  });
});

describe('a deploy with the start-stop-daemon fallback', () => {
  it('restarts: the @reboot line in the crontab, the old process stopped, the app started from current', async () => {
    const run = fakeRun({ config: fallback });
    await deploy(run.request, run.deps, run.source);
    const [, restart] = fromRelink(run, 'node1');
    const line = `@reboot rm -f ${PID} ; ${START} #relink-service:hello:`;
    expect(restart).toBe(
      `{ ${CRONTAB} ; echo '${line.replaceAll("'", "'\\''")}' ; } | crontab - && ${STOP} && ${START}`,
    );
  });

  it('undoing a failed first deploy stops the app it started and takes its boot line away', async () => {
    const run = fakeRun({ config: fallback, cold: true, unhealthy: (node) => node === 'node1' });
    await expect(deploy(run.request, run.deps, run.source)).rejects.toThrow(/node1: smoke test failed/);
    const tail = fromRelink(run, 'node1');
    const unlink = tail.indexOf('unlink');
    expect(unlink).toBeGreaterThan(1);
    expect(tail[unlink + 2]).toBe(`${STOP} && { ${CRONTAB} || true ; } | crontab -`);
    expect(run.events.some((e) => e.type === 'warn' && /may still run/.test(e.message))).toBe(false);
  });

  it('deploy status reads start-stop-daemon --status, the pid file and the crontab', async () => {
    const run = fakeRun({
      config: fallback,
      answer: (node, command) =>
        command.startsWith('/sbin/start-stop-daemon --status')
          ? { stdout: node === 'node2' ? 'status=3\npid=\nboot=yes\n' : 'status=0\npid=4711\nboot=yes\n' }
          : undefined,
    });
    const seen = await observe(run.request.config, run.request.inventory, 'ana', 'obs1', run.deps);
    const { rows } = await statusOf(seen, new Date('2026-11-21T17:00:00Z'));
    await seen.close();
    expect(run.transport.commandsFor('node1')).toContain(
      `/sbin/start-stop-daemon --status --pidfile ${PID} ; echo "status=$?" ; ` +
        `printf 'pid=%s\\n' "$(head -n 1 ${PID} 2>/dev/null)" ; ` +
        "{ crontab -l 2>/dev/null | grep -qF -- '#relink-service:hello:' && echo boot=yes || echo boot=no ; }",
    );
    expect(rows[0]).toMatchObject({ healthy: true, service: 'running, pid 4711, starts at boot' });
    expect(rows[1]).toMatchObject({ healthy: false, health: 'service hello: not running, starts at boot' });
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
