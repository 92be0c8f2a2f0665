// Schema pieces shared by the config schema (schema.ts) and the inventory
// schema (inventory/schema.ts).
import { z } from 'zod';

/** Runs a parser as a zod check, its error message becoming the issue message. */
export function parsed(parse: (value: string) => unknown) {
  return z.string().superRefine((value, ctx) => {
    try {
      parse(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });
}

/** A project or node name. */
export const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'letters, digits, "." and "-" only, starting with a letter or digit');

export const envVar = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

/** Template variables: `{{ vars.name }}`. */
export const scalars = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

export const port = z.number().int().min(1).max(65535);

/**
 * A field's documentation, carried on its schema: the reference (docs/reference/) and the JSON Schemas
 * (docs/schema/) are generated from it by `npm run docs`, and the types (types.ts) are derived from the
 * schema. A default that is a value is the schema's (`.default()`, or `.prefault({})` for an object whose
 * fields have defaults), never written in the description; a description says "Default: ..." (its last
 * sentence) only for what the code works out (`requireTag`) or leaves absent. The example is checked
 * against the field's schema.
 */
export function doc<T extends z.ZodType>(schema: T, description: string, ...examples: unknown[]): T {
  return schema.meta(examples.length ? { description, examples } : { description });
}
