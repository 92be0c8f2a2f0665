// Reads the fields of a zod schema, with the documentation each carries (`doc()` in
// src/config/schema-parts.ts), for the reference generator and its tests.
import { z } from 'zod';

export type Kind = 'leaf' | 'object' | 'list' | 'map' | 'union';

export interface Field {
  /** `build.timeoutMs`, `templates[].mode`, `lb.socket`. */
  readonly path: string;
  readonly key: string;
  readonly depth: number;
  readonly kind: Kind;
  /** The schema as written, with its optional/default wrappers. */
  readonly schema: z.ZodType;
  /** The schema inside those wrappers: what a value must satisfy. */
  readonly inner: z.ZodType;
  readonly required: boolean;
  readonly description?: string;
  readonly examples: readonly unknown[];
  /** The default the schema fills in (`.default()`, `.prefault()`); a description's "Default:" says the rest. */
  readonly schemaDefault?: { readonly value: unknown };
  /** The `lb.driver` a field belongs to, when not to all of them. */
  readonly variant?: string;
  /** The fields of an object, of a list's objects, or (for a union) of every variant. */
  readonly children: readonly Field[];
}

type Def = {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  values?: unknown[];
  defaultValue?: unknown;
};

export const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

interface Meta {
  description?: string;
  examples?: unknown[];
}

/** The schema inside its optional/default wrappers, the metadata found on the way, and its default. */
export function unwrap(schema: z.ZodType): {
  inner: z.ZodType;
  meta: Meta;
  optional: boolean;
  dflt?: { value: unknown };
} {
  let inner = schema;
  let meta: Meta = {};
  let optional = false;
  let dflt: { value: unknown } | undefined;
  for (;;) {
    meta = { ...(z.globalRegistry.get(inner) as Meta | undefined), ...meta };
    const def = defOf(inner);
    if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault') {
      optional = true;
      if (def.type !== 'optional') dflt = { value: def.defaultValue };
      inner = def.innerType!;
    } else break;
  }
  return { inner, meta, optional, dflt };
}

function kindOf(inner: z.ZodType): { kind: Kind; parts: z.ZodType[] } {
  const def = defOf(inner);
  if (def.type === 'object') return { kind: 'object', parts: [inner] };
  if (def.type === 'array' && defOf(unwrap(def.element!).inner).type === 'object')
    return { kind: 'list', parts: [unwrap(def.element!).inner] };
  if (def.type === 'record' && defOf(unwrap(def.valueType!).inner).type === 'object') return { kind: 'map', parts: [] };
  if (def.type === 'union' && def.options!.every((o) => defOf(o).type === 'object'))
    return { kind: 'union', parts: def.options! };
  return { kind: 'leaf', parts: [] };
}

function field(key: string, schema: z.ZodType, prefix: string, depth: number, variant?: string): Field {
  const { inner, meta, optional, dflt } = unwrap(schema);
  const { kind, parts } = kindOf(inner);
  const path = `${prefix}${key}`;
  let children: Field[] = [];
  if (kind === 'object' || kind === 'list')
    children = fields(parts[0]!, `${path}${kind === 'list' ? '[]' : ''}.`, depth + 1);
  if (kind === 'union') children = unionFields(parts, `${path}.`, depth + 1);
  return {
    path,
    key,
    depth,
    kind,
    schema,
    inner,
    required: !optional,
    description: meta.description,
    examples: meta.examples ?? [],
    schemaDefault: dflt,
    variant,
    children,
  };
}

/** The fields of an object schema, in their written order. */
export function fields(object: z.ZodType, prefix = '', depth = 0): Field[] {
  return Object.entries(defOf(object).shape!).map(([key, s]) => field(key, s, prefix, depth));
}

/** Fields shared by every variant (the same schema) once, then each variant's own, named by its discriminator. */
function unionFields(options: readonly z.ZodType[], prefix: string, depth: number): Field[] {
  const shapes = options.map((o) => defOf(o).shape!);
  const common = Object.keys(shapes[0]!).filter((k) => shapes.every((s) => s[k] === shapes[0]![k]));
  const own = shapes.flatMap((shape) => {
    const tag = Object.values(shape)
      .map((s) => defOf(s))
      .find((d) => d.type === 'literal')?.values?.[0];
    return Object.entries(shape)
      .filter(([k]) => !common.includes(k))
      .map(([k, s]) => field(k, s, prefix, depth, String(tag)));
  });
  return [...own, ...common.map((k) => field(k, shapes[0]![k]!, prefix, depth))];
}

/** Every field at every depth, parents before their children. */
export function flatten(list: readonly Field[]): Field[] {
  return list.flatMap((f) => [f, ...flatten(f.children)]);
}

/**
 * The "Default: ..." sentence of a description (always its last), and the text before it: the default of a
 * field whose schema has none, in words (what the code works out, or what an absent field means).
 */
export function splitDefault(description = ''): { text: string; dflt?: string } {
  const at = description.search(/(^|\s)Default: /);
  if (at < 0) return { text: description };
  return {
    text: description.slice(0, at).trim(),
    dflt: description
      .slice(at)
      .trim()
      .replace(/^Default: /, '')
      .replace(/\.$/, ''),
  };
}
