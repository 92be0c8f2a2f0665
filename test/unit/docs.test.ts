import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { inventorySchema } from '../../src/inventory/schema.js';
import { type Field, fields, flatten, splitDefault } from '../../scripts/docs/fields.js';
import { generate } from '../../scripts/docs/generate.js';
import { shapes } from '../../scripts/docs/json-shapes.js';
import { exampleOf } from '../../scripts/docs/reference.js';

const root = path.resolve(import.meta.dirname, '../..');
const configFields = flatten(fields(configSchema));
const inventoryFields = flatten(fields(inventorySchema));
const norm = (text: string) => text.replace(/\s+/g, ' ').trim();

/** (property, JSDoc text) of every documented property in a types file. */
function jsdoc(...files: string[]): { key: string; text: string }[] {
  return files.flatMap((file) =>
    [
      ...fs
        .readFileSync(path.join(root, file), 'utf8')
        .matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(?:readonly\s+)?([A-Za-z_]\w*)\??:/g),
    ].map((m) => ({ key: m[2]!, text: norm(m[1]!.replace(/^\s*\* ?/gm, ' ')) })),
  );
}

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

describe('the field documentation in the types and in the schemas', () => {
  it('says the same in the JSDoc of src/config/types.ts (and step-types.ts, notify-types.ts) as on the config schema', () => {
    const docs = jsdoc('src/config/types.ts', 'src/config/step-types.ts', 'src/config/notify-types.ts');
    const missing = configFields.filter((f) => !docs.some((d) => d.key === f.key && d.text === norm(f.description!)));
    expect(missing.map((f) => `${f.path}: ${f.description}`)).toEqual([]);
    const extra = docs.filter((d) => !configFields.some((f) => f.key === d.key && norm(f.description!) === d.text));
    expect(extra.map((d) => `${d.key}: ${d.text}`)).toEqual([]);
  });

  it('says the same in the JSDoc of src/inventory/types.ts as on the inventory schema (lb: schema only)', () => {
    const docs = jsdoc('src/inventory/types.ts');
    const typed = inventoryFields.filter((f) => !f.path.startsWith('lb.'));
    const missing = typed.filter((f) => !docs.some((d) => d.key === f.key && d.text === norm(f.description!)));
    expect(missing.map((f) => `${f.path}: ${f.description}`)).toEqual([]);
    const extra = docs.filter((d) => !inventoryFields.some((f) => f.key === d.key && norm(f.description!) === d.text));
    expect(extra.map((d) => `${d.key}: ${d.text}`)).toEqual([]);
  });

  it('documents the defaults resolveConfig fills in', () => {
    const user = {
      project: 'p',
      repo: '.',
      deployTo: '/srv/p',
      templates: [{ src: 'a', dest: 'b' }],
      restart: { command: 'x' },
      smoke: { url: 'http://x/' },
      backup: { command: 'x' },
    };
    const resolved = resolveConfig(user, 'dev', '/p/deploy.config.ts') as unknown as Record<string, unknown>;
    const single = /^(?:`([^`]+)`|(-?\d+|0o[0-7]+|true|false))(?: ms)?(?: \(.*\))?$/;
    const checked: string[] = [];
    for (const f of configFields as Field[]) {
      const m = single.exec(splitDefault(f.description).dflt ?? '');
      if (!m) continue;
      let value: unknown = resolved;
      const parts = f.path.replace(/\[\]/g, '.0').split('.');
      for (const part of parts.slice(0, -1)) value = (value as Record<string, unknown> | undefined)?.[part];
      if (value === undefined) continue; // not in ResolvedConfig (notify, schedule): applied where it is used
      const actual = (value as Record<string, unknown>)[parts.at(-1)!];
      const documented = m[1] ?? (m[2] === 'true' ? true : m[2] === 'false' ? false : Number(m[2]));
      expect(actual, f.path).toEqual(documented);
      checked.push(f.path);
    }
    expect(checked).toEqual(
      expect.arrayContaining(['keepReleases', 'build.timeoutMs', 'templates[].mode', 'ssh.connectTimeoutMs']),
    );
    expect(checked.length).toBeGreaterThan(15);
  });
});
