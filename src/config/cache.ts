import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The modules that hold the schemas and the checks they run (window texts, time zones), and those that
 * shape what is cached (the config beside its defaults: load.ts, defaults.ts).
 */
const SCHEMA_MODULES = [
  './load.js',
  './defaults.js',
  './schema.js',
  './schema-settings.js',
  './schema-notify.js',
  './schema-people.js',
  './schema-fanout.js',
  './schema-parts.js',
  './schema-defaults.js',
  './window-spec.js',
  './when.js',
  '../inventory/schema.js',
  '../inventory/lb-schema.js',
];

/**
 * The identity of the code that validates: the build's id (dist/build-id, a hash of the bundle, one level
 * up from this module in the bundle and in the declarations' layout alike), else the schema modules' sizes
 * and times (running from the sources). A new relink build never trusts an older build's validation.
 */
function schemaStamp(): string {
  try {
    return fs.readFileSync(new URL('../build-id', import.meta.url), 'utf8').trim();
  } catch {
    // Not a build: the sources themselves.
  }
  try {
    return SCHEMA_MODULES.map((module) => {
      const stat = fs.statSync(fileURLToPath(new URL(module, import.meta.url)));
      return `${stat.size}:${stat.mtimeMs}`;
    }).join(',');
  } catch {
    return 'unknown';
  }
}

/** JSON text of a value, or undefined when JSON would not carry it faithfully (functions, symbols, bigints). */
function plainJson(value: unknown): string | undefined {
  let faithful = true;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') faithful = false;
    return v;
  });
  return faithful ? text : undefined;
}

/**
 * Validates `raw` once per distinct content: the validated result is kept
 * under `dir` keyed by a hash of the raw value (and of the schema module), so
 * a run whose config and inventory did not change skips loading the schema
 * library and validating (about 70 ms of every command, the emergency
 * rollback included). A value JSON cannot carry exactly is always validated
 * afresh. Only the newest entry per kind is kept.
 */
export async function validatedOnce<T>(
  dir: string,
  kind: string,
  raw: unknown,
  validate: (raw: unknown) => T | Promise<T>,
): Promise<T> {
  const text = plainJson(raw);
  if (text === undefined) return validate(raw);
  const key = crypto.createHash('sha256').update(`${kind}\n${schemaStamp()}\n${text}`).digest('hex').slice(0, 24);
  const file = path.join(dir, `${kind}-${key}.json`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    // not cached yet (or unreadable): validate below
  }
  const result = await validate(raw);
  const out = plainJson(result);
  if (out === undefined) return result;
  try {
    fs.mkdirSync(dir, { recursive: true });
    for (const old of fs.readdirSync(dir)) {
      if (old.startsWith(`${kind}-`) && old.endsWith('.json')) fs.rmSync(path.join(dir, old), { force: true });
    }
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, out);
    fs.renameSync(tmp, file);
  } catch {
    // a read-only project dir only loses the cache
  }
  return result;
}
