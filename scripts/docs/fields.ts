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
  /** A list whose items are the same schema as an earlier list's: that list's path (its fields are listed there). */
  readonly itemsAs?: string;
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

/** The lists whose items were listed already in one schema's fields, by item schema: the path they are under. */
type Listed = Map<z.ZodType, string>;

function field(key: string, schema: z.ZodType, prefix: string, depth: number, listed: Listed, variant?: string): Field {
  const { inner, meta, optional, dflt } = unwrap(schema);
  const { kind, parts } = kindOf(inner);
  const path = `${prefix}${key}`;
  let children: Field[] = [];
  // A list of the same items as an earlier list (the points of `hooks`) points there instead of listing them again.
  const itemsAs = kind === 'list' ? listed.get(parts[0]!) : undefined;
  if (kind === 'list' && !itemsAs) listed.set(parts[0]!, path);
  if ((kind === 'object' || kind === 'list') && !itemsAs)
    children = fields(parts[0]!, `${path}${kind === 'list' ? '[]' : ''}.`, depth + 1, listed);
  if (kind === 'union') children = unionFields(parts, `${path}.`, depth + 1, listed);
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
    itemsAs,
  };
}

/** The fields of an object schema, in their written order. */
export function fields(object: z.ZodType, prefix = '', depth = 0, listed: Listed = new Map()): Field[] {
  return Object.entries(defOf(object).shape!).map(([key, s]) => field(key, s, prefix, depth, listed));
}

/** Fields shared by every variant (the same schema) once, then each variant's own, named by its discriminator. */
function unionFields(options: readonly z.ZodType[], prefix: string, depth: number, listed: Listed): Field[] {
  const shapes = options.map((o) => defOf(o).shape!);
  const common = Object.keys(shapes[0]!).filter((k) => shapes.every((s) => s[k] === shapes[0]![k]));
  const own = shapes.flatMap((shape) => {
    const tag = Object.values(shape)
      .map((s) => defOf(s))
      .find((d) => d.type === 'literal')?.values?.[0];
    return Object.entries(shape)
      .filter(([k]) => !common.includes(k))
      .map(([k, s]) => field(k, s, prefix, depth, listed, String(tag)));
  });
  return [...own, ...common.map((k) => field(k, shapes[0]![k]!, prefix, depth, listed))];
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
