// deploy serve in a real browser (Debian's chromium through playwright-core) on the sandbox: log in,
// every node's version on the overview, a rollback started from the environment page with its steps
// arriving live, a run started from the CLI followed live, a poison recorded, and a viewer without buttons.
// Screenshots of each page go to RELINK_SCREENSHOTS (docs/screenshots refreshes the README's).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { distDir, Project, readSandbox, repoRoot, type Sandbox, stopApps } from '../helpers/project.js';

const NODES = ['node1', 'node2', 'node3', 'node4'];
const PASSWORD = 'it-dashboard-password';
const SECRET = 'it-secret-value';
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = path.resolve(repoRoot, process.env.RELINK_SCREENSHOTS ?? path.join(os.tmpdir(), 'relink-screenshots'));

let sb: Sandbox;
let project: Project;
let server: ChildProcess;
let url: string;
let browser: Browser;

function addUser(name: string, role: string): void {
  const bin = path.join(distDir, 'bin', 'deploy.js');
  execFileSync('node', [bin, 'serve', '--add-user', name, '--role', role], {
    cwd: project.dir,
    input: `${PASSWORD}\n`,
    env: { ...process.env, CI: 'true' },
  });
}

async function startServer(): Promise<void> {
  const bin = path.join(distDir, 'bin', 'deploy.js');
  server = spawn('node', [bin, 'serve', '--port', '0', '--cache-ms', '1000'], {
    cwd: project.dir,
    env: { ...process.env, CI: 'true', APP_SECRET: SECRET },
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

async function login(page: Page, user: string, shot?: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', PASSWORD);
  if (shot) await snap(page, shot);
  await Promise.all([page.waitForURL(`${url}/`), page.click('button[type=submit]')]);
}

async function snap(page: Page, name: string): Promise<void> {
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

/** The version the overview shows per node of prod. */
async function versions(page: Page): Promise<string[]> {
  return Promise.all(
    NODES.map(async (n) => (await page.textContent(`section[data-env=prod] tr[data-node=${n}] td.version`)) ?? ''),
  );
}

async function noSecret(page: Page): Promise<void> {
  expect(await page.content()).not.toContain(SECRET);
}

/** Waits on the run page until the run has ended (the page reloads itself then), returns its rows. */
async function followRun(page: Page): Promise<{ liveRows: number; result: string }> {
  let liveRows = 0;
  await page.waitForSelector('#steps');
  // Rows added by the event stream while the run still goes carry class "live".
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    // The page reloads itself once the run ends (for the report): a read may meet that navigation.
    try {
      const running = (await page.getAttribute('#run-state', 'data-live')) === '1';
      if (running) liveRows = Math.max(liveRows, await page.locator('#steps tbody tr.live').count());
      const result = (await page.textContent('#run-state'))?.trim() ?? '';
      if (!running && result && result !== 'running' && (await page.$('section.report'))) return { liveRows, result };
    } catch (error) {
      if (!/context was destroyed|navigat/i.test(String(error))) throw error;
    }
    await page.waitForTimeout(100);
  }
  throw new Error('the run did not end within 90 s');
}

beforeAll(async () => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb);
  for (const v of ['v1.0.0', 'v1.1.0']) expect((await project.deploy(['prod', v])).code).toBe(0);
  addUser('ana', 'deployer');
  addUser('bob', 'viewer');
  await startServer();
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  stopApps(sb);
  project?.remove();
});

describe('deploy serve in a real browser', () => {
  it('keeps the users file out of sight: mode 0600, scrypt hashes, no password', () => {
    const file = path.join(project.dir, '.relink', 'users.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/"hash": "scrypt\$/);
    expect(text).not.toContain(PASSWORD);
  });

  it('logs in and shows every node of prod on v1.1.0', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, 'ana', 'login');
    expect(await versions(page)).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0', 'v1.1.0']);
    expect(await page.textContent('.fresh')).toMatch(/read from the nodes/);
    await noSecret(page);
    await snap(page, 'overview');
    await page.close();
  });

  it('rolls back from the environment page, its steps arrive live, then every node runs v1.0.0', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, 'ana');
    await page.goto(`${url}/env/prod`);
    await snap(page, 'environment');
    await Promise.all([page.waitForURL(/\/env\/prod\/rollback/), page.click('button[data-action=rollback-last]')]);
    for (const n of NODES) expect(await page.textContent(`table.targets tr[data-node=${n}]`)).toContain('v1.0.0');
    await snap(page, 'rollback-confirm');
    await Promise.all([page.waitForURL(/\/runs\/\d{8}-\d{6}-[0-9a-f]{6}$/), page.click('main form.action button')]);
    const run = await followRun(page);
    expect(run.liveRows).toBeGreaterThan(0);
    expect(run.result).toBe('success');
    expect(await page.textContent('section.report')).toContain('web:ana');
    await noSecret(page);
    await snap(page, 'run');
    await page.goto(`${url}/?refresh=1`);
    expect(await versions(page)).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.0', 'v1.0.0']);
    for (const n of NODES) {
      expect(project.current(n)).toMatch(/_v1\.0\.0_/);
      const back = project
        .journal(n)
        .filter((e) => e.event === 'rolled_back')
        .at(-1)!;
      expect(back.user).toBe('web:ana');
    }
    await page.close();
  });

  it('follows a rollback started from the CLI on this machine, live', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, 'ana');
    const cli = project.spawn(['rollback', 'prod', '--to', 'v1.1.0']);
    const exited = new Promise<number | null>((resolve) => cli.on('exit', resolve));
    const link = page.locator('section.live a').first();
    const deadline = Date.now() + 30_000;
    while (!(await link.count()) && Date.now() < deadline) await page.reload();
    await Promise.all([page.waitForURL(/\/runs\//), link.click()]);
    const run = await followRun(page);
    expect(await exited).toBe(0);
    expect(run.liveRows).toBeGreaterThan(0);
    expect(run.result).toBe('success');
    await page.goto(`${url}/?refresh=1`);
    expect(await versions(page)).toEqual(['v1.1.0', 'v1.1.0', 'v1.1.0', 'v1.1.0']);
    await page.close();
  });

  it('deploys a tag chosen from the repository, with the plan shown before the confirm', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, 'ana');
    await page.goto(`${url}/env/prod`);
    expect(await page.locator('select[name=version] option').allTextContents()).toEqual(['v1.2.0', 'v1.1.0', 'v1.0.0']);
    await page.selectOption('select[name=version]', 'v1.2.0');
    await Promise.all([page.waitForURL(/\/env\/prod\/deploy\?version=v1\.2\.0/), page.click('text=Show the plan')]);
    expect(await page.textContent('main')).toContain('nothing has been changed yet');
    for (const n of NODES)
      expect(await page.textContent(`table.plan-nodes tr[data-node=${n}]`)).toContain('rollout:relink');
    await snap(page, 'deploy-plan');
    await Promise.all([page.waitForURL(/\/runs\//), page.click('main form.action button')]);
    const run = await followRun(page);
    expect(run.result).toBe('success');
    await page.goto(`${url}/?refresh=1`);
    expect(await versions(page)).toEqual(['v1.2.0', 'v1.2.0', 'v1.2.0', 'v1.2.0']);
    const finished = project.journal('node2').at(-1)!;
    expect(finished).toMatchObject({ event: 'run_finished', result: 'success', user: 'web:ana', version: 'v1.2.0' });
    expect(project.current('node2')).toMatch(/_v1\.2\.0_main_\d{8}-\d{6}_web-ana$/);
    await page.close();
  });

  it('records a known bug from the release gate and shows which nodes run it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, 'ana');
    await page.goto(`${url}/gate`);
    await page.fill('input[name=commit]', 'v1.0.0');
    await page.fill('input[name=message]', 'checkout rounds prices down');
    await Promise.all([page.waitForURL(/\/gate\/poison/), page.click('form[action="/gate/poison"] button')]);
    await Promise.all([page.waitForURL(/\/gate(#|$)/), page.click('main form.action button')]);
    await page.goto(`${url}/gate?refresh=1&check=v1.1.0`);
    const row = page.locator('table.poison tbody tr').first();
    expect(await row.textContent()).toContain('checkout rounds prices down');
    for (const n of NODES) expect(await row.textContent()).toContain(`prod/${n}`);
    expect(await page.textContent('#check-result')).toMatch(/1 known bug/);
    await snap(page, 'gate');
    await page.goto(`${url}/stats`);
    expect(await page.locator('svg.chart').count()).toBeGreaterThan(1);
    await snap(page, 'stats');
    await page.close();
  });

  it('shows a viewer the same pages without a single action button', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, 'bob');
    expect(await versions(page)).toEqual(['v1.2.0', 'v1.2.0', 'v1.2.0', 'v1.2.0']);
    await page.goto(`${url}/env/prod`);
    expect(await page.locator('#actions').count()).toBe(0);
    const buttons = await page.locator('main button').allTextContents();
    expect(buttons).toEqual([]);
    await snap(page, 'environment-viewer');
    await page.close();
  });
});
