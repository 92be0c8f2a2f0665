import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import {
  differences,
  nodeSettingsOf,
  parseReleaseSettings,
  releaseSettingsText,
  SecretInSettings,
} from '../../src/config/release-settings.js';
import { validateUserConfig } from '../../src/config/validate.js';
import { NO_SETTINGS, readSettings } from '../../src/remote/release-settings.js';
import { layout } from '../../src/remote/paths.js';
import { render } from '../../src/remote/tokens.js';

const R = 'shop_prod_v1.0.0_main_20261101-120000_ana';

function config(extra: Record<string, unknown> = {}) {
  const user = validateUserConfig(
    {
      project: 'shop',
      repo: '/nowhere',
      deployTo: '/srv/shop',
      restart: { command: 'sh bin/restart.sh' },
      smoke: { url: 'http://{{ node.address }}:3000/health', expectBody: '{{ vars.mark }}' },
      shared: { dirs: ['data'], files: ['.env'] },
      secrets: ['DB_PASSWORD'],
      vars: { mark: 'ok' },
      ...extra,
    },
    'deploy.config.ts',
  );
  return resolveConfig(user, 'prod', '/tmp/shop/deploy.config.ts');
}

describe('the settings file a release keeps', () => {
  it('holds the node-side settings as written (templates stay templates) and the names of the secrets', () => {
    const text = releaseSettingsText(config(), R, { DB_PASSWORD: 'pa55-word-value' });
    const file = JSON.parse(text);
    expect(file).toEqual({
      version: 1,
      release: R,
      settings: {
        restart: { command: 'sh bin/restart.sh', timeoutMs: 30000 },
        smoke: {
          url: 'http://{{ node.address }}:3000/health',
          expectBody: '{{ vars.mark }}',
          expectStatus: 200,
          retries: 20,
          intervalMs: 250,
          timeoutMs: 2000,
        },
        shared: { dirs: ['data'], files: ['.env'] },
        hooks: {},
      },
      secrets: ['DB_PASSWORD'],
    });
    expect(text).not.toContain('pa55-word-value');
    // What it wrote, it reads back.
    expect(parseReleaseSettings(text, R)).toEqual({ settings: file.settings });
  });

  it('refuses a setting that holds a secret value, in any form, naming the setting and never the value', () => {
    const leaky = (command: string) => () =>
      releaseSettingsText(config({ stop: { command } }), R, { DB_PASSWORD: "pa55'word" });
    for (const command of ["PGPASSWORD=pa55'word pg_ctl stop", "PGPASSWORD='pa55'\\''word' pg_ctl stop"]) {
      expect(leaky(command)).toThrow(SecretInSettings);
      expect(leaky(command)).toThrow('stop.command holds the value of secret DB_PASSWORD');
      try {
        leaky(command)();
      } catch (error) {
        expect((error as Error).message).not.toContain('pa55');
      }
    }
  });

  it('the node-side part of the local config', () => {
    const settings = nodeSettingsOf(config({ smoke: undefined, restart: undefined }));
    expect(settings).toEqual({ shared: { dirs: ['data'], files: ['.env'] }, hooks: {} });
  });

  it('carries the hooks that run on the nodes, resolved; never those of the deploy machine', () => {
    const hooks = {
      beforeBuild: [{ command: 'npm run lint' }],
      afterDistribute: [{ command: 'test -f package.json' }, { command: 'notify-local', on: 'local' }],
      beforeSwitch: [{ command: 'npm run migrate', name: 'migrate', node: 'db1', on: 'once' }],
      afterSwitch: [{ command: 'sudo systemctl reload php-fpm', name: 'opcache', emergency: true }],
      afterRollout: [{ command: './bin/chat done' }],
      afterRollback: [{ command: 'warm-cache', on: 'each' }],
    };
    const text = releaseSettingsText(config({ hooks }), R, {});
    expect(JSON.parse(text).settings.hooks).toEqual({
      afterDistribute: [
        { command: 'test -f package.json', on: 'each', name: 'afterDistribute#1', timeoutMs: 300000, emergency: false },
      ],
      beforeSwitch: [
        { command: 'npm run migrate', on: 'once', node: 'db1', name: 'migrate', timeoutMs: 300000, emergency: false },
      ],
      afterSwitch: [
        { command: 'sudo systemctl reload php-fpm', on: 'each', name: 'opcache', timeoutMs: 300000, emergency: true },
      ],
      afterRollback: [
        { command: 'warm-cache', on: 'each', name: 'afterRollback', timeoutMs: 300000, emergency: false },
      ],
    });
    expect(text).not.toMatch(/npm run lint|notify-local|bin\/chat/);
    expect(parseReleaseSettings(text, R)).toEqual({ settings: JSON.parse(text).settings });
  });

  it('refuses a node hook that holds a secret value, naming the hook', () => {
    const hooks = { afterSwitch: [{ command: 'curl -u admin:pa55-word-value localhost/purge' }] };
    expect(() => releaseSettingsText(config({ hooks }), R, { DB_PASSWORD: 'pa55-word-value' })).toThrow(
      'hooks.afterSwitch.0.command holds the value of secret DB_PASSWORD',
    );
  });
});

