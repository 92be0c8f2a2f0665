import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/project.js';

const run = promisify(execFile);
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
};
let out: string;

// `npm run build` is `node scripts/build.mjs`; the same script builds into a directory of the test's own
// here, so this proves what `npm run build` leaves in dist/ without touching the dist/ others run.
beforeAll(async () => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-build-'));
  await run('node', [path.join(repoRoot, 'scripts', 'build.mjs'), '--out-dir', out], { cwd: repoRoot });
}, 60_000);
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

describe('the build', () => {
  it('is scripts/build.mjs (what this test runs)', () => {
    expect(pkg.scripts.build).toBe('node scripts/build.mjs');
  });

  it('leaves every bin of package.json executable, and each runs by its own #! line', async () => {
    expect(Object.keys(pkg.bin).sort()).toEqual(['deploy', 'rollback']);
    for (const [name, file] of Object.entries(pkg.bin)) {
      const built = path.join(out, path.relative('dist', file));
      expect(fs.statSync(built).mode & 0o777, name).toBe(0o755);
      const { stdout } = await run(built, ['--help'], { cwd: out });
      expect(stdout, name).toMatch(/deploy <env> <version>|rollback <env>/);
    }
  });

  it('writes the help texts `deploy --help` and `rollback --help` print without loading yargs', async () => {
    const help = fs.readFileSync(path.join(out, 'help.txt'), 'utf8');
    expect(help).toContain('deploy doctor <env>');
    const rollbackHelp = fs.readFileSync(path.join(out, 'rollback-help.txt'), 'utf8');
    expect(rollbackHelp).toContain('deploy rollback <env>');
    for (const text of [help, rollbackHelp]) expect(text).toMatch(/\nExit codes:\n {2}0 +done\n/);
    // The bin prints that file (its fast path), not a second rendering by yargs.
    fs.writeFileSync(path.join(out, 'rollback-help.txt'), `marker\n${rollbackHelp}`);
    try {
      const { stdout } = await run('node', [path.join(out, 'bin', 'rollback.js'), '--help'], { cwd: out });
      expect(stdout).toBe(`marker\n${rollbackHelp}`);
    } finally {
      fs.writeFileSync(path.join(out, 'rollback-help.txt'), rollbackHelp);
    }
  });
});
