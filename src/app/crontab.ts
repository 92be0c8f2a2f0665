import { op, render } from '../remote/tokens.js';

/** An entry of `deploy schedule --crontab`. */
export interface CrontabEntry {
  readonly name: string;
  readonly cron: string;
}

/**
 * The cron line that announces the due releases of the entries with `announce` (every 10 minutes; each
 * release is announced once, whichever machine or run does it first), or a comment when cron cannot run it.
 */
export function announceCrontabLine(root: string, node = process.execPath, script = process.argv[1]!): string {
  const run = [node, script, 'schedule', '--announce-due'];
  const command = render(['cd', root, op('&&'), ...run, op('>>'), `${root}/.relink/logs/schedule.log`, op('2>&1')]);
  if (/[\r\n]/.test(command) || command.includes('\\%'))
    return '# announcements: the system cron cannot run this project path, use: deploy schedule\n';
  return `*/10 * * * * ${command.replaceAll('%', '\\%')}\n`;
}

/**
 * Lines for the system cron that run `deploy schedule --run-once <name>` in the project: a CRON_TZ line and
 * the job, or a comment saying why cron cannot run it. Every value is shell-quoted by `render`; `%`, which
 * cron turns into a line break, is escaped. A line break cannot be quoted for cron at all (it would end the
 * job, and cron would read what follows as a job of its own), so a path or name holding one gets a comment.
 */
export function crontabLines(
  entry: CrontabEntry,
  timezone: string,
  root: string,
  node = process.execPath,
  script = process.argv[1]!,
): string {
  const fields = entry.cron.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `# ${entry.name}: "${entry.cron}" has seconds; the system cron cannot run it, use: deploy schedule\n`;
  }
  const run = [node, script, 'schedule', '--run-once', entry.name];
  const command = render(['cd', root, op('&&'), ...run, op('>>'), `${root}/.relink/logs/schedule.log`, op('2>&1')]);
  // cron reads `\%` as `%` and ends the command at any other `%`; a `\` right before a `%` cannot be written.
  if (/[\r\n]/.test(`${timezone} ${entry.cron} ${command}`) || command.includes('\\%')) {
    const what = `${JSON.stringify(entry.name)} in ${JSON.stringify(root)}`;
    return `# ${what}: the system cron cannot run this name or project path, use: deploy schedule\n`;
  }
  return `CRON_TZ=${timezone}\n${entry.cron} ${command.replaceAll('%', '\\%')}\n`;
}