describe("a node's copy is untrusted", () => {
  const good = JSON.parse(releaseSettingsText(config(), R, {}));
  const read = (value: unknown, release = R) => parseReleaseSettings(JSON.stringify(value), release);

  it('anything off is a problem, never an exception', () => {
    expect(parseReleaseSettings('{"version":1,', R)).toEqual({ problem: 'not JSON' });
    expect(parseReleaseSettings('x'.repeat(65 * 1024), R)).toEqual({ problem: 'larger than 65536 bytes' });
    expect(read({ ...good, version: 2 })).toEqual({ problem: 'format version 2, this relink reads 1' });
    expect(read(good, 'shop_prod_v2.0.0_main_20261201-120000_ana')).toEqual({
      problem: `written for another release (${R})`,
    });
    expect(read(null)).toMatchObject({ problem: expect.stringMatching(/^not a settings file/) });
    expect(read([good])).toMatchObject({ problem: expect.stringMatching(/^not a settings file/) });
  });

  it('is parsed strictly: unknown keys, wrong types, paths out of the release, bad names are refused', () => {
    const bad: [string, unknown][] = [
      ['an unknown key', { ...good, extra: 1 }],
      ['an unknown setting', { ...good, settings: { ...good.settings, build: { command: 'rm -rf /' } } }],
      ['a restart without a command', { ...good, settings: { ...good.settings, restart: { timeoutMs: 5 } } }],
      ['a zero time limit', { ...good, settings: { ...good.settings, restart: { command: 'x', timeoutMs: 0 } } }],
      [
        'a shared path out of the release',
        { ...good, settings: { ...good.settings, shared: { dirs: ['../x'], files: [] } } },
      ],
      [
        'an absolute shared path',
        { ...good, settings: { ...good.settings, shared: { dirs: [], files: ['/etc/passwd'] } } },
      ],
      [
        'a smoke with url and command',
        { ...good, settings: { ...good.settings, smoke: { ...good.settings.smoke, command: 'true' } } },
      ],
      ['a release name with a slash', { ...good, release: '../../etc' }],
      ['a secret value instead of a name', { ...good, secrets: ['pa55 word'] }],
    ];
    for (const [what, value] of bad)
      expect(read(value, value === bad[7]![1] ? '../../etc' : R), what).toHaveProperty('problem');
  });

  it('carried hooks are checked as strictly as the config checks them', () => {
    const hook = { command: 'clear-cache', on: 'each', name: 'opcache', timeoutMs: 1000, emergency: false };
    const withHooks = (hooks: unknown) => ({ ...good, settings: { ...good.settings, hooks } });
    expect(read(withHooks({ afterSwitch: [hook] }))).toHaveProperty('settings');
    const bad: [string, unknown][] = [
      ['a hook of the deploy machine', { afterRollout: [{ ...hook, on: 'local' }] }],
      ['a point whose hooks run only locally', { beforeBuild: [hook] }],
      ['an unknown point', { afterEverything: [hook] }],
      ['a place its point does not allow', { afterSwitch: [{ ...hook, on: 'once' }] }],
      ['"node" without once', { afterRollback: [{ ...hook, node: 'node2' }] }],
      ['an unknown key', { afterSwitch: [{ ...hook, env: { A: '1' } }] }],
      ['no time limit', { afterSwitch: [{ ...hook, timeoutMs: undefined }] }],
      ['an odd name', { afterSwitch: [{ ...hook, name: 'a b;rm' }] }],
      ['a name used twice', { afterSwitch: [hook], afterRollback: [hook] }],
      ['an empty command', { afterSwitch: [{ ...hook, command: '' }] }],
      ['not a list', { afterSwitch: hook }],
    ];
    for (const [what, hooks] of bad) expect(read(withHooks(hooks)), what).toHaveProperty('problem');
    expect(read(withHooks({ afterSwitch: [{ ...hook, on: 'once' }] }))).toEqual({
      problem: 'not a settings file (settings.hooks.afterSwitch.0.on: afterSwitch hooks do not run once)',
    });
  });

  it('the reading command prints at most one byte past the limit, and says when there is no file', () => {
    const file = `/srv/shop/releases/${R}/.relink/settings.json`;
    expect(render(readSettings(layout('/srv/shop'), R))).toBe(
      `{ test -f ${file} && head -c 65537 -- ${file} ; } || { test '!' -e ${file} && echo @@relink-no-settings@@ ; }`,
    );
  });

  it('run by a shell: the file, the marker when there is none, a failure when it is not a file', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-read-settings-'));
    const sh = () => spawnSync('sh', ['-c', render(readSettings(layout(root), R))], { encoding: 'utf8' });
    const file = path.join(root, 'releases', R, '.relink', 'settings.json');
    try {
      expect(sh()).toMatchObject({ status: 0, stdout: `${NO_SETTINGS}\n` });
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, '{"version":1}');
      expect(sh()).toMatchObject({ status: 0, stdout: '{"version":1}' });
      fs.writeFileSync(file, 'x'.repeat(100_000));
      expect(sh().stdout).toHaveLength(65537);
      fs.rmSync(file);
      fs.mkdirSync(file);
      expect(sh().status).not.toBe(0);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('differences names the settings two copies disagree on', () => {
    const a = nodeSettingsOf(config());
    const b = { ...a, restart: { command: 'other', timeoutMs: 30000 } };
    expect(differences(a, b)).toEqual(['restart']);
    expect(differences(a, { ...a, smoke: undefined })).toEqual(['smoke']);
    expect(differences(a, a)).toEqual([]);
    const hook = { command: 'x', on: 'each', name: 'x', timeoutMs: 1, emergency: false } as const;
    expect(differences(a, { ...a, hooks: { afterSwitch: [hook] } })).toEqual(['hooks']);
  });
});
