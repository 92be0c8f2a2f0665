import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkLists,
  checkable,
  manifestText,
  parseManifest,
  planDelta,
  readTree,
  writeManifest,
  type Entry,
} from '../../src/pipeline/shared/manifest.js';

const H = (c: string) => c.repeat(64);
const file = (p: string, sha: string, mode = 0o644, size = 3): Entry => ({
  path: p,
  type: 'f',
  mode,
  size,
  sha256: sha,
});

describe('release manifest', () => {
  it("lists every entry with its type, mode, size, sha256 and link target, leaving out relink's own dir", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-manifest-'));
    fs.mkdirSync(path.join(root, 'lib'));
    fs.writeFileSync(path.join(root, 'lib', 'a.js'), 'abc');
    fs.writeFileSync(path.join(root, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    fs.symlinkSync('lib/a.js', path.join(root, 'link'));
    writeManifest(root, []);
    const entries = await readTree(root);
    expect(entries).toEqual([
      { path: 'lib', type: 'd', mode: 0o755 },
      {
        path: 'lib/a.js',
        type: 'f',
        mode: 0o644,
        size: 3,
        sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      },
      { path: 'link', type: 'l', mode: 0o777, target: 'lib/a.js' },
      expect.objectContaining({ path: 'run.sh', type: 'f', mode: 0o755, size: 10 }),
    ]);
    expect(parseManifest(manifestText(entries))).toEqual(entries);
    const { sums, list } = checkLists(entries);
    expect(sums).toBe(`${entries[1]!.sha256}  ./lib/a.js\n${entries[3]!.sha256}  ./run.sh\n`);
    expect(list).toBe('d 755 lib -> \nf 644 lib/a.js -> \nf 755 run.sh -> \nl 777 link -> lib/a.js\n');
    fs.rmSync(root, { recursive: true });
  });

  it.each([
    ['an absolute path', { path: '/etc/passwd', type: 'f', mode: 420, size: 1, sha256: H('a') }],
    ['a .. part', { path: 'a/../../x', type: 'f', mode: 420, size: 1, sha256: H('a') }],
    ['an empty part', { path: 'a//b', type: 'd', mode: 493 }],
    ['a mode as text', { path: 'a', type: 'd', mode: '755' }],
    ['a mode out of range', { path: 'a', type: 'd', mode: 0o17777 }],
    ['a size as text', { path: 'a', type: 'f', mode: 420, size: '1', sha256: H('a') }],
    ['a negative size', { path: 'a', type: 'f', mode: 420, size: -1, sha256: H('a') }],
    ['a hash that is not hex', { path: 'a', type: 'f', mode: 420, size: 1, sha256: `${H('a').slice(1)}g` }],
    ['a short hash', { path: 'a', type: 'f', mode: 420, size: 1, sha256: 'abc' }],
    ['an unknown type', { path: 'a', type: 'c', mode: 420 }],
    ['a link without a target', { path: 'a', type: 'l', mode: 511 }],
    ["relink's own dir", { path: '.relink/settings.json', type: 'f', mode: 420, size: 1, sha256: H('a') }],
  ])('a manifest read from a node with %s is refused whole', (_what, bad) => {
    const good = JSON.stringify(file('ok', H('b')));
    expect(parseManifest(`${good}\n`)).toEqual([file('ok', H('b'))]);
    expect(parseManifest(`${good}\n${JSON.stringify(bad)}\n`)).toBeUndefined();
  });

  it('refuses a manifest that is not JSON lines or names a path twice', () => {
    expect(parseManifest('f 644 a\n')).toBeUndefined();
    expect(parseManifest('[1]\n')).toBeUndefined();
    const line = JSON.stringify(file('a', H('a')));
    expect(parseManifest(`${line}\n${line}\n`)).toBeUndefined();
  });

  it('a release with a line break or backslash in a path is not checkable on a node (it is sent whole)', () => {
    expect(checkable([file('a b', H('a'))])).toBe(true);
    expect(checkable([file('a\nb', H('a'))])).toBe(false);
    expect(checkable([{ path: 'l', type: 'l', mode: 511, target: 'a\\b' }])).toBe(false);
  });
});

describe('delta between two manifests', () => {
  const v1 = [
    { path: 'lib', type: 'd', mode: 0o755 } as Entry,
    file('lib/a.js', H('a')),
    file('lib/b.js', H('b')),
    file('run.sh', H('c'), 0o755),
    file('gone.txt', H('d')),
  ];
  it('links the files of the same content and mode; sends changed, new, re-moded files, dirs and links', () => {
    const v2 = [
      { path: 'lib', type: 'd', mode: 0o755 } as Entry,
      file('lib/a.js', H('a')),
      file('lib/b.js', H('e'), 0o644, 1 << 20),
      file('run.sh', H('c'), 0o700),
      file('new.txt', H('f'), 0o644, 7),
      { path: 'latest', type: 'l', mode: 0o777, target: 'lib/a.js' } as Entry,
    ];
    const delta = planDelta(v1, v2);
    expect(delta.link).toEqual(['lib/a.js']);
    expect(delta.send.map((e) => e.path)).toEqual(['lib', 'lib/b.js', 'run.sh', 'new.txt', 'latest']);
    expect(delta.bytes).toBe((1 << 20) + 3 + 7);
  });

  it('a file that was a link or a directory before is sent; without a manifest everything is sent', () => {
    const before = [{ path: 'x', type: 'l', mode: 0o777, target: 'y' } as Entry];
    expect(planDelta(before, [file('x', H('a'))]).link).toEqual([]);
    expect(planDelta(undefined, v1).send).toEqual(v1);
    expect(planDelta(v1, v1).link).toEqual(['lib/a.js', 'lib/b.js', 'run.sh', 'gone.txt']);
  });
});
