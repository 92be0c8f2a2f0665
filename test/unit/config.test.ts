import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fillDefaults } from '../../src/config/defaults.js';
import { resolveConfig } from '../../src/config/load.js';
import { environmentSchema } from '../../src/config/schema.js';
import {
  CONFIG_REFERENCE,
  SETTINGS_DEFAULTS,
  validateInventory,
  validateUserConfig,
} from '../../src/config/validate.js';

const base = { project: 'hello', repo: './app', deployTo: '/srv/hello' };

describe('config validation', () => {
  it('names the file and path of each bad key', () => {
    expect(() => validateUserConfig({ ...base, keepReleases: 'five' }, 'deploy.config.ts')).toThrow(
      'deploy.config.ts: keepReleases: expected a number, got "five"',
    );
    expect(() => validateUserConfig({ ...base, smoke: { url: 'http://x', retries: 0 } }, 'deploy.config.ts')).toThrow(
      /smoke\.retries/,
    );
    expect(() => validateUserConfig({ ...base, deployTo: 'relative/path' }, 'deploy.config.ts')).toThrow(
      /deployTo: .*absolute path/,
    );
    expect(() => validateUserConfig({ ...base, shared: { dirs: ['../escape'] } }, 'deploy.config.ts')).toThrow(
      /shared\.dirs\[0\]/,
    );
    expect(() => validateUserConfig({ ...base, restrat: {} }, 'deploy.config.ts')).toThrow(/unknown key "restrat"/);
    expect(() => validateUserConfig({ repo: 'x' }, 'deploy.config.ts')).toThrow(/project: required/);
  });

  it('merges environment overrides and fills defaults', () => {
    const user = validateUserConfig(
      {
        ...base,
        smoke: { url: 'http://{{ node.address }}/', retries: 3 },
        environments: { dev: { deployTo: '/srv/dev', smoke: { retries: 9 } } },
      },
      'deploy.config.ts',
    );
    const prod = resolveConfig(user, 'prod', '/p/deploy.config.ts');
    const dev = resolveConfig(user, 'dev', '/p/deploy.config.ts');
    expect(prod.deployTo).toBe('/srv/hello');
    expect(prod.requireTag).toBe(true);
    expect(prod.keepReleases).toBe(5);
    expect(prod.repo).toBe('/p/app');
    expect(prod.smoke?.retries).toBe(3);
    expect(prod.smoke?.expectStatus).toBe(200);
    expect(dev.deployTo).toBe('/srv/dev');
    expect(dev.requireTag).toBe(false);
    expect(dev.smoke?.retries).toBe(9);
    expect(dev.smoke?.url).toBe('http://{{ node.address }}/');
  });
});

describe('config defaults', () => {
  it('are filled in as the schema fills them, without the schema (data read off it once)', () => {
    const settings = [
      {},
      { deployTo: '/srv/a', smoke: { command: 'true' }, restart: { command: 'r' }, backup: { command: 'b' } },
      {
        templates: [
          { src: 'a', dest: 'b' },
          { src: 'c', dest: 'd', mode: 0o644 },
        ],
        rollout: { fanout: { mode: 'relay' as const, seeds: 3 }, parallel: 2 },
        ssh: { proxyJump: 'ops@b1', connectTimeoutMs: 1 },
        notify: { webhooks: [{ urlEnv: 'HOOK' }], email: { host: 'h', from: 'a@x', to: ['b@x'], port: 587 } },
        build: { command: 'make', env: { A: '1' } },
        shared: { dirs: ['log'] },
        vars: { a: 1 },
        windows: ['Tue 17:00-19:00'],
      },
    ];
    for (const written of settings) {
      expect(fillDefaults(written, SETTINGS_DEFAULTS), JSON.stringify(written)).toEqual(
        environmentSchema.parse(written),
      );
    }
  });

  it('apply after an environment is merged over the top level, never over a value the top level sets', () => {
    const user = validateUserConfig(
      {
        ...base,
        keepReleases: 9,
        ssh: { connectTimeoutMs: 1234 },
        environments: { dev: { ssh: { strictHostKeys: false }, restart: { command: 'r' } } },
      },
      'deploy.config.ts',
    );
    const dev = resolveConfig(user, 'dev', '/p/deploy.config.ts');
    expect(dev.keepReleases).toBe(9);
    expect(dev.ssh).toMatchObject({ connectTimeoutMs: 1234, strictHostKeys: false, maxConnectionStarts: 10 });
    expect(dev.restart).toEqual({ command: 'r', timeoutMs: 30_000 });
    expect(resolveConfig(user, 'prod', '/p/deploy.config.ts').restart).toBeUndefined();
  });

  it('are documented in the reference the package ships, which a config error names', () => {
    expect(() => validateUserConfig({ ...base, keepReleases: 0 }, 'deploy.config.ts')).toThrow(
      expect.objectContaining({ hint: expect.stringContaining(CONFIG_REFERENCE) }),
    );
    const root = path.resolve(import.meta.dirname, '../..');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
    const inPackage = path.relative('node_modules/relink', CONFIG_REFERENCE);
    expect(pkg.files.some((f) => inPackage.startsWith(`${f}/`))).toBe(true);
    expect(fs.existsSync(path.join(root, inPackage))).toBe(true);
  });
});

