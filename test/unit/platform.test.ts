import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { validateUserConfig } from '../../src/config/validate.js';
import { artifactKey, artifactName } from '../../src/pipeline/phases/build.js';
import { nativeAddons } from '../../src/pipeline/phases/native.js';
import { buildDir, packBuild, parsePacked, runBuild } from '../../src/remote/build.js';
import { layout } from '../../src/remote/paths.js';
import { isPlatform, parsePlatform, platformProbe, platformsDiffer } from '../../src/remote/platform.js';
import { render } from '../../src/remote/tokens.js';
import { localPlatform } from '../../src/transport/platform.js';

const probe = (os: string, arch: string, glibc = '', musl = 'no') =>
  `os=${os}\narch=${arch}\nglibc=${glibc}\nmusl=${musl}\n`;

describe('platform words', () => {
  it('a node says what it is: uname -sm and its libc, in Node names', () => {
    expect(parsePlatform(probe('Linux', 'x86_64', 'glibc 2.36'))).toEqual({
      platform: 'linux-x64-glibc2.36',
      machine: 'x86_64',
      libc: 'glibc 2.36',
    });
    expect(parsePlatform(probe('Linux', 'aarch64', '', 'yes'))?.platform).toBe('linux-arm64-musl');
    expect(parsePlatform(probe('Linux', 'armv7l', 'glibc 2.31'))?.platform).toBe('linux-arm-glibc2.31');
    expect(parsePlatform(probe('Linux', 'riscv64'))).toEqual({
      platform: 'linux-riscv64',
      machine: 'riscv64',
      libc: 'unknown',
    });
    expect(parsePlatform(probe('Darwin', 'arm64'))?.platform).toBe('darwin-arm64');
    // Lines around it (doctor's probe) do not matter.
    expect(parsePlatform(`exists=yes\n${probe('Linux', 'x86_64', 'glibc 2.17')}lock=\n`)?.platform).toBe(
      'linux-x64-glibc2.17',
    );
  });

  it('nothing a node prints is trusted: odd values give no platform, an odd libc none', () => {
    expect(parsePlatform(probe('Linux', 'x86_64; rm -rf /'))).toBeUndefined();
    expect(parsePlatform(probe('Li nux', 'x86_64'))).toBeUndefined();
    expect(parsePlatform(probe('Linux', `\u001b[31mx86_64`))).toBeUndefined();
    expect(parsePlatform(probe('Linux', 'x'.repeat(40)))).toBeUndefined();
    expect(parsePlatform('')).toBeUndefined();
    expect(parsePlatform(probe('Linux', 'x86_64', 'glibc 2.36 $(reboot)'))?.platform).toBe('linux-x64');
  });

  it('the probe run in a real shell gives what this machine says of itself', () => {
    const out = execFileSync('sh', ['-c', render(platformProbe())], { encoding: 'utf8' });
    expect(parsePlatform(out)?.platform).toBe(localPlatform({}));
    expect(localPlatform({})).toMatch(/^linux-(x64|arm64)-(glibc\d+\.\d+|musl)$/);
  });

  it('RELINK_BUILD_PLATFORM stands in for this machine, checked to be a platform word', () => {
    expect(localPlatform({ RELINK_BUILD_PLATFORM: 'linux-arm64-glibc2.17' })).toBe('linux-arm64-glibc2.17');
    expect(() => localPlatform({ RELINK_BUILD_PLATFORM: 'linux x64' })).toThrow(/is not a platform word/);
    expect(isPlatform('linux-x64-glibc2.36')).toBe(true);
    expect(isPlatform('linux-x64-glibc2.36-extra')).toBe(false);
    expect(isPlatform('../x')).toBe(false);
  });

  it('differ where native code cares: OS, architecture, libc family, a newer glibc where it is built', () => {
    expect(platformsDiffer('linux-x64-glibc2.36', 'linux-x64-glibc2.36')).toBe(false);
    expect(platformsDiffer('linux-x64-glibc2.31', 'linux-x64-glibc2.36')).toBe(false);
    expect(platformsDiffer('linux-x64-glibc2.36', 'linux-x64-glibc2.31')).toBe(true);
    expect(platformsDiffer('linux-x64-glibc2.36', 'linux-arm64-glibc2.36')).toBe(true);
    expect(platformsDiffer('linux-x64-glibc2.36', 'linux-x64-musl')).toBe(true);
    expect(platformsDiffer('darwin-arm64', 'linux-arm64-glibc2.36')).toBe(true);
  });
});

