import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { validateUserConfig } from '../../src/config/validate.js';
import { layout } from '../../src/remote/paths.js';
import {
  parseServiceStatus,
  serviceCheck,
  serviceProbe,
  serviceRestart,
  serviceStatus,
  serviceStop,
  type ServiceSpec,
} from '../../src/remote/service.js';
import { bootLine, daemonPaths } from '../../src/remote/service-daemon.js';
import { unitFile } from '../../src/remote/service-unit.js';
import { quote, render } from '../../src/remote/tokens.js';

const l = layout('/srv/shop');
const owner = { project: 'shop', env: 'prod' };
const at = { ...owner, layout: l, logsDir: 'shared/log' };
const spec = (over: Partial<ServiceSpec> = {}): ServiceSpec => ({
  manager: 'systemd',
  unit: 'shop',
  user: true,
  start: 'exec node server.js',
  env: {},
  timeoutMs: 30_000,
  stopTimeoutMs: 10_000,
  ...over,
});
/** A start command and environment that need every escape a unit file has. */
const hard = spec({
  start: `set -a; . ./app.env; exec node "server.js" --home "$HOME" --name '100%' \\x`,
  env: { NODE_ENV: 'production', ODD: 'a "b" \\c 5% $d' },
});

/** `systemd-analyze verify` on a unit file written to a temp dir: its exit code and what it said. */
function verify(text: string, name = 'shop.service') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-unit-'));
  try {
    fs.writeFileSync(path.join(dir, name), text);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', path.join(dir, name)], { encoding: 'utf8' });
    return { code: r.status, said: `${r.stdout}${r.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('the systemd unit relink writes', () => {
  it('runs the start command in current, restarts on failure and starts with the user manager', () => {
    expect(unitFile(spec({ env: { NODE_ENV: 'production' } }), l, owner)).toBe(
      [
        "# shop.service, written by relink on every restart from the service setting of shop's",
        '# deploy.config.ts: edits here are overwritten.',
        '[Unit]',
        'Description=shop (prod), deployed by relink',
        '',
        '[Service]',
        'Type=exec',
        'WorkingDirectory=/srv/shop/current',
        'Environment="NODE_ENV=production"',
        'ExecStart=/bin/sh -c "exec node server.js"',
        'Restart=on-failure',
        'RestartSec=1',
        'TimeoutStopSec=10000ms',
        '',
        '[Install]',
        'WantedBy=default.target',
        '',
      ].join('\n'),
    );
    const system = unitFile(spec({ user: false }), l, owner);
    expect(system).toContain('After=network.target\n');
    expect(system).toContain('WantedBy=multi-user.target\n');
  });

  it('escapes quotes, backslashes, specifiers and $ so the shell gets the start command as written', () => {
    const text = unitFile(hard, l, owner);
    expect(text).toContain(
      'ExecStart=/bin/sh -c "set -a; . ./app.env; exec node \\"server.js\\" --home \\"$$HOME\\" --name \'100%%\' \\\\x"',
    );
    expect(text).toContain('Environment="ODD=a \\"b\\" \\\\c 5%% $d"');
    expect(() => unitFile(spec({ start: 'a\nb' }), l, owner)).toThrow(/line break/);
  });

  it("passes Debian's systemd-analyze verify, as a user unit and as a system unit", () => {
    for (const user of [true, false]) {
      const checked = verify(unitFile({ ...hard, user }, l, owner));
      expect(checked).toEqual({ code: 0, said: '' });
    }
    // The check can fail: an unbalanced quote (an escape missed) leaves the unit without ExecStart.
    const broken = unitFile(hard, l, owner).replace(/^ExecStart=.*$/m, 'ExecStart=/bin/sh -c "exec node');
    expect(verify(broken)).toEqual({ code: 1, said: expect.stringContaining('shop.service') });
  });

  it('is installed, reloaded, enabled and restarted with systemctl --user, stopped and disabled, and read', () => {
    const restart = render(serviceRestart(spec(), at));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not JavaScript.
    const env = 'XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"';
    expect(restart).toMatch(/^mkdir -p "\$HOME"\/\.config\/systemd\/user && cd "\$HOME"\/\.config\/systemd\/user && /);
    expect(restart).toContain(`printf %s '# shop.service, written by relink`);
    expect(restart).toContain(
      ` > .shop.service.relink-tmp && mv -f .shop.service.relink-tmp shop.service && ${env} systemctl --user ` +
        `daemon-reload && ${env} systemctl --user enable --quiet shop.service && ${env} systemctl --user restart ` +
        'shop.service',
    );
    expect(render(serviceStop(spec(), at))).toBe(
      `${env} systemctl --user stop shop.service && ${env} systemctl --user disable --quiet shop.service`,
    );
    expect(render(serviceStatus(spec({ user: false }), at))).toBe(
      'systemctl show --property=LoadState,ActiveState,SubState,MainPID,UnitFileState -- shop.service',
    );
    expect(render(serviceRestart(spec({ user: false }), at))).toMatch(
      /^mkdir -p \/etc\/systemd\/system && cd \/etc\/systemd\/system && .* && systemctl daemon-reload && systemctl enable --quiet shop.service && systemctl restart shop.service$/s,
    );
  });

  it("reads the unit's state from systemctl show, keeping only words and a pid", () => {
    const show = 'LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=812\nUnitFileState=enabled\n';
    expect(parseServiceStatus(spec(), show)).toEqual({ running: true, text: 'active (running), pid 812, enabled' });
    expect(parseServiceStatus(spec(), 'LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\n')).toEqual({
      running: false,
      text: 'failed (failed), ?',
    });
    expect(parseServiceStatus(spec(), 'LoadState=not-found\nActiveState=inactive\n').text).toBe(
      'shop.service not installed',
    );
    expect(parseServiceStatus(spec(), 'ActiveState=\x1b[31mactive\nMainPID=-1\n')).toEqual({
      running: false,
      text: '? (?), ?',
    });
  });

  it('makes doctor ask for lingering for a user unit, not for a system unit', () => {
    expect(render(serviceProbe(spec()))).toBe(
      'echo "user=$(id -un)" ; { command -v systemctl >/dev/null && echo systemctl=yes || echo systemctl=no ; } ; ' +
        '{ loginctl show-user --property=Linger "$(id -un)" 2>/dev/null || true ; } ; ' +
        '{ test -e /var/lib/systemd/linger/"$(id -un)" && echo lingerfile=yes || echo lingerfile=no ; }',
    );
    const off = serviceCheck(spec(), 'user=deploy\nsystemctl=yes\nLinger=no\nlingerfile=no\n');
    expect(off).toEqual({ ok: false, detail: expect.stringContaining('deploy does not linger') });
    expect(off.detail).toContain('loginctl enable-linger deploy');
    expect(serviceCheck(spec(), 'user=deploy\nsystemctl=yes\nlingerfile=yes\n')).toEqual({
      ok: true,
      detail: 'user unit shop.service, systemctl yes, deploy lingers',
    });
    expect(serviceCheck(spec({ user: false }), 'user=root\nsystemctl=yes\nlingerfile=no\n').ok).toBe(true);
    expect(serviceCheck(spec({ user: false }), 'systemctl=no\n').ok).toBe(false);
  });
});

