// A release plan announced ahead, end to end on the sandbox: mailed with every part of the plan, recorded on
// the app's repository, listed on the dashboard; a schedule announcing its own; deploys that carry the
// announcement's id into the journal and say in the report what differed from the plan.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { announceJson, upcomingJson } from '../../src/app/shapes.js';
import { distDir, Project, readSandbox, startUntil, stopApps, type Sandbox } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;
const mails: { to: string[]; text: string }[] = [];
const posts: Record<string, unknown>[] = [];
let smtp: SMTPServer;
let hooks: http.Server;
let server: ReturnType<typeof spawn> | undefined;

/** A daily cron whose next fire is a little under 24 hours away (so `announce: '24h'` is due at once). */
function dailyJustPassed(): { cron: string; next: Date } {
  const past = new Date(Date.now() - 5 * 60_000);
  const next = new Date(past.getTime() + 86_400_000);
  next.setUTCSeconds(0, 0);
  return { cron: `${past.getUTCMinutes()} ${past.getUTCHours()} * * *`, next };
}
const daily = dailyJustPassed();

async function listen(s: { listen: (port: number, host: string, cb: () => void) => unknown }): Promise<void> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
}

beforeAll(async () => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
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
  await listen(smtp);
  hooks = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      posts.push(JSON.parse(body) as Record<string, unknown>);
      res.end('ok');
    });
  });
  await listen(hooks);
  const mailPort = (smtp.server.address() as { port: number }).port;
  const hookPort = (hooks.address() as { port: number }).port;
  project = new Project(sb, {
    configExtra: `notify: {
    webhooks: [{ url: 'http://127.0.0.1:${hookPort}/json' }],
    email: { host: '127.0.0.1', port: ${mailPort}, from: 'relink@example.test', to: ['release@example.test'] },
  },
  people: { groups: { ops: ['ana', 'bob'] }, owner: 'ana', approvers: ['ops'], onCall: ['bob'] },
  environments: { prod: { people: { onCall: ['carol'] } } },
  hooks: {
    beforeSwitch: [{ name: 'db-backup', on: 'local', command: 'echo backed-up > backup.txt' }],
    afterRollout: [{ name: 'e2e', command: 'echo e2e' }],
  },
  schedule: [{ name: 'nightly', env: 'prod', cron: '${daily.cron}', timezone: 'UTC', version: 'latest', announce: '24h' }],`,
  });
  expect((await project.deploy(['prod', 'v1.0.0'])).code).toBe(0);
}, 240_000);

afterAll(async () => {
  server?.kill('SIGTERM');
  await new Promise<void>((r) => smtp.close(() => r()));
  await new Promise<void>((r) => hooks.close(() => r()));
  stopApps(sb);
  project?.remove();
});

