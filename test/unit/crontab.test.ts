import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { announceCrontabLine, crontabLines } from '../../src/app/crontab.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-crontab-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** What cron hands to `sh -c`: the line after the five time fields, `\%` read as `%`, cut at any other `%`. */
function cronCommand(line: string): string {
  const rest = line.replace(/^(\S+\s+){5}/, '');
  let out = '';
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '\\' && rest[i + 1] === '%') {
      out += '%';
      i++;
    } else if (rest[i] === '%') {
      break;
    } else {
      out += rest[i];
    }
  }
  return out;
}

/** Files `$(touch pwned)` would have made, wherever the shell ran it. */
const pwned = () => fs.readdirSync(tmp, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('pwned'));

describe('schedule --crontab', () => {
  it('announces every 10 minutes with --announce-due, run by a real shell as cron would, nothing else run', () => {
    const root = path.join(tmp, "ann o'neil $(touch pwned) 100%");
    fs.mkdirSync(path.join(root, '.relink', 'logs'), { recursive: true });
    const script = path.join(root, 'argv.mjs');
    fs.writeFileSync(script, 'console.log(JSON.stringify(process.argv.slice(2)));\n');
    const line = announceCrontabLine(root, process.execPath, script);
    expect(line).toMatch(/^\*\/10 \* \* \* \* cd /);
    expect(line.endsWith('\n')).toBe(true);
    execFileSync('sh', ['-c', cronCommand(line.trimEnd())], { cwd: tmp });
    const log = fs.readFileSync(path.join(root, '.relink', 'logs', 'schedule.log'), 'utf8');
    expect(JSON.parse(log)).toEqual(['schedule', '--announce-due']);
    expect(pwned()).toEqual([]);
    expect(announceCrontabLine('/srv/a\nb', '/usr/bin/node', '/x.js')).toMatch(/^# announcements: the system cron/);
  });

  it('quotes a project path and an entry name with a quote, $(...) and a space', () => {
    const lines = crontabLines(
      { name: "it's $(touch pwned) now", cron: '0 17 * * 2,4' },
      'Europe/Berlin',
      "/srv/o'neil $(touch pwned)/app",
      '/usr/bin/node',
      '/opt/relink/dist/bin/deploy.js',
    );
    expect(lines).toBe(
      'CRON_TZ=Europe/Berlin\n' +
        "0 17 * * 2,4 cd '/srv/o'\\''neil $(touch pwned)/app' && /usr/bin/node /opt/relink/dist/bin/deploy.js " +
        "schedule --run-once 'it'\\''s $(touch pwned) now' " +
        ">> '/srv/o'\\''neil $(touch pwned)/app/.relink/logs/schedule.log' 2>&1\n",
    );
  });

  it('runs in a real shell as cron would, handing the name over unchanged and running nothing else', () => {
    const root = path.join(tmp, "o'neil $(touch pwned) 100% `touch pwned` x");
    fs.mkdirSync(path.join(root, '.relink', 'logs'), { recursive: true });
    const script = path.join(root, 'argv.mjs');
    fs.writeFileSync(script, 'console.log(JSON.stringify(process.argv.slice(2)));\n');
    const name = "it's $(touch pwned); `touch pwned` 50% done";
    const lines = crontabLines({ name, cron: '0 17 * * 2,4' }, 'UTC', root, process.execPath, script).split('\n');
    expect(lines[0]).toBe('CRON_TZ=UTC');
    execFileSync('sh', ['-c', cronCommand(lines[1]!)], { cwd: tmp });
    const log = fs.readFileSync(path.join(root, '.relink', 'logs', 'schedule.log'), 'utf8');
    expect(JSON.parse(log)).toEqual(['schedule', '--run-once', name]);
    expect(pwned()).toEqual([]);
  });

  it('writes a comment, not a job, for a name or path with a line break (cron would read a second job)', () => {
    const name = "it's $(touch pwned)\n* * * * * touch pwned";
    const root = path.join(tmp, "o'neil $(touch pwned)\nx");
    for (const [n, r] of [
      [name, '/srv/app'],
      ['nightly', root],
      [name, root],
    ] as const) {
      const lines = crontabLines({ name: n, cron: '0 17 * * 2,4' }, 'UTC', r, process.execPath, '/x/deploy.js');
      expect(lines).toMatch(/^# [^\n]*use: deploy schedule\n$/);
      execFileSync('sh', ['-c', lines], { cwd: tmp });
      expect(pwned()).toEqual([]);
    }
  });

  it('writes a comment for a `\\` right before a `%`, which cron cannot carry', () => {
    const lines = crontabLines({ name: 'nightly', cron: '0 2 * * *' }, 'UTC', '/srv/a\\%b', '/usr/bin/node', '/x.js');
    expect(lines).toMatch(/^# [^\n]*use: deploy schedule\n$/);
  });

  it('keeps the comment for a cron expression with seconds', () => {
    expect(crontabLines({ name: 'nightly', cron: '0 0 2 * * *' }, 'UTC', '/srv/app', '/usr/bin/node', '/x.js')).toBe(
      '# nightly: "0 0 2 * * *" has seconds; the system cron cannot run it, use: deploy schedule\n',
    );
  });
});
