import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { breakHealth, Project, readSandbox, servedThroughLb, stopApps, type Sandbox } from '../helpers/project.js';
import { cliJson } from '../helpers/json.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];
const TOKEN = 'hook-token-5f3a9c7e';

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
});
beforeEach(() => stopApps(sb));

/** A real HTTP receiver: records every POST; /hang never answers. */
async function receiver() {
  const posts: { path: string; body: Record<string, unknown> }[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url?.startsWith('/hang')) {
        hanging.push(res);
        return;
      }
      posts.push({ path: req.url ?? '', body: JSON.parse(body) as Record<string, unknown> });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    close: () =>
      new Promise<void>((r) => {
        for (const res of hanging) res.destroy();
        server.close(() => r());
      }),
  };
}

/** A real SMTP server (smtp-server); `refuse` rejects every recipient. */
async function smtp(refuse = false) {
  const mails: { to: string[]; text: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(_address, _session, callback) {
      callback(refuse ? Object.assign(new Error('relaying denied'), { responseCode: 550 }) : undefined);
    },
    onData(stream, session, callback) {
      let text = '';
      stream.on('data', (d: Buffer) => (text += d.toString()));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), text });
        callback();
      });
    },
    logger: false,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as { port: number }).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('notifications and reports', () => {
  it('webhooks (json, slack, dingtalk, feishu) and email receive start, success, failure and rollback; no secret leaks', async () => {
    const hooks = await receiver();
    const mail = await smtp();
    const project = new Project(sb, {
      configExtra: `notify: {
    webhooks: [
      { kind: 'json', urlEnv: 'HOOK_URL' },
      { kind: 'slack', url: '${hooks.url}/slack' },
      { kind: 'dingtalk', url: '${hooks.url}/dingtalk' },
      { kind: 'feishu', url: '${hooks.url}/feishu' },
    ],
    email: { host: '127.0.0.1', port: ${mail.port}, from: 'relink@example.test', to: ['ops@example.test'] },
  },`,
    });
    const env = { HOOK_URL: `${hooks.url}/json?token=${TOKEN}` };
    try {
      const ok = await project.deploy(['prod', 'v1.0.0'], env);
      expect(ok.code).toBe(0);
      const json = hooks.posts.filter((p) => p.path.startsWith('/json'));
      expect(json.map((p) => p.body.event)).toEqual(['start', 'success']);
      expect(json[1]!.body).toMatchObject({ env: 'prod', version: 'v1.0.0', result: 'success', source: 'relink' });
      expect(hooks.posts.find((p) => p.path === '/slack')!.body.text).toMatch(/^\*prod: deploying v1\.0\.0\*/);
      expect(hooks.posts.find((p) => p.path === '/dingtalk')!.body).toMatchObject({
        msgtype: 'markdown',
        markdown: { title: 'prod: deploying v1.0.0' },
      });
      expect(hooks.posts.find((p) => p.path === '/feishu')!.body).toMatchObject({ msg_type: 'text' });
      expect(mail.mails).toHaveLength(2);
      expect(mail.mails[1]!.to).toEqual(['ops@example.test']);
      expect(mail.mails[1]!.text).toMatch(/Subject: prod: v1\.0\.0 deployed/);
      expect(mail.mails[1]!.text).toMatch(/## Steps per node/);

      project.tag('v1.3.0', breakHealth, 'break the health check');
      expect((await project.deploy(['prod', 'v1.3.0'], env)).code).toBe(1);
      expect((await project.deploy(['prod', 'v1.1.0'], env)).code).toBe(0);
      expect((await project.deploy(['rollback', 'prod', '--last'], env)).code).toBe(0);
      const events = hooks.posts
        .filter((p) => p.path.startsWith('/json'))
        .map((p) => `${p.body.event}:${p.body.version}`);
      expect(events).toEqual([
        'start:v1.0.0',
        'success:v1.0.0',
        'start:v1.3.0',
        'failure:v1.3.0',
        'start:v1.1.0',
        'success:v1.1.0',
        'rollback:v1.0.0',
      ]);

      // The report of the last deploy, through the CLI.
      const reports = fs.readdirSync(path.join(project.dir, '.relink', 'reports')).sort();
      expect(reports).toHaveLength(4);
      const deployRun = project
        .journal('node1')
        .filter((e) => e.event === 'run_finished' && e.version === 'v1.1.0')
        .at(-1)!.run;
      const report = await project.deploy(['report', deployRun]);
      expect(report.stdout).toMatch(/^# deploy prod v1\.1\.0: success/);
      expect(report.stdout).toMatch(
        /## Commits since what ran before\n\n- `[0-9a-f]{10}` answer with the release directory/,
      );
      expect(report.stdout).toMatch(/\| node3 \| rollout:smoke \| ok \| \d+ \|/);
      expect(report.stdout).toMatch(/```sh\nrollback prod --last {4}# back to v1\.0\.0\n```/);

      // The token in the webhook URL is nowhere: console, run logs, journals, reports.
      const logs = fs
        .readdirSync(path.join(project.dir, '.relink', 'logs'))
        .map((f) => fs.readFileSync(path.join(project.dir, '.relink', 'logs', f), 'utf8'));
      const texts = [
        ...logs,
        ...reports.map((f) => fs.readFileSync(path.join(project.dir, '.relink', 'reports', f), 'utf8')),
        ...NODES.map((n) => JSON.stringify(project.journal(n))),
      ];
      for (const t of texts) expect(t).not.toContain(TOKEN);
    } finally {
      await hooks.close();
      await mail.close();
      stopApps(sb);
      project.remove();
    }
  });

  it('a webhook that times out and an SMTP server that refuses are warnings; the release succeeds', async () => {
    const hooks = await receiver();
    const mail = await smtp(true);
    const project = new Project(sb, {
      configExtra: `notify: { webhooks: [{ url: '${hooks.url}/hang', timeoutMs: 400 }], email: { host: '127.0.0.1', port: ${mail.port}, from: 'relink@example.test', to: ['ops@example.test'], timeoutMs: 2000 } },`,
    });
    try {
      const result = await project.deploy(['prod', 'v1.0.0']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /warning: notification by webhook 1 \(json\) failed \(the release is not affected\): .*(abort|timeout)/i,
      );
      expect(result.stdout).toMatch(
        /warning: notification by email to ops@example\.test failed \(the release is not affected\): .*relaying denied/,
      );
      for (const node of NODES) expect(project.current(node)).toMatch(/_v1\.0\.0_/);
    } finally {
      await hooks.close();
      await mail.close();
      stopApps(sb);
      project.remove();
    }
  });
});

describe('release windows', () => {
  it('refuses a deploy outside the windows with the next start; --emergency --reason goes ahead and is journaled and counted', async () => {
    const later = new Date(Date.now() + 3 * 3600_000);
    const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][later.getUTCDay()];
    const hh = String(later.getUTCHours()).padStart(2, '0');
    const window = `${day} ${hh}:00-${hh}:59`;
    const project = new Project(sb, { configExtra: `windows: [${JSON.stringify(window)}], timezone: 'UTC',` });
    try {
      const refused = await project.deploy(['prod', 'v1.0.0']);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(
        new RegExp(
          `prod is outside its release windows \\(${window}, UTC\\); the next window opens .* ${hh}:00 UTC \\(in [23]h \\d+m\\)`,
        ),
      );
      expect(refused.stderr).toMatch(
        /next: wait for the window, or, for an emergency: deploy prod v1\.0\.0 --emergency --reason/,
      );
      for (const node of NODES) expect(project.releases(node)).toEqual([]);

      expect((await project.deploy(['prod', 'v1.0.0', '--emergency'])).code).toBe(2);
      const emergency = await project.deploy(['prod', 'v1.0.0', '--emergency', '--reason', 'payment outage']);
      expect(emergency.code).toBe(0);
      expect(project.journal('node2').at(-1)).toMatchObject({
        event: 'run_finished',
        result: 'success',
        emergency: true,
        reason: 'payment outage',
      });
      const stats = cliJson('envStats', (await project.deploy(['stats', 'prod', '--json'])).stdout);
      expect(stats.emergencyReleases).toBe(1);
      // Rollbacks are never blocked by a window.
      expect((await project.deploy(['rollback', 'prod', '--last'])).code).toBe(1);
      expect((await project.deploy(['rollback', 'prod', '--last'])).stderr).not.toMatch(/outside/);
    } finally {
      stopApps(sb);
      project.remove();
    }
  });

  it('an invalid window or cron names the config path', async () => {
    const project = new Project(sb, {
      configExtra: `environments: { prod: { windows: ['Tue 17:00-19:00', 'Thu 25:00-26:00'] } }, schedule: [{ env: 'prod', cron: '61 * * * *', version: 'latest' }],`,
    });
    try {
      const result = await project.deploy(['prod', 'v1.0.0']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /deploy\.config\.mjs: environments\.prod\.windows\[1\]: "25:00" is not a time HH:MM in "Thu 25:00-26:00"/,
      );
      expect(result.stderr).toMatch(/deploy\.config\.mjs: schedule\[0\]\.cron: .*minute/i);
    } finally {
      project.remove();
    }
  });
});

describe('backup (an alias of a beforeSwitch hook)', () => {
  it('runs before rollout; its failure stops the release before any node switches', async () => {
    const marker = path.join(sb.dir, `backup-${process.pid}.txt`);
    const good = new Project(sb, { configExtra: `backup: { command: 'echo "$RELINK_VERSION" > ${marker}' },` });
    try {
      expect((await good.deploy(['prod', 'v1.0.0'])).code).toBe(0);
      expect(fs.readFileSync(marker, 'utf8').trim()).toBe('v1.0.0');
    } finally {
      stopApps(sb);
      good.remove();
    }
    const bad = new Project(sb, { configExtra: `backup: { command: 'echo disk full >&2; exit 4', node: 'node2' },` });
    try {
      const result = await bad.deploy(['prod', 'v1.0.0']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /beforeSwitch hook "backup" failed on node2: exit 4: disk full\. The new release was removed from every node; nothing was switched\./,
      );
      for (const node of NODES) {
        expect(bad.releases(node)).toEqual([]);
        expect(bad.current(node)).toBeUndefined();
      }
    } finally {
      stopApps(sb);
      bad.remove();
    }
  });
});

describe('deploy schedule', () => {
  it('a cron that fires every 10 seconds releases the latest tag to the sandbox; SIGTERM stops it cleanly', async () => {
    // Not one moment a few seconds ahead: on a busy machine the commands before the scheduler starts can take
    // longer than that, and the moment would then be tomorrow's.
    const cron = '*/10 * * * * *';
    let stopScheduler = () => false;
    const project = new Project(sb, {
      configExtra: `schedule: [{ name: 'soon', env: 'prod', cron: '${cron}', version: 'latest' }],`,
    });
    try {
      const list = await project.deploy(['schedule', '--list']);
      expect(list.stdout).toMatch(/soon +prod +.* \(UTC\) +next: .* would take: v1\.2\.0/);
      const child = project.spawn(['schedule']);
      // Ended on every path: a scheduler left running would deploy into the next file's sandbox run.
      stopScheduler = () => child.exitCode === null && child.kill('SIGKILL');
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (/soon: deploy prod v1\.2\.0 (succeeded|ended)/.test(out)) {
            clearInterval(timer);
            resolve();
          }
        }, 100);
        setTimeout(() => reject(new Error(`no release within 60 s:\n${out}`)), 60_000);
      });
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      expect(code).toBe(0);
      expect(out).toMatch(/soon: deploy prod v1\.2\.0 succeeded/);
      expect(out).toMatch(/schedule: stopped/);
      for (const node of NODES) expect(project.current(node)).toMatch(/_v1\.2\.0_/);
      expect(project.journal('node1').find((e) => e.event === 'activated')!.user).toBe('schedule:soon');
      await servedThroughLb(sb, 'v1.2.0');

      // Nothing newer: --run-once skips, logs it, deploys nothing.
      const again = await project.deploy(['schedule', '--run-once', 'soon']);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/soon: skipped: prod already runs v1\.2\.0: no new version/);
      expect(project.journal('node1').filter((e) => e.event === 'run_finished')).toHaveLength(1);
      const crontab = await project.deploy(['schedule', '--crontab']);
      expect(crontab.stdout).toMatch(/has seconds; the system cron cannot run it/);
    } finally {
      stopScheduler();
      stopApps(sb);
      project.remove();
    }
  });
});
