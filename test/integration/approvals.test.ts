// Approvals on the sandbox: a prod deploy without one is refused; the requester's own approval is refused; a
// record written by hand is refused; a second dashboard user approves in the browser and the deploy goes out,
// naming both in journal, history and report; the dashboard's deploy button asks and its approve and deploy
// starts it; an approval releases neither another commit nor a second deploy;
// an expired one releases nothing; an emergency release shows its review until someone signs it; a schedule
// carries its standing approval until its entry changes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiJson, cliJson } from '../helpers/json.js';
import { distDir, Project, readSandbox, type Sandbox, stopApps } from '../helpers/project.js';

const NODES = ['node1', 'node2', 'node3', 'node4'];
const PASSWORD = 'it-dashboard-password';
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const bin = path.join(distDir, 'bin', 'deploy.js');
const SCHEDULE = "schedule: [{ name: 'prod-weekly', env: 'prod', cron: '0 17 * * 2', version: 'latest' }],";

let sb: Sandbox;
let project: Project;
let server: ChildProcess;
let url: string;
let browser: Browser;
const tokens: Record<string, string> = {};

function serveCli(args: string[], input?: string): string {
  return execFileSync('node', [bin, 'serve', ...args], {
    cwd: project.dir,
    input,
    env: { ...process.env, CI: 'true' },
  }).toString();
}

async function startServer(): Promise<void> {
  server = spawn('node', [bin, 'serve', '--port', '0', '--cache-ms', '1000'], {
    cwd: project.dir,
    env: { ...process.env, CI: 'true', APP_SECRET: 'it-secret-value' },
  });
  let out = '';
  server.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`deploy serve did not start: ${out}`)), 60_000);
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /relink dashboard for \S+: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    server.on('exit', (code) => reject(new Error(`deploy serve exited ${code}: ${out}`)));
  });
}

async function login(page: Page, user: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL(`${url}/`), page.click('button[type=submit]')]);
}

async function api(method: string, route: string, token: string, body?: object) {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, text: await res.text() };
}

function request(env: string, version: string, author: string): Promise<string> {
  return project
    .deploy(['request', env, version, '--author', author, '--json'])
    .then((r) => cliJson('request', r.stdout).id);
}

/** Writes a file onto refs/relink/approvals of the app's repository by hand, as someone with push access could. */
function forge(file: string, text: string): void {
  const git = (args: string[], input?: string, env: NodeJS.ProcessEnv = {}) =>
    execFileSync('git', ['-C', project.appRepo, ...args], { input, env: { ...process.env, ...env } })
      .toString()
      .trim();
  const index = path.join(os.tmpdir(), `forge-${process.pid}.index`);
  const tip = git(['rev-parse', 'refs/relink/approvals']);
  git(['read-tree', tip], undefined, { GIT_INDEX_FILE: index });
  const blob = git(['hash-object', '-w', '--stdin'], text);
  git(['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], undefined, { GIT_INDEX_FILE: index });
  const tree = git(['write-tree'], undefined, { GIT_INDEX_FILE: index });
  const commit = git(['commit-tree', tree, '-p', tip, '-m', 'by hand']);
  git(['update-ref', 'refs/relink/approvals', commit]);
  fs.rmSync(index, { force: true });
}

const commitOf = (tag: string) =>
  execFileSync('git', ['-C', project.appRepo, 'rev-parse', `${tag}^{commit}`])
    .toString()
    .trim();
const versions = () => NODES.map((n) => project.current(n)?.match(/v\d+\.\d+\.\d+/)?.[0]);

beforeAll(async () => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb, {
    configExtra: `environments: {
    prod: { approvals: { from: ['ops'] } },
    dev: { approvals: { from: ['ops'], expiresAfter: '0m' } },
  },
  people: { groups: { ops: ['ana', 'bo'] } },
  ${SCHEDULE}`,
  });
  for (const name of ['ana', 'bo', 'cy']) serveCli(['--add-user', name, '--role', 'deployer'], `${PASSWORD}\n`);
  for (const name of ['ana', 'bo', 'cy'])
    tokens[name] = serveCli(['--add-token', name, '--role', 'deployer']).trim().split('\n').pop()!;
  await startServer();
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  stopApps(sb);
  project?.remove();
});