describe('deploy announce', () => {
  let id = '';
  const at = new Date(Date.now() + 3 * 3600_000);
  at.setUTCSeconds(0, 0);

  it('mails and posts the plan with every part, records it on the repository and writes its Markdown', async () => {
    // Only what the announcement sends (the first deploy's start and success went out before).
    mails.length = 0;
    posts.length = 0;
    const result = await project.deploy(['announce', 'prod', 'v1.1.0', '--at', at.toISOString(), '--json']);
    expect(result.code).toBe(0);
    const out = announceJson.parse(JSON.parse(result.stdout));
    id = out.plan.id;
    expect(id).toMatch(/^a-[0-9a-f]{8}$/);
    expect(out.plan.time).toMatchObject({ at: at.toISOString(), from: 'at' });
    expect(out.plan.goesOut.from).toBe('v1.0.0');
    expect(out.plan.goesOut.commits.length).toBeGreaterThan(0);
    const release = project.current('node1')!.replace(/^releases\//, '');
    expect(out.plan.rollback.nodes[0]).toMatchObject({ node: 'node1', backTo: release, backToVersion: 'v1.0.0' });
    expect(fs.readFileSync(out.file, 'utf8')).toBe(out.markdown);

    expect(mails).toHaveLength(1);
    const mail = mails[0]!.text.replace(/=\r?\n/g, '');
    expect(mails[0]!.to).toEqual(['release@example.test']);
    expect(mail).toMatch(new RegExp(`Subject: prod: v1\\.1\\.0 announced for .*\\(${id}\\)`));
    for (const part of [
      '## Time',
      '## People',
      '## What goes out',
      '## Data backup',
      '## Rollback',
      '## Checks after',
    ]) {
      expect(mail).toContain(part);
    }
    expect(mail).toContain('### Commits');
    expect(mail).toContain('### Bugfixes');
    expect(mail).toContain('### Known bugs still open');
    expect(mail).toContain(`(${at.toISOString().replace('.000Z', 'Z')}): given with --at`);
    expect(mail).toContain('- owner: ana');
    expect(mail).toContain('- approvers: ops (ana, bob)');
    expect(mail).toContain('- on call: carol');
    expect(mail).toContain('- beforeSwitch `db-backup` on the deploy machine: `echo backed-up > backup.txt`');
    expect(mail).toContain(`\`rollback prod --to ${release} --node node1\``);
    expect(mail).toContain('rollback prod --last --emergency --reason');
    expect(mail).toMatch(/- smoke: GET http:\/\/\{\{ node\.address \}\}:\{\{ host\.appPort \}\}\/health on each node/);
    expect(mail).toContain('- afterRollout `e2e` on the deploy machine: `echo e2e`');
    expect(posts.at(-1)).toMatchObject({ event: 'announce', env: 'prod', version: 'v1.1.0', runId: id });

    // Recorded where a second deploy machine fetches it: the app repository's refs/relink/announcements.
    const shown = execFileSync('git', [
      '-C',
      project.appRepo,
      'show',
      `refs/relink/announcements:announcements/${id}.md`,
    ]);
    expect(shown.toString()).toBe(out.markdown);
  });

  it('a schedule with `announce` sends its own, once', async () => {
    const before = mails.length;
    const run = await startUntil(project, ['schedule'], /nightly: the release at \S+ (announced|not announced)/, (c) =>
      c.kill('SIGTERM'),
    );
    expect(run.stdout).toMatch(
      new RegExp(`nightly: the release at ${daily.next.toISOString()} announced a-[0-9a-f]{8}`),
    );
    expect(mails.length).toBe(before + 1);
    const mail = mails.at(-1)!.text.replace(/=\r?\n/g, '');
    expect(mail).toMatch(/Subject: prod: v1\.2\.0 announced for/);
    expect(mail).toContain(': schedule nightly.');
    // Started again, it finds its announcement on the repository and sends nothing.
    const again = await startUntil(project, ['schedule'], /announced \S+ ahead/, (c) =>
      setTimeout(() => c.kill('SIGTERM'), 4000),
    );
    expect(again.stdout).not.toMatch(/the release at .* announced a-/);
    expect(mails.length).toBe(before + 1);
  }, 120_000);

  it('the dashboard lists the upcoming releases with their plans', async () => {
    const bin = path.join(distDir, 'bin', 'deploy.js');
    const token = execFileSync('node', [bin, 'serve', '--add-token', 'it', '--role', 'viewer'], {
      cwd: project.dir,
      env: { ...process.env, CI: 'true' },
    })
      .toString()
      .trim();
    server = spawn('node', [bin, 'serve', '--port', '0', '--cache-ms', '1000'], { cwd: project.dir });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /relink dashboard for \S+: (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      server!.on('exit', (code) => reject(new Error(`deploy serve exited ${code}: ${out}`)));
    });
    const get = async (p: string) => {
      const res = await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      return res.text();
    };
    const overview = await get('/');
    expect(overview).toContain('Upcoming releases');
    expect(overview).toContain(`data-announcement="${id}"`);
    expect(overview).toMatch(/data-announcement="a-[0-9a-f]{8}"[\s\S]*\(schedule nightly\)/);
    const plan = await get(`/announcements/${id}`);
    for (const part of ['Time', 'People', 'What goes out', 'Data backup', 'Rollback', 'Checks after']) {
      expect(plan).toContain(`<h3>${part}</h3>`);
    }
    const api = upcomingJson.parse(JSON.parse(await get('/api/upcoming')));
    expect(api.releases.map((r) => r.id)).toContain(id);
  }, 120_000);

  it("a deploy carries the announcement's id into the journal and its report says what differed", async () => {
    const result = await project.deploy(['prod', 'v1.1.0']);
    expect(result.code).toBe(0);
    const finished = project
      .journal('node1')
      .filter((e) => e.event === 'run_finished')
      .at(-1)!;
    expect(finished).toMatchObject({ version: 'v1.1.0', announcement: id });
    const report = await project.deploy(['report', finished.run!]);
    expect(report.stdout).toContain(`| announced | ${id} |`);
    expect(report.stdout).toMatch(
      new RegExp(
        `## Against the announced plan\\n\\n- another time: started \\S+, announced for ${at.toISOString()} \\(2h \\d+m earlier\\)`,
      ),
    );
    // The completion mail carries the report, as before.
    expect(mails.at(-1)!.text.replace(/=\r?\n/g, '')).toContain('## Against the announced plan');

    // The schedule's release, after a newer tag: another version than its plan named.
    project.tag('v1.3.0', (repo) => fs.appendFileSync(path.join(repo, 'CHANGELOG.md'), '- v1.3.0\n'));
    expect((await project.deploy(['schedule', '--run-once', 'nightly'])).code).toBe(0);
    const scheduled = project
      .journal('node1')
      .filter((e) => e.event === 'run_finished')
      .at(-1)!;
    expect(scheduled.version).toBe('v1.3.0');
    expect(scheduled.announcement).toMatch(/^a-[0-9a-f]{8}$/);
    expect(scheduled.announcement).not.toBe(id);
    const second = await project.deploy(['report', scheduled.run!]);
    expect(second.stdout).toMatch(/- another version: v1\.3\.0 \([0-9a-f]{12}\) instead of the announced v1\.2\.0/);
  }, 240_000);
});
