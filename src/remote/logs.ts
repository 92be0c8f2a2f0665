import { and, op, type Command } from './tokens.js';
import { inside, type Layout } from './paths.js';

/**
 * The last lines of the app's log files, optionally following them. The
 * pattern goes to `find` as a quoted value, so it is matched by find and
 * never expanded by the shell.
 */
export function tailLogs(l: Layout, dir: string, pattern: string, lines: number, follow: boolean): Command {
  const base = inside(l.deployTo, dir);
  return and(
    ['cd', base],
    [
      'find',
      '.',
      '-maxdepth',
      '1',
      '-type',
      'f',
      '-name',
      pattern,
      '-print0',
      op('|'),
      'xargs',
      '-0',
      '-r',
      'tail',
      '-q',
      '-n',
      String(Math.max(0, Math.floor(lines))),
      ...(follow ? ['-F'] : []),
    ],
  );
}
