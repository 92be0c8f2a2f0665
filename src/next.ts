// A next step as data. The engine says which command would help and with what; a door phrases it (the CLI
// as the command line a person types: src/app/phrase.ts), so no command line is spelled below src/app/.

/** The commands a next step can name; each door has a phrasing for every one (a new verb must get one). */
export const VERBS = [
  // The command just run, with the step's flags added (a door may show only those flags).
  'again',
  'deploy',
  'rollback',
  'status',
  'logs',
  'history',
  'releases',
  'lock-status',
  'unlock',
  'doctor',
  'report',
  'check',
  'poison-list',
  'request',
  'approve',
  'analyze',
] as const;

export type Verb = (typeof VERBS)[number];

/** A flag's value: `true` for a bare flag, a list for a repeated one. A value in angle brackets is a blank. */
export type FlagValue = string | true | readonly string[];
/** Flags in the order they are to be given. */
export type Flags = Readonly<Record<string, FlagValue>>;

/** A command as data: `{ verb: 'unlock', env: 'prod', flags: { force: true } }`. */
export interface NextStep {
  readonly verb: Verb;
  readonly env?: string;
  /** Positional arguments after the environment (a version, a run id, `<rev>` for a blank). */
  readonly args?: readonly string[];
  readonly flags?: Flags;
}

/** Text that may name next steps: plain text, or its parts, text and steps in reading order. */
export type Said = string | readonly Part[];
export type Part = string | NextStep;

/** How a door turns what the engine said into text (given to a run in RunDeps). */
export type Phrase = (said: Said) => string;

export function nextStep(verb: Verb, env?: string, flags?: Flags, args?: readonly string[]): NextStep {
  return { verb, ...(env ? { env } : {}), ...(args?.length ? { args } : {}), ...(flags ? { flags } : {}) };
}

/** Text with steps in it: said`check those nodes now: ${nextStep('status', env)}` (what was said nests). */
export function said(text: TemplateStringsArray, ...parts: readonly (Part | readonly Part[])[]): readonly Part[] {
  const out: Part[] = [];
  text.forEach((piece, i) => {
    if (piece) out.push(piece);
    const part = parts[i];
    if (Array.isArray(part)) out.push(...(part as readonly Part[]));
    else if (part !== undefined) out.push(part as Part);
  });
  return out;
}

/** The steps named in what was said, in order. */
export function stepsIn(what: Said | undefined): NextStep[] {
  return typeof what === 'object' ? what.filter((p): p is NextStep => typeof p !== 'string') : [];
}
