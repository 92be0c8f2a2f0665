// Parses what relink prints with `--json` and what its dashboard's API answers with the shapes the code
// prints through (src/app/shapes.ts), strictly: a field more or less fails the test that reads it.
import { expect } from 'vitest';
import type { z } from 'zod';
import { apiShapes, cliShapes, type JsonOf } from '../../src/app/shapes.js';

/** `text` as JSON, parsed with `schema`; fails the test, naming `what`, on any difference. */
export function parseShape<S extends z.ZodType>(schema: S, text: string, what: string): JsonOf<S> {
  let json: unknown;
  expect(() => (json = JSON.parse(text)), `${what}: not JSON: ${text.slice(0, 200)}`).not.toThrow();
  const parsed = schema.safeParse(json);
  expect(parsed.error?.issues ?? [], `${what} against docs/reference/json.md`).toEqual([]);
  return parsed.data as JsonOf<S>;
}

type Cli = typeof cliShapes;
type Api = typeof apiShapes;

/** The stdout of `deploy ... --json`, parsed with the shape of `command` (a key of cliShapes). */
export function cliJson<K extends keyof Cli>(command: K, stdout: string): JsonOf<Cli[K]['schema']> {
  return parseShape(cliShapes[command].schema, stdout, cliShapes[command].command);
}

/** An API answer's body, parsed with the shape of `route` (a key of apiShapes). */
export function apiJson<K extends keyof Api>(route: K, body: string): JsonOf<Api[K]['schema']> {
  return parseShape(apiShapes[route].schema, body, apiShapes[route].route);
}