describe('approvals: two people for prod', () => {
  let first: string;

  it('refuses a prod deploy without an approval (exit 3), naming how to ask for one', async () => {
    const refused = await project.deploy(['prod', 'v1.0.0', '--author', 'ana']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/prod needs an approval to deploy v1\.0\.0/);
    expect(refused.stderr).toContain('deploy request prod v1.0.0');
    expect(versions()).toEqual([undefined, undefined, undefined, undefined]);
    first = await request('prod', 'v1.0.0', 'ana');
  }, 60_000);

  it("refuses the requester's own approval, and one by someone outside approvals.from", async () => {
    const own = await project.deploy(['approve', first, '--server', url, '--token', tokens.ana!]);
    expect(own.code).toBe(3);
    expect(own.stderr).toMatch(new RegExp(`ana asked for ${first}: someone else must approve it`));
    const outsider = await api('POST', `/api/approvals/${first}/approve`, tokens.cy!, {});
    expect(outsider.status).toBe(409);
    expect(apiJson('error', outsider.text).error).toMatch(/cy may not approve deploys to prod/);
  }, 60_000);

  it('refuses an approval record written by hand (no dashboard signature)', async () => {
    const commit = commitOf('v1.0.0');
    const far = new Date(Date.now() + 3_600_000).toISOString();
    const record = {
      request: first,
      env: 'prod',
      version: 'v1.0.0',
      commit,
      requester: 'ana',
      approver: 'web:bo',
      approvedAt: new Date().toISOString(),
      expiresAt: far,
    };
    forge(`approvals/${first}.json`, JSON.stringify(record));
    const refused = await project.deploy(['prod', 'v1.0.0', '--author', 'ana']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/signature is missing or not by a dashboard key: refused/);
    // A signature made up by hand does not count either.
    forge(`approvals/${first}.json`, JSON.stringify({ ...record, key: '0123456789abcdef', signature: 'AAAA' }));
    expect((await project.deploy(['prod', 'v1.0.0', '--author', 'ana'])).code).toBe(3);
  }, 60_000);

  it('approved by a second dashboard user in the browser, the deploy goes out and names both', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, 'bo');
    await page.goto(`${url}/approvals`);
    expect(await page.getAttribute(`tr#${first}`, 'data-state')).toBe('pending');
    await Promise.all([page.waitForURL(/\/approvals/), page.click(`tr#${first} button.approve`)]);
    expect(await page.getAttribute(`tr#${first}`, 'data-state')).toBe('approved');
    expect(await page.textContent(`tr#${first}`)).toContain('bo');
    await page.close();

    const done = await project.deploy(['prod', 'v1.0.0', '--author', 'ana']);
    expect(done.code, done.stderr).toBe(0);
    expect(versions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    expect(project.journal('node3').at(-1)).toMatchObject({
      event: 'run_finished',
      result: 'success',
      approval: first,
      requester: 'ana',
      approver: 'bo',
    });
    const history = cliJson('history', (await project.deploy(['history', 'prod', '--json'])).stdout);
    expect(history.runs[0]).toMatchObject({ requester: 'ana', approver: 'bo' });
    const reports = fs.readdirSync(path.join(project.dir, '.relink', 'reports')).sort();
    const report = fs.readFileSync(path.join(project.dir, '.relink', 'reports', reports.at(-1)!), 'utf8');
    expect(report).toContain('| requested by | ana |');
    expect(report).toContain('| approved by | bo |');
  }, 180_000);

  it('an approval releases neither a second deploy nor another commit', async () => {
    const again = await project.deploy(['prod', 'v1.0.0', '--author', 'ana']);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/a deploy has already used it/);

    const id = await request('prod', 'v1.0.0', 'ana');
    const approved = await api('POST', `/api/approvals/${id}/approve`, tokens.bo!, {});
    expect(approved.status, approved.text).toBe(201);
    expect(apiJson('approve', approved.text).approval).toMatchObject({
      approver: 'api:bo',
      commit: commitOf('v1.0.0'),
    });
    const other = await project.deploy(['prod', 'v1.1.0', '--author', 'ana']);
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/is for commit [0-9a-f]{12} \(v1\.0\.0\), not this one/);
    expect(versions()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
  }, 60_000);

  it('an expired approval releases nothing', async () => {
    const id = await request('dev', 'v1.1.0', 'ana');
    expect((await api('POST', `/api/approvals/${id}/approve`, tokens.bo!, {})).status).toBe(201);
    const late = await project.deploy(['dev', 'v1.1.0', '--author', 'ana']);
    expect(late.code).toBe(3);
    expect(late.stderr).toMatch(/it expired at /);
    const list = apiJson('approvals', (await api('GET', '/api/approvals', tokens.cy!)).text);
    expect(list.requests.find((r) => r.id === id)?.state).toBe('expired');
  }, 60_000);

  it('an emergency release goes out without approval and shows its review until someone signs it', async () => {
    const out = await project.deploy(['prod', 'v1.1.0', '--emergency', '--reason', 'payments down', '--author', 'ana']);
    expect(out.code, out.stderr).toBe(0);
    expect(versions()).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0', 'v1.1.0']);
    const review = apiJson('approvals', (await api('GET', '/api/approvals', tokens.bo!)).text).reviews[0]!;
    expect(review).toMatchObject({ env: 'prod', version: 'v1.1.0', deployer: 'ana', reason: 'payments down' });
    expect(project.journal('node1').at(-1)).toMatchObject({ review: review.id, requester: 'ana' });

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, 'bo');
    await page.goto(`${url}/approvals`);
    expect(await page.textContent(`tr#${review.id}`)).toContain('payments down');
    await Promise.all([page.waitForURL(/\/approvals/), page.click(`tr#${review.id} button.sign`)]);
    expect(await page.$(`tr#${review.id}`)).toBeNull();
    await page.close();
    expect(apiJson('approvals', (await api('GET', '/api/approvals', tokens.bo!)).text).reviews).toEqual([]);
  }, 180_000);

  it("the dashboard's deploy button asks; the approver's approve and deploy starts the deploy", async () => {
    // prod runs v1.1.0 (the emergency): no approval of v1.1.0 is on record, so the button asks for one.
    const ana = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(ana, 'ana');
    await ana.goto(`${url}/env/prod/deploy?version=v1.1.0`);
    await Promise.all([
      ana.waitForURL(/\/approvals#a-/),
      ana.click('form[action="/env/prod/deploy"] button[type=submit]'),
    ]);
    const id = new URL(ana.url()).hash.slice(1);
    expect(await ana.getAttribute(`tr#${id}`, 'data-state')).toBe('pending');
    // No approve button on one's own request.
    expect(await ana.$(`tr#${id} button.approve`)).toBeNull();
    await ana.close();

    const bo = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(bo, 'bo');
    await bo.goto(`${url}/approvals`);
    await Promise.all([bo.waitForURL(/\/runs\//), bo.click(`tr#${id} button.approve-deploy`)]);
    await bo.close();
    const deadline = Date.now() + 120_000;
    const finished = () => project.journal('node4').find((e) => e.event === 'run_finished' && e.approval === id);
    while (!finished() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    expect(finished()).toMatchObject({ result: 'success', requester: 'ana', approver: 'bo' });
    expect(versions()).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0', 'v1.1.0']);
  }, 180_000);

  it("a schedule's deploy goes out on its standing approval, until its entry changes", async () => {
    const scheduled = ['prod', 'v1.0.0', '--author', 'schedule:prod-weekly'];
    const before = await project.deploy(scheduled);
    expect(before.code).toBe(3);
    expect(before.stderr).toMatch(/schedule prod-weekly has no standing approval/);
    const given = await api('POST', '/api/approvals/schedules/prod-weekly', tokens.bo!, {});
    expect(given.status, given.text).toBe(201);
    const out = await project.deploy(scheduled);
    expect(out.code, out.stderr).toBe(0);
    expect(project.journal('node2').at(-1)).toMatchObject({ requester: 'schedule:prod-weekly', approver: 'bo' });
    const text = fs.readFileSync(project.configFile, 'utf8');
    fs.writeFileSync(project.configFile, text.replace("cron: '0 17 * * 2'", "cron: '0 17 * * 4'"));
    const changed = await project.deploy(['prod', 'v1.1.0', '--author', 'schedule:prod-weekly']);
    expect(changed.code).toBe(3);
    expect(changed.stderr).toMatch(/or its entry changed since/);
  }, 180_000);
});