describe('inventory validation', () => {
  const host = (over: object = {}) => ({ name: 'n1', address: '10.0.0.1', ...over });

  it('names the file and path of a bad key', () => {
    expect(() =>
      validateInventory(
        { hosts: [host(), host({ name: 'n2' }), host({ name: 'n3', port: 'ssh' })] },
        'prod',
        'hosts/prod.yaml',
      ),
    ).toThrow('hosts/prod.yaml: hosts[2].port: expected a number, got "ssh"');
    expect(() => validateInventory({ hosts: [] }, 'prod', 'hosts/prod.yaml')).toThrow(/hosts: at least one host/);
    expect(() => validateInventory({ hosts: [host(), host()] }, 'prod', 'hosts/prod.yaml')).toThrow(/used twice/);
    expect(() => validateInventory({ pre: 'zz', hosts: [host()] }, 'prod', 'hosts/prod.yaml')).toThrow(
      /pre: "zz" is not one of the hosts/,
    );
    expect(() => validateInventory({ hosts: [host({ address: 'a;b' })] }, 'prod', 'hosts/prod.yaml')).toThrow(
      /hosts\[0\]\.address/,
    );
  });

  it('fills defaults', () => {
    const inv = validateInventory({ hosts: [host()] }, 'prod', 'hosts/prod.yaml');
    expect(inv.hosts[0]).toEqual({ name: 'n1', address: '10.0.0.1', port: 22, user: 'deploy', roles: [], vars: {} });
    expect(inv.groupSize).toBe(1);
  });
});

describe('smoke settings after merging', () => {
  it('need exactly one of url or command', () => {
    const user = validateUserConfig({ ...base, smoke: { retries: 3 } }, 'deploy.config.ts');
    expect(() => resolveConfig(user, 'prod', '/p/deploy.config.ts')).toThrow(
      /smoke: set exactly one of "url" or "command"/,
    );
  });
});

describe('validatedOnce: an unchanged config or inventory skips the schema', () => {
  it('validates new content, reuses the result for the same content, and never caches what JSON cannot carry', async () => {
    const { validatedOnce } = await import('../../src/config/cache.js');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-cache-'));
    let calls = 0;
    const validate = (raw: unknown) => {
      calls++;
      if ((raw as { bad?: boolean }).bad) throw new Error('invalid config');
      return { ...(raw as object), checked: true };
    };
    try {
      expect(await validatedOnce(dir, 'config', { a: 1 }, validate)).toEqual({ a: 1, checked: true });
      expect(await validatedOnce(dir, 'config', { a: 1 }, validate)).toEqual({ a: 1, checked: true });
      expect(calls).toBe(1);
      // Changed content is validated again, and an invalid one still fails after a valid one was cached.
      await expect(validatedOnce(dir, 'config', { a: 1, bad: true }, validate)).rejects.toThrow(/invalid config/);
      expect(calls).toBe(2);
      expect(await validatedOnce(dir, 'config', { a: 2 }, validate)).toEqual({ a: 2, checked: true });
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('config-'))).toHaveLength(1);
      // A function in the config (JSON would drop it) is validated every time and not cached.
      const withFn = { a: 3, hook: () => 1 };
      await validatedOnce(dir, 'config', withFn, validate);
      await validatedOnce(dir, 'config', withFn, validate);
      expect(calls).toBe(5);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
