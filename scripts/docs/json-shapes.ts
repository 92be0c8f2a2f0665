// The `--json` output of every command that has one and the dashboard's API answers, as the reference
// renders them (docs/reference/json.md): the zod schemas themselves live in src/app/shapes.ts, where the
// CLI prints and the API answers through them and test/integration/json-output.test.ts parses with them.
import type { z } from 'zod';
import { apiShapes, cliShapes, poisonRecord } from '../../src/app/shapes.js';
import { anchor } from './reference.js';
import { tsType } from './render.js';

export { poisonRecord };

export interface Shape {
  readonly command: string;
  readonly schema: z.ZodType;
}

/** Every command that has `--json`, in the order of the reference. */
export const shapes: readonly Shape[] = Object.values(cliShapes);

const link = (command: string) => `[\`${command}\`](#${anchor(`\`${command}\``)})`;
/** A route as code; the refusal's row is words. */
const route = (text: string) => (/^(GET|POST) /.test(text) ? `\`${text}\`` : text);

/** The section on the dashboard's JSON API: each route, and the CLI shape it carries or its own. */
export function apiReference(names: ReadonlyMap<object, string>): string[] {
  const all = Object.values(apiShapes) as readonly { route: string; schema: z.ZodType; like?: string }[];
  const rows = all.map((a) => {
    const readAt = a.like && 'shape' in a.schema && 'readAt' in (a.schema.shape as object) ? ' and `readAt`' : '';
    const what = a.like ? `${link(a.like)}${readAt}` : `[its own](#${anchor(route(a.route))})`;
    return `| ${route(a.route)} | ${what} |`;
  });
  const own = all
    .filter((a) => !a.like)
    .flatMap((a) => [`### ${route(a.route)}`, '', '```ts', tsType(a.schema, names), '```', '']);
  return [
    '## Dashboard API',
    '',
    '`deploy serve` answers under `/api/` (a session, or an API token: `Authorization: Bearer ...`) with the',
    'same shapes: a read of one environment adds `readAt`, when its nodes were read (the dashboard caches',
    'reads; `?refresh=1` reads them again). A refusal (4xx, 5xx) answers an error.',
    '',
    '| route | answer |',
    '| ----- | ------ |',
    ...rows,
    '',
    ...own,
  ];
}
