import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, EXIT_MEANING } from '../../src/errors.js';
import { distDir, repoRoot } from '../helpers/project.js';

const bin = path.join(distDir, 'bin', 'deploy.js');
const rollbackBin = path.join(distDir, 'bin', 'rollback.js');
const zx = path.join(repoRoot, 'node_modules', 'zx', 'build', 'cli.js');

async function cli(args: string[], cwd: string, file = bin) {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [file, ...args], {
      cwd,
      env: { ...process.env, CI: 'true', APP_SECRET: 'x-secret' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-cli-'));
  await promisify(execFile)('node', [
    zx,
    path.join(repoRoot, 'scripts', 'example-repo.mjs'),
    '--dir',
    path.join(dir, 'app'),
  ]);
  fs.mkdirSync(path.join(dir, 'hosts'));
  fs.writeFileSync(
    path.join(dir, 'hosts', 'prod.yaml'),
    'hosts:\n  - name: web1\n    address: 127.0.0.1\n    port: 2999\n',
  );
  fs.writeFileSync(
    path.join(dir, 'hosts', 'dev.yaml'),
    'hosts:\n  - name: web1\n    address: 127.0.0.1\n    port: 2999\n',
  );
  fs.writeFileSync(
    path.join(dir, 'deploy.config.ts'),
    "export default { project: 'hello', repo: './app', deployTo: '/srv/cli-test' };\n",
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the deploy binary', () => {
  it('prints help and exits 0', async () => {
    const result = await cli(['--help'], dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/deploy <env> <version>/);
    expect(result.stdout).toMatch(/deploy plan <env> <version>/);
  });

  it.each([
    ['deploy --help', ['--help'], bin],
    ['rollback --help', ['--help'], rollbackBin],
    ['rollback -h', ['-h'], rollbackBin],
    ['deploy history --help', ['history', '--help'], bin],
    ['deploy rollback prod --help', ['rollback', 'prod', '--help'], bin],
  ])('%s ends with every exit code of EXIT and its meaning', async (_, args, file) => {
    const result = await cli(args, dir, file);
    expect(result.code).toBe(0);
    const table = result.stdout.slice(result.stdout.indexOf('\nExit codes:\n'));
    const flat = table.replace(/\n {7}/g, ' ');
    for (const [name, code] of Object.entries(EXIT)) {
      const meaning = EXIT_MEANING[name as keyof typeof EXIT].replaceAll('`', '');
      expect(flat, `exit ${code}`).toContain(`\n  ${String(code).padEnd(5)}${meaning}\n`);
    }
  });

  it('schedule --list with no schedule is an empty listing: exit 0, saying so', async () => {
    const result = await cli(['schedule', '--list'], dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^no schedules in deploy\.config\.ts \(add one: schedule: \[/);
    const foreground = await cli(['schedule'], dir);
    expect(foreground.code).toBe(2);
    expect(foreground.stderr).toMatch(/error: no schedule in deploy\.config\.ts/);
  });

  it('refuses an unknown environment with exit 2, listing the known ones', async () => {
    const result = await cli(['staging', 'v1.0.0'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: unknown environment "staging"; known: dev, prod/);
    expect(result.stderr).toMatch(/next: use one of: dev, prod/);
  });

  it('names the closest tags when a tag is missing, exit 2', async () => {
    const result = await cli(['prod', 'v1.1'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: no tag "v1\.1" in the repository; closest: v1\.1\.0, v1\.2\.0, v1\.0\.0/);
  });

  it('refuses a branch where tags are required, with the way out', async () => {
    const result = await cli(['prod', 'main'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: prod takes tags only, and "main" is a branch/);
    expect(result.stderr).toMatch(/requireTag: false/);
  });

  it('names the file and path of an invalid config key', async () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-cli-bad-'));
    fs.cpSync(dir, bad, { recursive: true });
    fs.writeFileSync(
      path.join(bad, 'deploy.config.ts'),
      "export default { project: 'hello', repo: './app', deployTo: '/srv/x', keepReleases: 'many', smoke: { url: 'http://x', retries: -1 } };\n",
    );
    fs.writeFileSync(
      path.join(bad, 'hosts', 'prod.yaml'),
      'hosts:\n  - name: web1\n    address: 127.0.0.1\n    port: twenty\n',
    );
    const result = await cli(['prod', 'v1.0.0'], bad);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/deploy\.config\.ts: keepReleases: expected a number, got "many"/);
    expect(result.stderr).toMatch(/deploy\.config\.ts: smoke\.retries: /);
    fs.writeFileSync(
      path.join(bad, 'deploy.config.ts'),
      "export default { project: 'hello', repo: './app', deployTo: '/srv/x' };\n",
    );
    const inventory = await cli(['prod', 'v1.0.0'], bad);
    expect(inventory.code).toBe(2);
    expect(inventory.stderr).toMatch(/hosts\/prod\.yaml: hosts\[0\]\.port: expected a number, got "twenty"/);
    fs.rmSync(bad, { recursive: true, force: true });
  });

  it('says where to run when there is no config', async () => {
    const result = await cli(['prod', 'v1.0.0'], os.tmpdir());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no deploy\.config\.ts in .* or any directory above it/);
  });

  it('rejects unknown options with exit 2', async () => {
    const result = await cli(['prod', 'v1.0.0', '--frobnicate'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Unknown argument: frobnicate/);
  });

  it.each([
    ['logs', 'prod', '-n', '1;x'],
    ['logs', 'prod', '-n', 'abc'],
    ['history', 'prod', '-n', '-3'],
    ['history', 'prod', '-n', '1.5'],
  ])(
    '4. operator intent: a numeric option that is not a whole number is a usage error: %s %s %s %j',
    async (...args) => {
      const result = await cli(args, dir);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/error: -n(\/--lines)? takes a whole number of 1 or more, not "/);
      expect(result.stderr).not.toMatch(/NaN/);
    },
  );

  it('names an unreachable node and changes nothing (exit 1)', async () => {
    const result = await cli(['prod', 'v1.0.0'], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/web1 \(deploy@127\.0\.0\.1:2999\): cannot connect: .*ECONNREFUSED/);
  });
});

describe('the rollback binary', () => {
  it('is `deploy rollback`: usage errors exit 2 with the way out', async () => {
    const missing = await cli(['prod'], dir, rollbackBin);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/say where to go: --last or --to <release\|version>/);
    const typo = await cli(['prod', '--lats'], dir, rollbackBin);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/Unknown argument: lats/);
  });

  it('parses the emergency button without yargs and reaches the nodes (here: none answers)', async () => {
    const result = await cli(['prod', '--last', '--emergency'], dir, rollbackBin);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/web1 .*!! unreachable: .*ECONNREFUSED/);
  });
});