describe('the fallback: start-stop-daemon with a pid file, cron at boot', () => {
  const fb = spec({ manager: 'start-stop-daemon', env: { NODE_ENV: 'production' } });
  const start =
    "mkdir -p /srv/shop/.relink /srv/shop/shared/log && /sbin/start-stop-daemon --start --quiet --background --make-pidfile --pidfile /srv/shop/.relink/service-shop.pid --chdir /srv/shop/current --output /srv/shop/shared/log/shop.log --startas /usr/bin/env -- NODE_ENV=production /bin/sh -c 'exec node server.js'";
  const stop =
    '/sbin/start-stop-daemon --stop --quiet --oknodo --pidfile /srv/shop/.relink/service-shop.pid --remove-pidfile --retry TERM/10/KILL/5';

  it('restarts: the @reboot line in the crontab once, the old process stopped, the app started from current', () => {
    const line = `@reboot rm -f /srv/shop/.relink/service-shop.pid ; ${start} #relink-service:shop:`;
    expect(render(serviceRestart(fb, at))).toBe(
      `{ crontab -l 2>/dev/null | grep -vF -- '#relink-service:shop:' ; echo ${quote(line)} ; } | crontab - && ${stop} && ${start}`,
    );
  });

  it('stops, and takes the line out of the crontab; reads the status and the boot line', () => {
    expect(render(serviceStop(fb, at))).toBe(
      `${stop} && { crontab -l 2>/dev/null | grep -vF -- '#relink-service:shop:' || true ; } | crontab -`,
    );
    expect(render(serviceStatus(fb, at))).toBe(
      '/sbin/start-stop-daemon --status --pidfile /srv/shop/.relink/service-shop.pid ; echo "status=$?" ; ' +
        'printf \'pid=%s\\n\' "$(head -n 1 /srv/shop/.relink/service-shop.pid 2>/dev/null)" ; ' +
        "{ crontab -l 2>/dev/null | grep -qF -- '#relink-service:shop:' && echo boot=yes || echo boot=no ; }",
    );
    expect(parseServiceStatus(fb, 'status=0\npid=4711\nboot=yes\n')).toEqual({
      running: true,
      text: 'running, pid 4711, starts at boot',
    });
    expect(parseServiceStatus(fb, 'status=3\npid=\nboot=no\n')).toEqual({
      running: false,
      text: 'not running, NOT started at boot (no crontab line)',
    });
    expect(parseServiceStatus(fb, 'status=1\npid=99\nboot=yes\n').text).toBe(
      'dead (its pid file is left), starts at boot',
    );
  });

  it('escapes % in the crontab line, where cron would end the command at it', () => {
    const line = bootLine(spec({ manager: 'start-stop-daemon', start: 'date +%s > t' }), l, daemonPaths(fb, l, 'log'));
    expect(line).toContain("'date +\\%s > t'");
    expect(line).not.toMatch(/[^\\]%/);
  });

  it('the boot line is one a shell runs: sh -n parses it', () => {
    const line = bootLine(hard, l, daemonPaths(hard, l, 'shared/log'));
    expect(() => execFileSync('sh', ['-n', '-c', line.replace(/^@reboot /, '').replaceAll('\\%', '%')])).not.toThrow();
  });
});

