// The fallback of the `service` setting for nodes without systemd: dpkg's start-stop-daemon starts the app in
// the background with a pid file and stops it by that pid file, and an `@reboot` line in the SSH user's
// crontab starts it again when the node boots (cron runs it). Nothing of relink's own keeps running.
import path from 'node:path/posix';
import type { Layout } from './paths.js';
import type { ServiceSpec } from './service-unit.js';
import { and, group, op, or, render, seq, type Command } from './tokens.js';

/** Its full path: the SSH user's PATH (and cron's) may lack /usr/sbin; /sbin holds it before and after usrmerge. */
export const START_STOP_DAEMON = '/sbin/start-stop-daemon';

/** Where the fallback keeps its pid file and the app's output, on the node. */
export interface DaemonPaths {
  readonly pidFile: string;
  readonly logFile: string;
}

/** The pid file under `<deployTo>/.relink`, the app's output in the logs dir (`deploy logs` reads it). */
export function daemonPaths(spec: ServiceSpec, l: Layout, logsDir: string): DaemonPaths {
  return {
    pidFile: path.join(l.state, `service-${spec.unit}.pid`),
    logFile: path.join(l.deployTo, logsDir, `${spec.unit}.log`),
  };
}

/** What ends the crontab line of this service: finds it again, and only it. */
export const bootMarker = (spec: ServiceSpec) => `#relink-service:${spec.unit}:`;

/**
 * Starts the app unless its pid file names a live process: `sh -c <start>` in `current` (followed now, so it
 * runs the release `current` points at), in a session of its own, output appended to the log file.
 */
export function daemonStart(spec: ServiceSpec, l: Layout, p: DaemonPaths): Command {
  const env = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  return and(
    ['mkdir', '-p', path.dirname(p.pidFile), path.dirname(p.logFile)],
    [
      START_STOP_DAEMON,
      '--start',
      '--quiet',
      '--background',
      '--make-pidfile',
      '--pidfile',
      p.pidFile,
      '--chdir',
      l.current,
      '--output',
      p.logFile,
      '--startas',
      '/usr/bin/env',
      '--',
      ...env,
      '/bin/sh',
      '-c',
      spec.start,
    ],
  );
}

/** Stops the process the pid file names: SIGTERM, SIGKILL after stopTimeoutMs; fine when none runs. */
export function daemonStop(spec: ServiceSpec, p: DaemonPaths): Command {
  return [
    START_STOP_DAEMON,
    '--stop',
    '--quiet',
    '--oknodo',
    '--pidfile',
    p.pidFile,
    '--remove-pidfile',
    '--retry',
    `TERM/${Math.ceil(spec.stopTimeoutMs / 1000)}/KILL/5`,
  ];
}

/**
 * The crontab line that starts the app at boot: a pid file left from before the reboot names nothing (or
 * another process) now, so it goes first. `%` is special in a crontab line: escaped.
 */
export function bootLine(spec: ServiceSpec, l: Layout, p: DaemonPaths): string {
  const command = seq(['rm', '-f', p.pidFile], daemonStart(spec, l, p));
  return `@reboot ${render(command).replaceAll('%', '\\%')} ${bootMarker(spec)}`;
}

/** The user's crontab without this service's line, then the line: installs it once, whatever was there. */
function installBoot(spec: ServiceSpec, l: Layout, p: DaemonPaths): Command {
  const others = ['crontab', '-l', op('2>/dev/null'), op('|'), 'grep', '-vF', '--', bootMarker(spec)];
  return [...group(seq(others, ['echo', bootLine(spec, l, p)])), op('|'), 'crontab', '-'];
}

/** Removes this service's crontab line (a node with no release starts nothing at boot). */
function removeBoot(spec: ServiceSpec): Command {
  const others = ['crontab', '-l', op('2>/dev/null'), op('|'), 'grep', '-vF', '--', bootMarker(spec)];
  return [...group(or(others, ['true'])), op('|'), 'crontab', '-'];
}

/** restart: the boot line in place, the running app stopped, started again from `current`. */
export function daemonRestart(spec: ServiceSpec, l: Layout, p: DaemonPaths): Command {
  return and(installBoot(spec, l, p), daemonStop(spec, p), daemonStart(spec, l, p));
}

/** stop: the app stopped, and no longer started at boot. */
export function daemonStopAll(spec: ServiceSpec, p: DaemonPaths): Command {
  return and(daemonStop(spec, p), removeBoot(spec));
}

/**
 * status: `status=` start-stop-daemon's answer (0 running, 1 dead with a pid file left, 3 not running,
 * 4 unknown), `pid=` the pid file's first line, `boot=` whether the crontab holds the line.
 */
export function daemonStatus(spec: ServiceSpec, p: DaemonPaths): Command {
  const boot = ['crontab', '-l', op('2>/dev/null'), op('|'), 'grep', '-qF', '--', bootMarker(spec)];
  return seq(
    [START_STOP_DAEMON, '--status', '--pidfile', p.pidFile],
    ['echo', op('"status=$?"')],
    ['printf', 'pid=%s\\n', op('"$(head -n 1'), p.pidFile, op('2>/dev/null)"')],
    group(or(and(boot, ['echo', 'boot=yes']), ['echo', 'boot=no'])),
  );
}
