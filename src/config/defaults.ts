// The config schema's defaults as plain data, and the filling-in of them. resolveConfig (load.ts) fills
// in defaults on every run, but the schema library takes ~80 ms to load and a run whose config did not
// change never loads it (validatedOnce, cache.ts): so the defaults are read off the schema once
// (schema-defaults.ts) and travel as data, kept in the validation cache beside the config.

/** What the schema puts where a value is absent, read off its `.default()` and `.prefault()` wrappers. */
export interface Fill {
  /** `.default(v)`: an absent value becomes v, as it is (a value given has its parts filled in). */
  readonly default?: unknown;
  /** `.prefault(v)`: an absent value becomes v, whose own parts are then filled in. */
  readonly prefault?: unknown;
  /** The fields of an object, every one: a filled-in object has every key (undefined: not set, no default). */
  readonly fields?: Readonly<Record<string, Fill>>;
  /** What every item of a list has filled in. */
  readonly each?: Fill;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `value` with the defaults of `fill` in every place it leaves absent, as parsing with the schema would. */
export function fillDefaults(value: unknown, fill: Fill): unknown {
  let out = value;
  if (out === undefined) {
    if ('default' in fill) return structuredClone(fill.default);
    if (!('prefault' in fill)) return undefined;
    out = structuredClone(fill.prefault);
  }
  if (fill.each && Array.isArray(out)) return out.map((item) => fillDefaults(item, fill.each!));
  if (fill.fields && isObject(out)) {
    const filled: Record<string, unknown> = { ...out };
    for (const [key, part] of Object.entries(fill.fields)) filled[key] = fillDefaults(filled[key], part);
    return filled;
  }
  return out;
}

let known: Fill | undefined;

/** Records the defaults of an environment's settings: read off the schema, or out of the validation cache. */
export function rememberSettingsDefaults(fill: Fill): void {
  known = fill;
}

/** The defaults of an environment's settings; known once the schema or a cached validation was loaded. */
export function settingsDefaults(): Fill {
  if (!known) throw new Error('config defaults are not loaded: validate the config (validate.ts) first');
  return known;
}
