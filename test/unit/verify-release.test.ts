// The node-side check of a release against its manifest, run by a real shell on a real directory: OpenSSL's
// SHA-256 when the node has it, sha256sum -c when it has not or when anything differs (it names the files).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLists, readTree, OWN_FILES } from '../../src/pipeline/shared/manifest.js';
import { CONTENT_DIFFERS, verifyRelease } from '../../src/remote/delta.js';
import { layout } from '../../src/remote/paths.js';
import { render } from '../../src/remote/tokens.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-verify-'));
const l = layout(`${root}/`);
const dir = path.join(root, 'releases', 'r1');
/** A bin dir whose sha256sum fails loudly: a check that passes with it first on PATH never ran sha256sum. */
const noSha = path.join(root, 'no-sha256sum');
/** A bin dir with everything the check needs except openssl. */
const noOpenssl = path.join(root, 'no-openssl');

function prepare(files: Record<string, string>) {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
}

async function writeLists() {
  const { sums, list } = checkLists(await readTree(dir));
  fs.mkdirSync(path.join(dir, OWN_FILES.dir), { recursive: true });
  fs.writeFileSync(path.join(dir, OWN_FILES.sums), sums);
  fs.writeFileSync(path.join(dir, OWN_FILES.list), list);
}

function check(pathDirs: string) {
  try {
    const out = execFileSync('/bin/bash', ['-c', render(verifyRelease(l, 'r1', OWN_FILES))], {
      env: { PATH: pathDirs, LC_ALL: 'C' },
      encoding: 'utf8',
    });
    return { code: 0, out };
  } catch (error) {
    const e = error as { status: number; stdout: string };
    return { code: e.status, out: e.stdout };
  }
}

const FILES = { 'server.js': 'v2\n', 'lib/a b.js': 'a\n', 'public/x.css': 'x'.repeat(100_000) };

beforeAll(() => {
  fs.mkdirSync(noSha);
  fs.writeFileSync(path.join(noSha, 'sha256sum'), '#!/bin/sh\necho sha256sum-ran; exit 99\n', { mode: 0o755 });
  fs.mkdirSync(noOpenssl);
  for (const tool of ['sha256sum', 'cut', 'tr', 'xargs', 'sed', 'cmp', 'find', 'sort', 'env', 'rm', 'echo']) {
    const found = execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    if (found.startsWith('/')) fs.symlinkSync(found, path.join(noOpenssl, tool));
  }
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('verifyRelease on the node', () => {
  it('a release as built passes by OpenSSL alone (sha256sum never runs), and the check lists go', async () => {
    prepare(FILES);
    await writeLists();
    expect(check(`${noSha}:/usr/bin:/bin`)).toEqual({ code: 0, out: '' });
    expect(fs.existsSync(path.join(dir, OWN_FILES.sums))).toBe(false);
  });

  it('a changed file: sha256sum names it, and the content is said to differ', async () => {
    prepare(FILES);
    await writeLists();
    fs.appendFileSync(path.join(dir, 'lib/a b.js'), 'tampered');
    const { code, out } = check('/usr/bin:/bin');
    expect(code).toBe(1);
    expect(out).toContain('./lib/a b.js: FAILED');
    expect(out).toContain(CONTENT_DIFFERS);
  });

  it('a node without openssl: sha256sum checks it, pass and fail alike', async () => {
    prepare(FILES);
    await writeLists();
    expect(check(noOpenssl).code).toBe(0);
    prepare(FILES);
    await writeLists();
    fs.writeFileSync(path.join(dir, 'server.js'), 'v3\n');
    const failed = check(noOpenssl);
    expect(failed.code).toBe(1);
    expect(failed.out).toContain('./server.js: FAILED');
  });

  it('an empty release (no files): passes', async () => {
    prepare({});
    fs.mkdirSync(dir, { recursive: true });
    await writeLists();
    expect(check(`${noSha}:/usr/bin:/bin`).code).toBe(0);
  });
});
