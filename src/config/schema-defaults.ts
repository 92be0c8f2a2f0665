// Reads a schema's defaults off it as plain data (defaults.ts says why), and records those of an
// environment's settings for resolveConfig as soon as the schema is loaded.
import type { z } from 'zod';
import { type Fill, rememberSettingsDefaults } from './defaults.js';
import { environmentSchema } from './schema.js';

type Def = {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  defaultValue?: unknown;
};

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The defaults of `schema`: of its wrappers, of an object's fields and of a list's items. */
export function defaultsOf(schema: z.ZodType): Fill {
  const def = defOf(schema);
  switch (def.type) {
    case 'default':
      return { ...defaultsOf(def.innerType!), default: def.defaultValue };
    case 'prefault':
      return { ...defaultsOf(def.innerType!), prefault: def.defaultValue };
    case 'optional':
    case 'nullable':
    case 'readonly':
      return defaultsOf(def.innerType!);
    case 'object':
      // Every field, those without a default too: a filled-in object lists every key of its type.
      return { fields: Object.fromEntries(Object.entries(def.shape!).map(([key, field]) => [key, defaultsOf(field)])) };
    case 'array': {
      const each = defaultsOf(def.element!);
      return Object.keys(each).length ? { each } : {};
    }
    default:
      return {};
  }
}

/** The defaults of one environment's settings, as resolveConfig fills them in. */
export const SETTINGS_DEFAULTS: Fill = defaultsOf(environmentSchema);
rememberSettingsDefaults(SETTINGS_DEFAULTS);
