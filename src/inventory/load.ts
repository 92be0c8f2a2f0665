import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { validatedOnce } from '../config/cache.js';
import { requireCjs } from '../cjs.js';
import { excerpt } from './excerpt.js';
import type { Inventory } from './types.js';

/** Environments are the hosts/<env>.yaml files of the project. */
export function knownEnvironments(root: string): string[] {
  const dir = path.join(root, 'hosts');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => f.replace(/\.ya?ml$/, ''))
    .sort();
}

export async function loadInventory(root: string, env: string): Promise<Inventory> {
  const known = knownEnvironments(root);
  const file = ['yaml', 'yml'].map((ext) => path.join(root, 'hosts', `${env}.${ext}`)).find((f) => fs.existsSync(f));
  if (!/^[a-z][a-z0-9-]*$/.test(env) || !file) {
    throw new UsageError(`unknown environment "${env}"; known: ${known.length ? known.join(', ') : '(none)'}`, {
      hint: known.length
        ? `use one of: ${known.join(', ')}`
        : `create hosts/${env}.yaml with the nodes of that environment`,
    });
  }
  const label = path.relative(root, file) || file;
  // Keyed by the file's text: an unchanged inventory needs neither the YAML parser nor the schema.
  const text = fs.readFileSync(file, 'utf8');
  return validatedOnce(path.join(root, '.relink', 'cache'), `inventory-${env}`, { label, text }, async () => {
    const { parse } = requireCjs('yaml') as typeof import('yaml');
    let data: unknown;
    try {
      data = parse(text);
    } catch (error) {
      // yaml's own message ends in a context of its own; ours numbers the lines and marks the column.
      const e = error as Error & { linePos?: readonly { line: number; col: number }[] };
      const what = (e.message.split('\n')[0] ?? '').replace(/:$/, '');
      const at = e.linePos?.[0];
      throw new UsageError(`${label}: not valid YAML: ${what}${at ? `\n${excerpt(text, at.line, at.col)}` : ''}`, {
        hint: at ? `fix ${label} at the marked line` : `fix ${label}`,
      });
    }
    return (await import('../config/validate.js')).validateInventory(data, env, label);
  });
}