describe('the service setting', () => {
  const base = { project: 'shop', repo: '.', deployTo: '/srv/shop' };
  const service = { manager: 'start-stop-daemon', unit: 'shop', start: 'exec node server.js' } as const;

  it('fills its defaults, merges per environment key by key, and refuses restart or stop beside it', () => {
    const user = validateUserConfig(
      { ...base, service, environments: { dev: { service: { ...service, unit: 'shop-dev' } } } },
      'deploy.config.ts',
    );
    expect(resolveConfig(user, 'prod', '/p/deploy.config.ts').service).toEqual({
      ...service,
      user: true,
      env: {},
      timeoutMs: 30_000,
      stopTimeoutMs: 10_000,
    });
    expect(resolveConfig(user, 'dev', '/p/deploy.config.ts').service?.unit).toBe('shop-dev');
    const both = validateUserConfig({ ...base, service, stop: { command: 'sh stop.sh' } }, 'deploy.config.ts');
    expect(() => resolveConfig(both, 'prod', '/p/deploy.config.ts')).toThrow(/set either service or restart\/stop/);
  });

  it('refuses a unit name with .service, a start command of two lines, and an unknown manager', () => {
    const bad = (s: object) => () => validateUserConfig({ ...base, service: { ...service, ...s } }, 'x.ts');
    expect(bad({ unit: 'shop.service' })).toThrow(/without ".service"/);
    expect(bad({ unit: '-shop' })).toThrow(/service\.unit/);
    expect(bad({ start: 'a\nb' })).toThrow(/one line/);
    expect(bad({ manager: 'runit' })).toThrow(/service\.manager/);
  });
});
