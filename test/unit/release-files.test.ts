import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { globMatcher, globRegExp } from '../../src/config/glob.js';
import { resolveConfig } from '../../src/config/load.js';
import { artifactKey } from '../../src/pipeline/phases/build.js';
import { validateUserConfig } from '../../src/config/validate.js';
import {
  pruneRelease,
  revisionTime,
  secretsInRelease,
  stampTree,
  writeRevision,
} from '../../src/pipeline/phases/release-files.js';
import { stampWritten } from '../../src/remote/release.js';
import { render } from '../../src/remote/tokens.js';
import { rsyncArgs } from '../../src/transport/rsync.js';
import { layout } from '../../src/remote/paths.js';

const dirs: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-release-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tree(root: string, files: readonly string[]): void {
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), `${file}\n`);
  }
}

function list(root: string, rel = ''): string[] {
  return fs.readdirSync(path.join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const name = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? list(root, name) : [name];
  });
}

describe('release globs', () => {
  it.each([
    ['hosts', 'hosts', true],
    ['hosts', 'app/hosts', false],
    ['*.map', 'app.js.map', true],
    ['*.map', 'dist/app.js.map', false],
    ['**/*.map', 'dist/js/app.js.map', true],
    ['**/*.map', 'app.js.map', true],
    ['src/**', 'src/a/b.ts', true],
    ['src/**', 'srcx/a.ts', false],
    ['*', '.env', true],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['[a-c]x', 'bx', true],
    ['[!a-c]x', 'bx', false],
    ['[!a-c]x', 'dx', true],
    ['a.b', 'axb', false],
    ['a+(b)', 'a+(b)', true],
    ['test/**/fixtures', 'test/fixtures', true],
    ['test/**/fixtures', 'test/x/y/fixtures', true],
  ])('%s matches %s: %s', (glob, file, matches) => {
    expect(globRegExp(glob).test(file)).toBe(matches);
  });

  it('refuses globs it cannot read, naming them', () => {
    expect(() => globRegExp('/etc/**')).toThrow(/not absolute: \/etc/);
    expect(() => globRegExp('a/../b')).toThrow(/without "\.\."/);
    expect(() => globRegExp('[ab')).toThrow(/unclosed "\[" in the glob \[ab/);
    expect(() => globRegExp('')).toThrow(/empty glob/);
  });

  it('a trailing / matches directories only', () => {
    const match = globMatcher(['build/']);
    expect(match('build', true)).toBe(true);
    expect(match('build', false)).toBe(false);
  });

  it('release.exclude and release.include are checked as the config is read', () => {
    const base = { project: 'hello', repo: '.', deployTo: '/srv/app' };
    expect(() => validateUserConfig({ ...base, release: { exclude: ['[oops'] } }, 'deploy.config.ts')).toThrow(
      /release\.exclude.*unclosed "\["/s,
    );
    const ok = validateUserConfig({ ...base, release: { include: ['hosts/public.yaml'] } }, 'deploy.config.ts');
    expect(ok.release?.include).toEqual(['hosts/public.yaml']);
  });
});

describe('what the build output loses before it is packed', () => {
  it("leaves out relink's own files by default, release.exclude's, keeps release.include's, and never the secrets file", () => {
    const root = tmp();
    tree(root, [
      'server.js',
      'deploy.config.ts',
      'deploy.config.mjs',
      'hosts/prod.yaml',
      'templates/app.env',
      'templates/public/logo.txt',
      'node_modules/pkg/hosts/keep.js',
      'node_modules/pkg/deploy.config.ts',
      'src/app.ts',
      'dist/app.js',
      'dist/app.js.map',
      'deploy.secrets.env',
    ]);
    fs.mkdirSync(path.join(root, 'empty'));
    const removed = pruneRelease(
      root,
      { exclude: ['src/', '**/*.map'], include: ['templates/public/**', 'deploy.secrets.env'] },
      ['deploy.secrets.env'],
    );
    expect(list(root).sort()).toEqual([
      'dist/app.js',
      'node_modules/pkg/deploy.config.ts',
      'node_modules/pkg/hosts/keep.js',
      'server.js',
      'templates/public/logo.txt',
    ]);
    expect(fs.existsSync(path.join(root, 'empty'))).toBe(true);
    expect(removed).toEqual(expect.arrayContaining(['hosts/', 'src/', 'deploy.config.ts', 'deploy.secrets.env']));
  });

  it('a build is kept per release settings too: another exclude is another artifact', () => {
    const config = (release: object) =>
      resolveConfig(
        validateUserConfig({ project: 'hello', repo: '.', deployTo: '/srv/app', release }, 'deploy.config.ts'),
        'prod',
        '/p/deploy.config.ts',
      );
    const version = { requested: 'v1', version: 'v1', commit: 'ab'.repeat(20), branch: '', isTag: true, subject: '' };
    const plain = artifactKey(config({}), version);
    expect(artifactKey(config({}), version)).toBe(plain);
    expect(artifactKey(config({ exclude: ['src/'] }), version)).not.toBe(plain);
    expect(artifactKey(config({ include: ['hosts/'] }), version)).not.toBe(plain);
  });

  it('the secrets file is left out when it sits under build.output', () => {
    const config = { root: '/p', secretsFile: '/p/deploy.secrets.env', build: { output: '.' } };
    expect(secretsInRelease(config as never)).toEqual(['deploy.secrets.env']);
    expect(secretsInRelease({ ...config, build: { output: 'dist' } } as never)).toEqual([]);
    expect(secretsInRelease({ ...config, secretsFile: '/elsewhere/s.env' } as never)).toEqual([]);
    expect(secretsInRelease({ ...config, secretsFile: undefined } as never)).toEqual([]);
  });

  it('REVISION holds the full commit and REVISION_TIME its commit time in ISO 8601 (UTC), over files of those names', () => {
    const root = tmp();
    fs.writeFileSync(path.join(root, 'REVISION'), 'the build wrote this\n');
    writeRevision(root, 'ab'.repeat(20), 1714979289);
    expect(fs.readFileSync(path.join(root, 'REVISION'), 'utf8')).toBe(`${'ab'.repeat(20)}\n`);
    expect(fs.readFileSync(path.join(root, 'REVISION_TIME'), 'utf8')).toBe('2024-05-06T07:08:09Z\n');
    expect(revisionTime(0)).toBe('1970-01-01T00:00:00Z');
  });

  it('every file and directory gets the commit time; the manifest follows content, not times', async () => {
    const a = tmp();
    tree(a, ['x/data.txt', 'server.js']);
    const first = await stampTree(a, 1714979289);
    for (const file of ['x/data.txt', 'server.js', 'x', '.'])
      expect(fs.statSync(path.join(a, file)).mtimeMs / 1000, file).toBe(1714979289);
    expect(first.bytes).toBe('x/data.txt\n'.length + 'server.js\n'.length);
    expect((await stampTree(a, 1714979290)).sha256).toBe(first.sha256);
    fs.writeFileSync(path.join(a, 'x/data.txt'), 'X/DATA.TXT\n');
    expect((await stampTree(a, 1714979289)).sha256).not.toBe(first.sha256);
  });
});

describe('change detection with real times', () => {
  it('the files rsync wrote get the commit time (in UTC, on any node); linked ones are left alone', () => {
    const l = layout('/srv/app');
    expect(render(stampWritten(l, 'r2', 1714979289))).toBe(
      "env TZ=UTC0 find /srv/app/releases/r2 '(' -type d -o -type f -links 1 ')' " +
        "-exec touch -c -m -t 202405060708.09 '{}' +",
    );
    expect(() => stampWritten(l, 'r2', Number.NaN)).toThrow(/not a commit time/);
  });

  it('a same-sized file changed within the same second is sent, an unchanged one is linked, by the flags relink gives rsync', () => {
    const root = tmp();
    const [older, newer, current, next] = ['a', 'b', 'current', 'next'].map((d) => path.join(root, d));
    tree(older!, ['data.txt', 'server.js']);
    tree(newer!, ['data.txt', 'server.js']);
    fs.writeFileSync(path.join(older!, 'data.txt'), 'aaaa\n');
    fs.writeFileSync(path.join(newer!, 'data.txt'), 'bbbb\n');
    const second = 1714979289;
    for (const dir of [older!, newer!])
      for (const f of ['data.txt', 'server.js']) fs.utimesSync(path.join(dir, f), second, second);
    // The flags of relink's rsync (without its remote shell and secluded args, which need a node).
    const flags = rsyncArgs(older!, current!, undefined).filter((a) => /^-[a-zA-Z]+$/.test(a) && a !== '-s');
    expect(flags).toContain('-rlpDc');
    execFileSync('rsync', [...flags, '--delete', `${older}/`, `${current}/`]);
    for (const f of ['data.txt', 'server.js']) fs.utimesSync(path.join(current!, f), second, second);
    execFileSync('rsync', [...flags, '--delete', `--link-dest=${current}`, `${newer}/`, `${next}/`]);
    execFileSync('sh', ['-c', render(stampWritten({ ...layout(root), releases: root }, 'next', second))]);
    expect(fs.readFileSync(path.join(next!, 'data.txt'), 'utf8')).toBe('bbbb\n');
    expect(fs.statSync(path.join(next!, 'server.js')).ino).toBe(fs.statSync(path.join(current!, 'server.js')).ino);
    expect(fs.statSync(path.join(next!, 'data.txt')).mtimeMs / 1000).toBe(second);
  });
});