describe('the build cache key', () => {
  const config = (build: Record<string, unknown> = {}) =>
    resolveConfig(
      validateUserConfig(
        { project: 'hello', repo: '/r', deployTo: '/srv/app', build: { command: 'make', ...build } },
        'deploy.config.ts',
      ),
      'prod',
      '/tmp/deploy.config.ts',
    );
  const version = { requested: 'v1', version: 'v1', commit: 'ab'.repeat(20), branch: 'main', isTag: true, subject: '' };

  it('holds the platform beside the commit: one artifact per platform', () => {
    const x64 = artifactKey(config(), version, 'linux-x64-glibc2.36');
    expect(artifactKey(config(), version, 'linux-x64-glibc2.36')).toBe(x64);
    expect(artifactKey(config(), version, 'linux-arm64-glibc2.36')).not.toBe(x64);
    expect(artifactKey(config(), { ...version, commit: 'cd'.repeat(20) }, 'linux-x64-glibc2.36')).not.toBe(x64);
    // Where it is built counts only through the platform.
    expect(artifactKey(config({ on: 'node1' }), version, 'linux-x64-glibc2.36')).toBe(x64);
    expect(artifactName('hello', 'linux-x64-glibc2.36', x64, 'tar.gz')).toBe(`hello-linux-x64-glibc2.36-${x64}.tar.gz`);
  });

  it('build.on defaults to local', () => {
    expect(config().build.on).toBe('local');
  });
});

describe('a build on a node: its commands', () => {
  const l = layout('/srv/app');

  it('a build dir of its own under .relink/build, from a checked commit and run id', () => {
    expect(buildDir(l, 'ab'.repeat(20), '20261121-170203-a1b2c3')).toBe(
      '/srv/app/.relink/build/abababababab-20261121-170203-a1b2c3',
    );
    expect(() => buildDir(l, '../x', 'run')).toThrow(/unsafe commit/);
    expect(() => buildDir(l, 'ab'.repeat(20), '../../etc')).toThrow(/unsafe release name/);
  });

  it('the build command runs bounded, passEnv values redacted', () => {
    const command = runBuild(
      '/b',
      'npm ci && npm run build',
      { NODE_ENV: 'production' },
      { NPM_TOKEN: 's3cr3t' },
      60_000,
    );
    expect(render(command, { redact: true })).toBe(
      "cd /b/src && exec timeout -k 5s 60s env NODE_ENV=production [REDACTED] sh -c 'npm ci && npm run build'",
    );
    expect(render(command)).toContain('NPM_TOKEN=s3cr3t');
  });

  it('packs the output dir and says its sha256 and size; an output outside the export is refused', () => {
    expect(render(packBuild('/b', 'dist'))).toBe(
      "{ test -d /b/src/dist || { echo 'build output dist does not exist after the build' >&2 && exit 3 ; } ; } && " +
        'tar -czf /b/artifact.tar.gz -C /b/src/dist . && sha256sum -- /b/artifact.tar.gz && wc -c < /b/artifact.tar.gz',
    );
    expect(() => packBuild('/b', '../x')).toThrow(/leaves/);
    const sum = 'a'.repeat(64);
    expect(parsePacked(`${sum}  /b/artifact.tar.gz\n1234\n`)).toEqual({ sha256: sum, bytes: 1234 });
    expect(parsePacked('nope\n1\n')).toBeUndefined();
    expect(parsePacked(`${sum}  f\n12; x\n`)).toBeUndefined();
  });
});

describe('native addons in a release', () => {
  it('are found by their files: *.node, binding.gyp, prebuilds/', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-native-'));
    const put = (name: string) => {
      fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
      fs.writeFileSync(path.join(root, name), '');
    };
    put('server.js');
    expect(nativeAddons(root)).toEqual([]);
    put('node_modules/sqlite3/build/Release/node_sqlite3.node');
    put('node_modules/bcrypt/binding.gyp');
    put('node_modules/sharp/prebuilds/linux-x64/sharp.node');
    expect(nativeAddons(root).sort()).toEqual([
      'node_modules/bcrypt/binding.gyp',
      'node_modules/sharp/prebuilds/',
      'node_modules/sqlite3/build/Release/node_sqlite3.node',
    ]);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
