import { runInRelease } from './relink.js';
import { render, type Command } from './tokens.js';

/**
 * The shell command line `deploy exec` runs, from the words given after `--`. One word is a command line
 * the user wrote (`'cd shared && ls | wc -l'`): the node's shell reads it as written, pipes and all. Several
 * words are a command and its arguments (`ls -la 'my dir'`): each is quoted, so none is split, expanded or
 * read as an operator by the node's shell. Throws on no words, or on one word that is blank.
 */
export function execLine(words: readonly string[]): string {
  if (words.length === 0 || (words.length === 1 && words[0]!.trim() === '')) throw new Error('no command to run');
  return words.length === 1 ? words[0]! : render(words);
}

/**
 * Runs an exec line in `dir` on the node, with `env` in its environment: `cd <dir> && exec env ... sh -c
 * <line>`. The line is a value passed to `sh -c`, quoted like every other value; the transport bounds the
 * whole command with its deadline (`timeout` on the node, which ends every process it started).
 */
export function execIn(dir: string, line: string, env: Readonly<Record<string, string>>): Command {
  return runInRelease(dir, line, env);
}
