// Small renderers for the reference: a JSON Schema node as a type in words, values as TypeScript or YAML,
// and a zod schema as a TypeScript type (for the --json shapes).
import { z } from 'zod';
import { defOf } from './fields.js';

type Js = {
  type?: string | string[];
  anyOf?: Js[];
  oneOf?: Js[];
  enum?: unknown[];
  const?: unknown;
  items?: Js;
  additionalProperties?: Js | boolean;
  properties?: Record<string, Js>;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  format?: string;
};

const paren = (t: string) => (t.includes(' | ') ? `(${t})` : t);

/** Markdown text with `<` outside code spans escaped, so `hosts/<env>.yaml` is not taken for a tag. */
export function md(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 ? part : part.replace(/&/g, '&amp;').replace(/</g, '&lt;')))
    .join('');
}

/** `integer ≥ 1`, `'tar' | 'rsync'`, `string[]`, `Record<string, string \| number \| boolean>`, ... */
export function typeText(js: Js): string {
  const alts = js.anyOf ?? js.oneOf;
  if (alts) return alts.map(typeText).join(' | ');
  if ('const' in js) return JSON.stringify(js.const);
  if (js.enum) return js.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (Array.isArray(js.type)) return js.type.join(' | ');
  switch (js.type) {
    case 'array':
      return `${paren(js.items ? typeText(js.items) : 'unknown')}[]`;
    case 'object':
      if (js.properties) return 'object';
      return `Record<string, ${typeof js.additionalProperties === 'object' ? typeText(js.additionalProperties) : 'unknown'}>`;
    case 'integer':
    case 'number': {
      const low =
        js.exclusiveMinimum !== undefined
          ? ` > ${js.exclusiveMinimum}`
          : js.minimum !== undefined
            ? ` ≥ ${js.minimum}`
            : '';
      const high = js.maximum !== undefined && js.maximum < Number.MAX_SAFE_INTEGER ? ` ≤ ${js.maximum}` : '';
      return `${js.type}${low}${low && high ? ',' : ''}${high}`;
    }
    case 'string':
      return js.format === 'uri' ? 'string (URL)' : 'string';
    default:
      return js.type ?? 'unknown';
  }
}

/** The JSON Schema of one field's value (as written: defaults make it optional, not different). */
export function jsonOf(schema: z.ZodType): Js {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Js;
}

const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;

/** A value as TypeScript source (what deploy.config.ts would say); file modes (`mode`) in octal. */
export function tsValue(value: unknown, key?: string): string {
  if (typeof value === 'number' && key === 'mode') return `0o${value.toString(8)}`;
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map((v) => tsValue(v)).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${PLAIN_KEY.test(k) ? k : tsValue(k)}: ${tsValue(v, k)}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  return String(value);
}

/** A value as TypeScript source, broken over lines (one key or item per line) where one line would be long. */
export function tsBlock(value: unknown, key?: string, indent = ''): string {
  const flat = tsValue(value, key);
  if (flat.length + indent.length <= 90 || value === null || typeof value !== 'object') return flat;
  const inner = `${indent}  `;
  const lines = Array.isArray(value)
    ? value.map((v) => `${inner}${tsBlock(v, undefined, inner)},`)
    : Object.entries(value).map(([k, v]) => `${inner}${PLAIN_KEY.test(k) ? k : tsValue(k)}: ${tsBlock(v, k, inner)},`);
  return Array.isArray(value) ? `[\n${lines.join('\n')}\n${indent}]` : `{\n${lines.join('\n')}\n${indent}}`;
}

/** A value as YAML in flow style (what hosts/<env>.yaml would say), quoting only what needs it. */
export function yamlValue(value: unknown): string {
  if (typeof value === 'string') {
    const plain =
      /^[A-Za-z0-9/._~][A-Za-z0-9/._~ -]*$/.test(value) &&
      !/^(true|false|null|yes|no|on|off|~|[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?|0x[0-9a-f]+|0o[0-7]+|[-+]?\.inf|\.nan)$/i.test(
        value,
      ) &&
      !value.endsWith(' ');
    return plain ? value : `'${value.replace(/'/g, "''")}'`;
  }
  if (Array.isArray(value)) return `[${value.map(yamlValue).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${yamlValue(k)}: ${yamlValue(v)}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  return String(value);
}

/** `key: value` as YAML lines: flow style where it fits on a line (unless `block`), block style otherwise. */
export function yamlLines(key: string, value: unknown, indent = '', block = false): string[] {
  const flat = `${indent}${key}: ${yamlValue(value)}`;
  if ((!block && flat.length <= 90) || value === null || typeof value !== 'object') return [flat];
  const inner = `${indent}  `;
  if (!Array.isArray(value))
    return [`${indent}${key}:`, ...Object.entries(value).flatMap(([k, v]) => yamlLines(k, v, inner))];
  const items = value.flatMap((item) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) return [`${inner}- ${yamlValue(item)}`];
    const lines = Object.entries(item).flatMap(([k, v]) => yamlLines(k, v, `${inner}  `));
    return lines.map((l, i) => (i === 0 ? `${inner}- ${l.slice(inner.length + 2)}` : l));
  });
  return [`${indent}${key}:`, ...items];
}

/** A zod schema as a TypeScript type, descriptions as comments; `names` print as their name. */
export function tsType(schema: z.ZodType, names: ReadonlyMap<object, string>, indent = ''): string {
  const def = defOf(schema) as ReturnType<typeof defOf> & { items?: z.ZodType[]; entries?: Record<string, unknown> };
  const named = names.get(def);
  if (named) return named;
  const inner = `${indent}  `;
  switch (def.type) {
    case 'object': {
      const lines = Object.entries(def.shape!).map(([key, field]) => {
        const optional = defOf(field).type === 'optional';
        const text = tsType(optional ? defOf(field).innerType! : field, names, inner);
        const about = (z.globalRegistry.get(field) as { description?: string } | undefined)?.description;
        return `${inner}${key}${optional ? '?' : ''}: ${text};${about ? ` // ${about}` : ''}`;
      });
      return `{\n${lines.join('\n')}\n${indent}}`;
    }
    case 'array': {
      const element = tsType(def.element!, names, indent);
      return ['union', 'enum', 'nullable', 'optional'].includes(defOf(def.element!).type)
        ? `(${element})[]`
        : `${element}[]`;
    }
    case 'tuple':
      return `[${(def.items ?? []).map((i) => tsType(i, names, indent)).join(', ')}]`;
    case 'union':
      return def.options!.map((o) => tsType(o, names, indent)).join(' | ');
    case 'optional':
      return `${tsType(def.innerType!, names, indent)} | undefined`;
    case 'nullable':
      return `${paren(tsType(def.innerType!, names, indent))} | null`;
    case 'record':
      return `Record<string, ${tsType(def.valueType!, names, indent)}>`;
    case 'literal':
      return def.values!.map((v) => JSON.stringify(v)).join(' | ');
    case 'enum':
      return Object.values(def.entries ?? {})
        .map((v) => JSON.stringify(v))
        .join(' | ');
    default:
      return def.type;
  }
}
