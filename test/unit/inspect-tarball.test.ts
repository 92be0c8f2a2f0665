import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inspectTarball } from '../../src/pipeline/phases/inspect-artifact.js';

// The tarball form of the artifact (fan-out by pull, and a build on another host) is checked before it is
// unpacked anywhere; the directory form is covered on the sandbox (test/faults/faults.test.ts, hostile input).
let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function tarball(build: (src: string) => void, extra: string[] = []): string {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-inspect-'));
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  build(src);
  const file = path.join(dir, 'release.tar.gz');
  execFileSync('tar', ['-czf', file, '-C', src, ...extra, ...fs.readdirSync(src)]);
  return file;
}

describe('inspectTarball', () => {
  it('passes a release whose files and links stay inside it', async () => {
    const file = tarball((src) => {
      fs.mkdirSync(path.join(src, 'lib'));
      fs.writeFileSync(path.join(src, 'lib', 'a.js'), 'a');
      fs.symlinkSync('lib/a.js', path.join(src, 'main.js'));
    });
    await expect(inspectTarball(file)).resolves.toBeUndefined();
  });

  it('refuses ../ and absolute paths, naming each', async () => {
    const file = tarball(
      (src) => fs.writeFileSync(path.join(src, 'x'), 'x'),
      ['--transform', 's,^x$,../escape,', '-P', '/etc/hostname'],
    );
    const error = await inspectTarball(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(error)).toMatch(/release tarball refused: /);
    expect(String(error)).toMatch(/path with \.\. \.\.\/escape/);
    expect(String(error)).toMatch(/absolute path \/etc\/hostname/);
  });

  it('refuses a link that points outside the release', async () => {
    const file = tarball((src) => fs.symlinkSync('/etc/passwd', path.join(src, 'leak')));
    await expect(inspectTarball(file)).rejects.toThrow(/symlink leak -> \/etc\/passwd points outside the release/);
  });
});
