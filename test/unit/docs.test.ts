import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { HOOK_POINT_NAMES } from '../../src/config/hooks.js';
import { configSchema } from '../../src/config/schema.js';
import { validateUserConfig } from '../../src/config/validate.js';
import { inventorySchema } from '../../src/inventory/schema.js';
import { type Field, fields, flatten, splitDefault } from '../../scripts/docs/fields.js';
import { generate } from '../../scripts/docs/generate.js';
import { shapes } from '../../scripts/docs/json-shapes.js';
import { exampleOf } from '../../scripts/docs/reference.js';

const root = path.resolve(import.meta.dirname, '../..');
const configFields = flatten(fields(configSchema));
const inventoryFields = flatten(fields(inventorySchema));

describe('the generated reference (docs/)', () => {
  it('is what `npm run docs` makes of the code now', () => {
    const stale = [...generate()].filter(([file, text]) => {
      const target = path.join(root, file);
      return !fs.existsSync(target) || fs.readFileSync(target, 'utf8') !== text;
    });
    expect(
      stale.map(([file]) => file),
      'stale generated docs: run npm run docs',
    ).toEqual([]);
  });

  it('documents the --json output of every verb that has the option', () => {
    const cli = path.join(root, 'src', 'cli');
    const verbs = fs
      .readdirSync(cli)
      .filter((f) => /^\s+json: \{ type: 'boolean'/m.test(fs.readFileSync(path.join(cli, f), 'utf8')))
      .map((f) => f.replace(/\.ts$/, ''));
    expect(verbs).toEqual(expect.arrayContaining(['status', 'releases', 'plan', 'history', 'doctor']));
    expect(verbs.filter((v) => !shapes.some((s) => s.command.startsWith(`deploy ${v} `)))).toEqual([]);
  });

  it('has a description for every field, its "Default:" sentence last, and an example for every value', () => {
    for (const f of [...configFields, ...inventoryFields]) {
      expect(f.description, f.path).toBeTruthy();
      expect(splitDefault(f.description).text, f.path).not.toMatch(/Default:/);
      if (f.kind === 'leaf' || f.kind === 'map') expect(exampleOf(f), `${f.path}: no example`).not.toBeUndefined();
    }
  });

  it("takes only examples the field's own schema accepts", () => {
    for (const f of [...configFields, ...inventoryFields]) {
      const example = exampleOf(f);
      if (example === undefined) continue;
      const result = f.inner.safeParse(example);
      expect(result.success, `${f.path}: ${JSON.stringify(example)}: ${result.error?.message}`).toBe(true);
    }
  });
});

describe('the defaults of the config', () => {
  it('are said once: a field whose schema has a default does not say it again in words', () => {
    const twice = [...configFields, ...inventoryFields].filter(
      (f) => f.schemaDefault && splitDefault(f.description).dflt,
    );
    expect(twice.map((f) => `${f.path}: ${f.description}`)).toEqual([]);
  });

  it("are what resolveConfig fills in, each the schema's own", () => {
    const user = {
      project: 'p',
      repo: '.',
      deployTo: '/srv/p',
      templates: [{ src: 'a', dest: 'b' }],
      restart: { command: 'x' },
      stop: { command: 'y' },
      smoke: { url: 'http://x/' },
      backup: { command: 'x' },
      approvals: { from: ['ops'] },
      analysis: {
        prometheus: { url: 'http://prometheus:9090' },
        queries: [{ name: 'q', query: 'up', condition: '< 1', baseline: { maxRatio: 2 } }],
        alerts: { url: 'http://alertmanager:9093', matchers: { severity: 'critical' } },
      },
      notify: { webhooks: [{ url: 'https://hooks.example.com/' }], email: { host: 'h', from: 'a@x', to: ['b@x'] } },
    };
    const resolved = resolveConfig(validateUserConfig(user, 'deploy.config.ts'), 'dev', '/p/deploy.config.ts');
    // `service` replaces restart and stop: its defaults are read from a config of its own.
    const { restart: _r, stop: _s, ...rest } = user;
    const served = { ...rest, service: { unit: 'u', start: 'exec u' } };
    const withService = resolveConfig(validateUserConfig(served, 'deploy.config.ts'), 'dev', '/p/deploy.config.ts');
    // A hook at every point (without `backup`, which would be the first beforeSwitch hook).
    const { backup: _backup, ...plain } = user;
    const hooks = Object.fromEntries(HOOK_POINT_NAMES.map((point) => [point, [{ command: 'x' }]]));
    const hooked = resolveConfig(validateUserConfig({ ...plain, hooks }, 'x.ts'), 'dev', '/p/deploy.config.ts');
    // Paths are resolved against the config's directory (and ~ against the home directory).
    const asResolved: Record<string, (v: unknown) => unknown> = {
      'ssh.knownHostsFile': (v) => path.join(os.homedir(), String(v).slice(2)),
    };
    const checked: string[] = [];
    for (const f of configFields as Field[]) {
      // An object's default ({}) is its fields' defaults, and a list's items are given: both checked field by field.
      if (!f.schemaDefault || f.kind === 'object' || f.kind === 'list' || /^(environments|schedule)\b/.test(f.path))
        continue;
      let value: unknown = f.path.startsWith('service.')
        ? withService
        : f.path.startsWith('hooks.')
          ? hooked
          : resolved;
      for (const part of f.path.replace(/\[\]/g, '.0').split('.')) value = (value as Record<string, unknown>)[part];
      const dflt = f.schemaDefault.value;
      expect(value, f.path).toEqual(asResolved[f.path]?.(dflt) ?? dflt);
      checked.push(f.path);
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        'keepReleases',
        'build.timeoutMs',
        'templates[].mode',
        'ssh.connectTimeoutMs',
        'service.manager',
        'hooks.beforeBuild[].timeoutMs',
        'hooks.beforeBuild[].emergency',
      ]),
    );
    expect(checked.length).toBeGreaterThan(40);
  });
});
