import { and, op, type Command } from './tokens.js';
import { inside, type Layout } from './paths.js';

/** The log files of the current dir that match `pattern`, handed to the command that follows (none: it is not run). */
function logFiles(pattern: string): Command {
  return ['find', '.', '-maxdepth', '1', '-type', 'f', '-name', pattern, '-print0', op('|'), 'xargs', '-0', '-r'];
}

/**
 * The last lines of the app's log files, optionally following them. The
 * pattern goes to `find` as a quoted value, so it is matched by find and
 * never expanded by the shell.
 */
export function tailLogs(l: Layout, dir: string, pattern: string, lines: number, follow: boolean): Command {
  const base = inside(l.deployTo, dir);
  return and(
    ['cd', base],
    [...logFiles(pattern), 'tail', '-q', '-n', String(Math.max(0, Math.floor(lines))), ...(follow ? ['-F'] : [])],
  );
}

/** How `deploy logs --grep` matches: a fixed string (the default), or an extended regular expression. */
export interface GrepMode {
  readonly regex?: boolean;
  readonly ignoreCase?: boolean;
}

/**
 * The last `max` + 1 lines of the app's log files that match `needle` (one more than asked, so the caller knows
 * when older matches were left out). The needle is one quoted argument after `-e`, the files come after `--`:
 * it is never read as an option or expanded by the shell.
 */
export function grepLogs(
  l: Layout,
  dir: string,
  pattern: string,
  needle: string,
  max: number,
  mode: GrepMode,
): Command {
  const base = inside(l.deployTo, dir);
  const how = [mode.regex ? '-E' : '-F', ...(mode.ignoreCase ? ['-i'] : [])];
  return and(
    ['cd', base],
    [
      ...logFiles(pattern),
      'grep',
      '-a',
      '-h',
      ...how,
      '-e',
      needle,
      '--',
      op('|'),
      'tail',
      '-n',
      String(Math.max(1, Math.floor(max)) + 1),
    ],
  );
}
