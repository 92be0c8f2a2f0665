import type { ArgumentsCamelCase, Argv, CommandModule, Options } from 'yargs';
import { EXIT, EXIT_MEANING, UsageError } from '../errors.js';

/**
 * What every verb module builds on. A verb module (src/cli/<verb>.ts) exports
 * `command`: its yargs command definition, the options beside the handler.
 * Its top level imports nothing but types, node builtins, this file, errors.ts
 * and app/names.ts; its handler imports its operation (src/app/) when it runs
 * (the one dynamic import of a verb), so parsing a command line loads yargs and
 * these small modules only.
 */

/** A verb's options, declared once: read by its yargs builder and, for rollback, by node's parseArgs. */
export type OptionSet = Readonly<Record<string, Options>>;

/** Options every command shares. */
export const globalOptions = {
  config: { type: 'string', describe: 'path to deploy.config.ts (default: nearest one above the cwd)' },
  verbose: { type: 'boolean', describe: 'print stack traces of errors' },
} as const satisfies OptionSet;

/** The shared options as handlers receive them. */
export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
}

/**
 * A whole-number option (`-n 20`), checked as it is parsed: anything but
 * digits (`1;x`, `abc`, `-3`, `1.5`) is a usage error (exit 2) naming the
 * option, never a NaN passed on.
 */
export function count(name: string, describe: string, fallback: number, min = 1) {
  return {
    type: 'string',
    default: String(fallback),
    describe,
    coerce: (value: unknown): number => {
      const text = String(Array.isArray(value) ? value.at(-1) : value);
      const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min) {
        throw new UsageError(`${name} takes a whole number of ${min} or more, not ${JSON.stringify(text)}`);
      }
      return n;
    },
  } as const;
}

/** The <env> positional of most verbs. */
export function withEnv<T>(y: Argv<T>) {
  return y.positional('env', { type: 'string', describe: 'environment: a hosts/<env>.yaml file', demandOption: true });
}

/** The width `--help` wraps at. */
export const helpWidth = (): number => Math.min(110, process.stdout.columns || 100);

/** The exit-code table every `--help` ends with, made from EXIT and its meanings (src/errors.ts). */
export function exitCodesHelp(width = helpWidth()): string {
  const codes = Object.entries(EXIT) as [keyof typeof EXIT, number][];
  const indent = ' '.repeat(4 + Math.max(...codes.map(([, code]) => String(code).length)));
  const lines = ['Exit codes:'];
  for (const [name, code] of codes) {
    let line = `  ${String(code).padEnd(indent.length - 2)}`;
    for (const [i, word] of EXIT_MEANING[name].replaceAll('`', '').split(' ').entries()) {
      if (i > 0 && line.length + 1 + word.length > width) {
        lines.push(line);
        line = indent + word;
      } else line += i > 0 ? ` ${word}` : word;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** A verb's command definition as main.ts lists it; `verb` has checked that builder and handler agree. */
export type Verb = CommandModule<GlobalOptions, GlobalOptions>;

/**
 * Declares a verb: the handler's arguments are what the builder declares (checked here, erased in
 * `Verb`); its `--help` ends with the exit codes.
 */
export function verb<U>(module: {
  command: string;
  describe: string;
  builder: (y: Argv<GlobalOptions>) => Argv<U>;
  handler: (argv: ArgumentsCamelCase<U>) => Promise<void>;
}): Verb {
  return {
    ...module,
    builder: (y: Argv<GlobalOptions>) => module.builder(y).epilogue(exitCodesHelp()),
  } as unknown as Verb;
}

/** An option node's parseArgs understands: a flag or a string, maybe repeated, maybe with a one-letter alias. */
type Simple = Options & { readonly type: 'boolean' | 'string' };

type ForParseArgs<O extends Readonly<Record<string, Simple>>> = {
  [K in keyof O]: O[K] extends { readonly array: true }
    ? { type: O[K]['type']; multiple: true; short?: string }
    : { type: O[K]['type']; short?: string };
};

/**
 * The same declarations in node's parseArgs form (`array` is `multiple`, a one-letter alias is `short`),
 * for a fast path that skips loading yargs.
 */
export function forParseArgs<O extends Readonly<Record<string, Simple>>>(options: O): ForParseArgs<O> {
  const out: Record<string, { type: 'boolean' | 'string'; multiple?: boolean; short?: string; default?: unknown }> = {};
  for (const [name, option] of Object.entries(options)) {
    const short = [option.alias ?? []].flat().find((a) => a.length === 1);
    out[name] = {
      type: option.type,
      ...(option.array ? { multiple: true } : {}),
      ...(short ? { short } : {}),
      ...(option.default === undefined ? {} : { default: option.default }),
    };
  }
  return out as ForParseArgs<O>;
}
