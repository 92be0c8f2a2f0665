import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Project, readSandbox, stopApps, type Sandbox } from '../helpers/project.js';

let sb: Sandbox;
let project: Project;
const NODES = ['node1', 'node2', 'node3', 'node4'];

/** One second of commit time, shared by several commits below (2024-05-06T07:08:09Z). */
const SECOND = Date.UTC(2024, 4, 6, 7, 8, 9) / 1000;

/** Commits a change to the app repository at a given commit time (seconds) and tags it. */
function commitAt(tag: string, seconds: number, change: (repo: string) => void): string {
  const repo = project.appRepo;
  change(repo);
  const date = `@${seconds} +0000`;
  const env = { ...process.env, GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date };
  execFileSync('git', ['-C', repo, 'add', '-A'], { env });
  execFileSync('git', ['-C', repo, 'commit', '-q', '-m', `change for ${tag}`], { env });
  execFileSync('git', ['-C', repo, 'tag', '-a', tag, '-m', tag], { env });
  return execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD']).toString().trim();
}

const write = (repo: string, file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
  fs.writeFileSync(path.join(repo, file), text);
};

/** The current release of a node, as a path on this machine. */
const inCurrent = (node: string, ...parts: string[]) => project.nodePath(node, project.current(node)!, ...parts);
const mtime = (file: string) => Math.floor(fs.statSync(file).mtimeMs / 1000);

async function deploy(version: string, upload: 'tar' | 'rsync') {
  const result = await project.deploy(['prod', version], { IT_UPLOAD: upload });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  for (const node of NODES)
    expect(project.current(node), node).toMatch(new RegExp(`_${version.replace(/\./g, '\\.')}_`));
  return result;
}

beforeAll(() => {
  sb = readSandbox(inject('sandboxDir'));
  stopApps(sb);
  project = new Project(sb, {
    configExtra:
      "rollout: { upload: process.env.IT_UPLOAD === 'rsync' ? 'rsync' : 'tar' }, " +
      "release: { exclude: ['notes/'], include: ['templates/public.txt'] },",
  });
});
afterAll(() => {
  stopApps(sb);
  project.remove();
});

describe('what a release holds: REVISION, the files release.exclude leaves out, real times', () => {
  it('REVISION holds the commit on every node; hosts/, deploy.config.ts, templates/ and notes/ stay out', async () => {
    const commit = commitAt('v1.3.0', SECOND, (repo) => {
      write(repo, 'hosts/prod.yaml', 'hosts: []\n');
      write(repo, 'deploy.config.ts', 'export default {};\n');
      write(repo, 'templates/app.env', 'X={{ vars.x }}\n');
      write(repo, 'templates/public.txt', 'kept by release.include\n');
      write(repo, 'notes/todo.md', 'left out by release.exclude\n');
      write(repo, 'data.txt', 'aaaa\n');
    });
    const result = await deploy('v1.3.0', 'tar');
    expect(result.stdout).toMatch(/release: left out \d+ path\(s\): .*hosts\//);
    for (const node of NODES) {
      expect(fs.readFileSync(inCurrent(node, 'REVISION'), 'utf8'), node).toBe(`${commit}\n`);
      expect(fs.readFileSync(inCurrent(node, 'REVISION_TIME'), 'utf8'), node).toBe('2024-05-06T07:08:09Z\n');
      for (const gone of ['hosts', 'deploy.config.ts', 'templates/app.env', 'notes'])
        expect(fs.existsSync(inCurrent(node, gone)), `${node}: ${gone}`).toBe(false);
      expect(fs.readFileSync(inCurrent(node, 'templates', 'public.txt'), 'utf8')).toBe('kept by release.include\n');
      // The commit's time, not a stamp from 1971-2005.
      for (const file of ['server.js', 'data.txt', 'REVISION'])
        expect(mtime(inCurrent(node, file)), `${node}: ${file}`).toBe(SECOND);
    }
  });

  it('a same-sized file changed by a commit of the same second reaches every node by tar, then by rsync twice', async () => {
    commitAt('v1.3.1', SECOND, (repo) => write(repo, 'data.txt', 'bbbb\n'));
    await deploy('v1.3.1', 'tar');
    for (const node of NODES) {
      expect(fs.readFileSync(inCurrent(node, 'data.txt'), 'utf8'), node).toBe('bbbb\n');
      expect(mtime(inCurrent(node, 'data.txt')), node).toBe(SECOND);
    }

    // Same size and the same time as the file of the current release: only its content differs.
    commitAt('v1.3.2', SECOND, (repo) => write(repo, 'data.txt', 'cccc\n'));
    const rsynced = await deploy('v1.3.2', 'rsync');
    expect(rsynced.stdout).toMatch(/node1 +distribute:upload +ok .*unchanged files hard-linked/);
    const tarRelease = new Map(
      NODES.map((node) => [node, project.releases(node).find((r) => r.includes('_v1.3.1_'))!]),
    );
    for (const node of NODES) {
      expect(fs.readFileSync(inCurrent(node, 'data.txt'), 'utf8'), node).toBe('cccc\n');
      const inTar = (file: string) => fs.statSync(project.nodePath(node, 'releases', tarRelease.get(node)!, file));
      // Unchanged content is one inode in both releases; the changed file is a file of its own.
      expect(fs.statSync(inCurrent(node, 'server.js')).ino, node).toBe(inTar('server.js').ino);
      expect(fs.statSync(inCurrent(node, 'data.txt')).ino, node).not.toBe(inTar('data.txt').ino);
      expect(mtime(inCurrent(node, 'data.txt')), node).toBe(SECOND);
    }

    // rsync against an rsync release, an hour later: the file rsync wrote carries the new commit's time, the
    // linked ones keep the time of the release they came with.
    const later = SECOND + 3600;
    const commit = commitAt('v1.3.3', later, (repo) => write(repo, 'data.txt', 'dddd\n'));
    await deploy('v1.3.3', 'rsync');
    for (const node of NODES) {
      expect(fs.readFileSync(inCurrent(node, 'data.txt'), 'utf8'), node).toBe('dddd\n');
      expect(fs.readFileSync(inCurrent(node, 'REVISION'), 'utf8'), node).toBe(`${commit}\n`);
      expect(fs.readFileSync(inCurrent(node, 'REVISION_TIME'), 'utf8'), node).toBe('2024-05-06T08:08:09Z\n');
      expect(mtime(inCurrent(node, 'data.txt')), node).toBe(later);
      expect(mtime(inCurrent(node, 'REVISION')), node).toBe(later);
      expect(mtime(inCurrent(node, 'server.js')), node).toBe(SECOND);
      // v1.3.0, v1.3.1 (tar: linked against the current release too), v1.3.2 and v1.3.3 (rsync) share server.js.
      expect(fs.statSync(inCurrent(node, 'server.js')).nlink, node).toBe(4);
      expect(fs.existsSync(inCurrent(node, 'hosts')), node).toBe(false);
    }
  });
});
