// How the doors phrase a next step: as the command line a person types. The one renderer of src/next.ts's
// steps, for the CLI's `next:` line, the dashboard's hints, reports and the run's messages (RunDeps.phrase).
import type { Said, NextStep, Verb } from '../next.js';

export type { Said, NextStep } from '../next.js';
export { nextStep, stepsIn } from '../next.js';

/** The words each verb starts with. */
const WORDS: Readonly<Record<Verb, string>> = {
  again: '',
  deploy: 'deploy',
  rollback: 'rollback',
  status: 'deploy status',
  logs: 'deploy logs',
  history: 'deploy history',
  releases: 'deploy releases',
  'lock-status': 'deploy lock status',
  unlock: 'deploy unlock',
  doctor: 'deploy doctor',
  report: 'deploy report',
  check: 'deploy check',
  'poison-list': 'deploy poison list',
  request: 'deploy request',
  approve: 'deploy approve',
  analyze: 'deploy analyze',
};

/** Flags whose value is prose: given in double quotes. */
const PROSE = new Set(['reason', 'message']);

/** `deploy unlock prod --force`, `rollback prod --to v1.0.0 --emergency`. */
export function commandLine(s: NextStep): string {
  const words = [...(WORDS[s.verb] ? [WORDS[s.verb]] : []), ...(s.env ? [s.env] : []), ...(s.args ?? [])];
  for (const [name, value] of Object.entries(s.flags ?? {})) {
    for (const one of value === true ? [true] : typeof value === 'string' ? [value] : value) {
      words.push(one === true ? `--${name}` : `--${name} ${PROSE.has(name) ? `"${one}"` : one}`);
    }
  }
  return words.join(' ');
}

/** What the engine said, as text: each step as its command line. */
export function phrase(what: Said): string {
  return typeof what === 'string' ? what : what.map((p) => (typeof p === 'string' ? p : commandLine(p))).join('');
}

/** An error's hint as text (undefined without one). */
export function hintOf(error: { readonly hint?: Said | undefined }): string | undefined {
  return error.hint === undefined ? undefined : phrase(error.hint);
}
