// Renders the field reference of deploy.config.ts and hosts/<env>.yaml from their schemas.
import { defOf, type Field, flatten, splitDefault } from './fields.js';
import { jsonOf, md, tsBlock, tsValue, typeText, yamlLines, yamlValue } from './render.js';

export type Syntax = 'ts' | 'yaml';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** GitHub's anchor of a heading. */
export function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

const label = (f: Field) => `\`${f.key}\`${f.variant ? ` (${f.variant})` : ''}`;
const title = (f: Field) => `\`${f.path}\`${f.variant ? ` (${f.variant})` : ''}`;

/** The example of a field: its own, the value of a literal, or one made of its children's. */
export function exampleOf(f: Field): unknown {
  if (f.examples.length) return f.examples[0];
  const def = defOf(f.inner);
  if (def.type === 'literal') return def.values![0];
  if (f.kind === 'object' || f.kind === 'list') {
    const value = Object.fromEntries(
      f.children.flatMap((c) => {
        const e = exampleOf(c);
        return e === undefined ? [] : [[c.key, e]];
      }),
    );
    return f.kind === 'list' ? [value] : value;
  }
  return undefined;
}

/** The default of a field: the schema's, else its description's "Default:" sentence. */
export function defaultOf(f: Field, syntax: Syntax): string {
  if (f.schemaDefault) {
    const value = f.schemaDefault.value;
    if (f.kind === 'object' && isEmpty(value)) return "its fields' defaults";
    return `\`${syntax === 'ts' ? tsValue(value, f.key) : yamlValue(value)}\``;
  }
  const { dflt } = splitDefault(f.description);
  if (dflt) return dflt;
  return f.required ? 'required' : '—';
}

const isEmpty = (value: unknown) => typeof value === 'object' && value !== null && Object.keys(value).length === 0;

function typeOf(f: Field): string {
  if (f.kind === 'object') return 'object';
  if (f.kind === 'list') return 'object[]';
  if (f.kind === 'union') return 'object';
  if (f.kind === 'map') return 'Record<string, object>';
  return typeText(jsonOf(f.inner));
}

function exampleBlock(f: Field, syntax: Syntax): string {
  const value = exampleOf(f);
  if (value === undefined) return '';
  const line = syntax === 'ts' ? `${f.key}: ${tsValue(value, f.key)}` : `${f.key}: ${yamlValue(value)}`;
  if (line.length <= 100 && !(syntax === 'yaml' && f.kind !== 'leaf' && f.kind !== 'map'))
    return `- example: \`${line}\``;
  const text = syntax === 'ts' ? `${f.key}: ${tsBlock(value, f.key)},` : yamlLines(f.key, value, '', true).join('\n');
  return `- example:\n\n  \`\`\`${syntax}\n${text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n  \`\`\``;
}

/** One section per field: its description, type, default and example. */
function section(f: Field, syntax: Syntax): string {
  const { text } = splitDefault(f.description);
  const lines = [`### ${title(f)}`, '', md(text) || '(no description)', ''];
  lines.push(`- type: \`${typeOf(f)}\``, `- default: ${md(defaultOf(f, syntax))}`);
  const example = exampleBlock(f, syntax);
  if (example) lines.push(example);
  if (f.children.length)
    lines.push(`- fields: ${f.children.map((c) => `[${label(c)}](#${anchor(title(c))})`).join(', ')}`);
  if (f.itemsAs) lines.push(`- items: as in [\`${f.itemsAs}\`](#${anchor(`\`${f.itemsAs}\``)})`);
  return lines.join('\n');
}

/** The summary table, then a section per field, parents before their children. */
export function fieldReference(list: readonly Field[], syntax: Syntax): string {
  const all = flatten(list);
  const rows = all.map(
    (f) => `| [${title(f)}](#${anchor(title(f))}) | \`${cell(typeOf(f))}\` | ${cell(md(defaultOf(f, syntax)))} |`,
  );
  return [
    '| field | type | default |',
    '| ----- | ---- | ------- |',
    ...rows,
    '',
    ...all.map((f) => `${section(f, syntax)}\n`),
  ].join('\n');
}
