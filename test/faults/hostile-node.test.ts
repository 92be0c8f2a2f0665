// Whoever can write the deploy user's files on one node must not reach the deploy machine through
// them: a journal's commit, release or version, a lock's owner record or the `current` symlink is
// checked when it is read, and every git call takes its revision after --end-of-options. Each case
// plants hostile values on the nodes after a first deploy, then runs plan, a deploy and the
// listings, and checks that no file appeared on the deploy machine and that the deploy went on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { Project, readSandbox, type Result, type Sandbox, stopApps } from '../helpers/project.js';

let sb: Sandbox;
const NODES = ['node1', 'node2', 'node3', 'node4'];
const cleanups: (() => void)[] = [];

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
});
afterEach(() => {
  stopApps(sb);
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Control characters and bidi overrides: none may reach a terminal from a node (newline and tab aside). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

interface Scene {
  readonly p: Project;
  /** A directory on the deploy machine that nothing may write to. */
  readonly watched: string;
  /** The commit of v1.0.0, which runs everywhere after the first deploy. */
  readonly commit: string;
  readonly release: string;
}

async function scene(): Promise<Scene> {
  const p = new Project(sb);
  const watched = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-watched-'));
  cleanups.push(
    () => p.remove(),
    () => fs.rmSync(watched, { recursive: true, force: true }),
  );
  const first = await p.deploy(['prod', 'v1.0.0']);
  expect(first.code, first.stderr).toBe(0);
  const line = p.journal('node1').find((e) => e.event === 'activated')!;
  return { p, watched, commit: line.commit!, release: line.release! };
}

const journalFile = (p: Project, node: string) => p.nodePath(node, '.relink', 'journal.jsonl');

/** Rewrites every journal line of `release` on a node. */
function rewrite(p: Project, node: string, release: string, change: (e: Record<string, unknown>) => void): void {
  const lines = fs.readFileSync(journalFile(p, node), 'utf8').split('\n').filter(Boolean);
  const out = lines.map((line) => {
    const e = JSON.parse(line) as Record<string, unknown>;
    if (e.release === release) change(e);
    return JSON.stringify(e);
  });
  fs.writeFileSync(journalFile(p, node), `${out.join('\n')}\n`);
}

function append(p: Project, node: string, records: Record<string, unknown>[]): void {
  const base = { v: 1, run: 'r-hostile', node, env: 'prod', user: 'mallory' };
  const lines = records.map((r, i) => JSON.stringify({ ...base, ts: `2026-01-01T00:00:0${i}.000Z`, ...r }));
  fs.appendFileSync(journalFile(p, node), `${lines.join('\n')}\n`);
}

/** Every name under `dir`, recursively (what must not change on the deploy machine). */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

/** The project dir's own entries, without relink's state dir (which a run writes by design). */
const projectEntries = (p: Project) => fs.readdirSync(p.dir).sort();

function clean(what: string, result: Result): void {
  expect(result.stdout, `${what}: stdout`).not.toMatch(RAW);
  expect(result.stderr, `${what}: stderr`).not.toMatch(RAW);
}

/** plan and deploy go on; the listings run; nothing appeared on the deploy machine. */
async function planDeployList(s: Scene, warned?: RegExp): Promise<void> {
  const { p, watched } = s;
  const entries = projectEntries(p);
  const plan = await p.deploy(['plan', 'prod', 'v1.1.0']);
  expect(listing(watched), 'files written on the deploy machine by the plan').toEqual([]);
  expect(projectEntries(p), 'files written in the project by the plan').toEqual(entries);
  expect(plan.code, plan.stderr).toBe(0);
  clean('plan', plan);
  if (warned) expect(plan.stderr).toMatch(warned);
  const deploy = await p.deploy(['prod', 'v1.1.0']);
  expect(listing(watched), 'files written on the deploy machine by the deploy').toEqual([]);
  expect(deploy.code, deploy.stderr).toBe(0);
  clean('deploy', deploy);
  for (const node of NODES) expect(p.current(node)).toMatch(/^releases\/hello_prod_v1\.1\.0_/);
  for (const verb of ['status', 'releases', 'history', 'stats']) {
    const result = await p.deploy([verb, 'prod']);
    expect(result.code, `${verb}: ${result.stderr}`).toBe(0);
    clean(verb, result);
  }
  expect(listing(watched), 'files written on the deploy machine').toEqual([]);
  expect(projectEntries(p)).toEqual(entries);
}

describe('hostile values on the nodes', () => {
  it.each([
    ['--output=<watched>/F', (s: Scene) => `--output=${s.watched}/F`],
    ['--output=<watched>/F..<sha>', (s: Scene) => `--output=${s.watched}/F..${s.commit}`],
    ['--output=F (relative: the project dir)', () => '--output=F'],
  ])('a journal commit %s reaches no git command line', async (_, value) => {
    const s = await scene();
    // On every node, so the plan takes it as the one commit that runs now (git log from..to, rev-list from).
    for (const node of NODES) rewrite(s.p, node, s.release, (e) => (e.commit = value(s)));
    await planDeployList(s, /node1: ignored \d+ invalid value\(s\) in the journal: line \d+ commit/);
  });

  it('journal release names: ignored, and a release dir named like an option is left alone', async () => {
    const s = await scene();
    const hostile = [`--output=${s.watched}/R`, '../../../../tmp', 'x\u001b[2Jy', '-rf'];
    for (const node of NODES) {
      append(s.p, node, [
        ...hostile.map((release) => ({ event: 'unpacked', release, commit: s.commit, version: 'v0.9.0' })),
        { event: 'smoke_failed', release: '-rf' },
        { event: 'rolled_back', release: s.release, from: `--output=${s.watched}/R2` },
      ]);
      fs.mkdirSync(s.p.nodePath(node, 'releases', '-rf'));
      fs.writeFileSync(s.p.nodePath(node, 'releases', '-rf', 'keep'), 'x');
    }
    await planDeployList(s, /node2: ignored \d+ invalid value\(s\) in the journal: line \d+ release/);
    for (const node of NODES) expect(fs.existsSync(s.p.nodePath(node, 'releases', '-rf', 'keep'))).toBe(true);
  });

  it('a journal version with a terminal sequence and an option is ignored', async () => {
    const s = await scene();
    const version = `v1\u001b[2J\u001b]0;pwned\u0007--output=${s.watched}/V`;
    for (const node of NODES) rewrite(s.p, node, s.release, (e) => (e.version = version));
    await planDeployList(s, /node3: ignored \d+ invalid value\(s\) in the journal: line \d+ version/);
  });

  it('current pointing outside releases/ or at a name relink never writes counts as nothing deployed', async () => {
    const s = await scene();
    const targets: Record<string, string> = {
      node2: s.watched,
      node3: 'releases/x\u001b[2Jy',
      node4: `releases/--output=F`,
    };
    for (const [node, target] of Object.entries(targets)) {
      fs.rmSync(s.p.nodePath(node, 'current'));
      fs.symlinkSync(target, s.p.nodePath(node, 'current'));
    }
    await planDeployList(s, /node4: current points at "releases\/--output=F", not at a release dir/);
  });

  it('a dead lock whose owner record holds hostile text is taken over, its text escaped', async () => {
    const s = await scene();
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const owner = {
      run: '20260101-000000-abcdef',
      kind: 'run',
      user: 'mallory\u001b[2J',
      host: 'far\naway',
      pid: 4242,
      command: `deploy prod $(touch ${s.watched}/L) \u202e`,
      version: `--output=${s.watched}/L`,
      since: hourAgo,
      heartbeat: hourAgo,
    };
    fs.mkdirSync(s.p.nodePath('node2', '.relink', 'lock'));
    fs.writeFileSync(s.p.nodePath('node2', '.relink', 'lock', 'owner.json'), `${JSON.stringify(owner)}\n`);
    const status = await s.p.deploy(['lock', 'status', 'prod']);
    expect(status.code, status.stderr).toBe(0);
    clean('lock status', status);
    expect(status.stdout).toContain('mallory\\x1b[2J on far\\naway');
    await planDeployList(s);
    const broken = s.p.journal('node2').find((e) => e.event === 'lock_broken');
    expect(broken?.reason).toContain('mallory\\x1b[2J');
  });

  it('a lock owner record that is not what relink writes: the listings hold, the deploy stops on a held lock', async () => {
    const s = await scene();
    const garbage = {
      run: `--output=${s.watched}/O`,
      kind: 'run',
      user: { a: 1 },
      host: 5,
      pid: '1; touch /tmp/x',
      command: null,
      since: 5,
      heartbeat: [],
      message: '\u001b[2J',
    };
    fs.mkdirSync(s.p.nodePath('node3', '.relink', 'lock'));
    fs.writeFileSync(s.p.nodePath('node3', '.relink', 'lock', 'owner.json'), `${JSON.stringify(garbage)}\n`);
    for (const args of [
      ['status', 'prod'],
      ['lock', 'status', 'prod'],
      ['releases', 'prod'],
      ['plan', 'prod', 'v1.1.0'],
    ]) {
      const result = await s.p.deploy(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      clean(args.join(' '), result);
    }
    const refused = await s.p.deploy(['prod', 'v1.1.0']);
    expect(refused.code, refused.stderr).toBe(4);
    clean('refused deploy', refused);
    expect(refused.stderr).toMatch(/held \(node3\) by an unreadable owner record/);
    expect(listing(s.watched)).toEqual([]);
    const unlocked = await s.p.deploy(['unlock', 'prod', '--force']);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    await planDeployList(s);
  });
});
