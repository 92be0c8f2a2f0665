// The verbs of the `service` setting, whichever manager runs the app: restart (install it and start it from
// `current`), stop (and no start at boot), status, and what `deploy doctor` asks a node about it.
import { isPid } from './node-values.js';
import type { Layout } from './paths.js';
import {
  bootMarker,
  daemonPaths,
  daemonRestart,
  daemonStatus,
  daemonStopAll,
  START_STOP_DAEMON,
} from './service-daemon.js';
import {
  type ServiceOwner,
  type ServiceSpec,
  systemdRestart,
  systemdStatus,
  systemdStop,
  unitPath,
} from './service-unit.js';
import { and, group, op, or, seq, type Command } from './tokens.js';

export type { ServiceOwner, ServiceSpec };

/** Where the service's app runs and logs: the node's layout and the logs dir under deployTo. */
export interface ServicePlace extends ServiceOwner {
  readonly layout: Layout;
  readonly logsDir: string;
}

export function serviceRestart(spec: ServiceSpec, at: ServicePlace): Command {
  if (spec.manager === 'systemd') return systemdRestart(spec, at.layout, at);
  return daemonRestart(spec, at.layout, daemonPaths(spec, at.layout, at.logsDir));
}

export function serviceStop(spec: ServiceSpec, at: ServicePlace): Command {
  if (spec.manager === 'systemd') return systemdStop(spec);
  return daemonStopAll(spec, daemonPaths(spec, at.layout, at.logsDir));
}

export function serviceStatus(spec: ServiceSpec, at: ServicePlace): Command {
  if (spec.manager === 'systemd') return systemdStatus(spec);
  return daemonStatus(spec, daemonPaths(spec, at.layout, at.logsDir));
}

/** The restart of a plan, in words: which manager restarts which unit, and what it runs. */
export function serviceDetail(spec: ServiceSpec): string {
  if (spec.manager === 'start-stop-daemon') return `start-stop-daemon restarts ${spec.unit}: ${spec.start}`;
  const unit = `${spec.unit}.service`;
  return `${spec.user ? 'systemctl --user' : 'systemctl'} restart ${unit} (${unitPath(spec)}): ${spec.start}`;
}

/** What the manager says of the app: running or not, in words (`active (running), pid 812, enabled`). */
export interface ServiceState {
  readonly running: boolean;
  readonly text: string;
}

const keyValues = (stdout: string) =>
  new Map(
    stdout
      .split('\n')
      .filter((line) => /^\w+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1).trim()] as const),
  );

/** A word the manager printed, or `?`: only letters, digits and `-` reach a listing. */
const word = (value: string | undefined) => (value && /^[A-Za-z0-9._-]{1,40}$/.test(value) ? value : '?');

const pidOf = (value: string | undefined) => {
  const pid = Number(value);
  return isPid(pid) ? pid : undefined;
};

/** Reads serviceStatus's answer (nothing the node says is trusted: only words and a pid are kept). */
export function parseServiceStatus(spec: ServiceSpec, stdout: string): ServiceState {
  const kv = keyValues(stdout);
  if (spec.manager === 'systemd') {
    if (kv.get('LoadState') === 'not-found') return { running: false, text: `${spec.unit}.service not installed` };
    const active = word(kv.get('ActiveState'));
    const pid = pidOf(kv.get('MainPID'));
    const parts = [`${active} (${word(kv.get('SubState'))})`, pid ? `pid ${pid}` : '', word(kv.get('UnitFileState'))];
    return { running: active === 'active', text: parts.filter(Boolean).join(', ') };
  }
  const status = kv.get('status');
  const pid = pidOf(kv.get('pid'));
  const boot = kv.get('boot') === 'yes' ? 'starts at boot' : 'NOT started at boot (no crontab line)';
  const state =
    status === '0'
      ? `running${pid ? `, pid ${pid}` : ''}`
      : status === '1'
        ? 'dead (its pid file is left)'
        : status === '3'
          ? 'not running'
          : 'unknown';
  return { running: status === '0', text: `${state}, ${boot}` };
}

const yesNo = (key: string, test: Command): Command =>
  group(or(and(test, ['echo', `${key}=yes`]), ['echo', `${key}=no`]));
const has = (tool: string): Command => ['command', '-v', tool, op('>/dev/null')];

/**
 * What the manager needs on the node, changing nothing: systemctl, and for a user unit whether the user
 * lingers (its manager starts at boot and outlives its sessions); start-stop-daemon and crontab for the
 * fallback.
 */
export function serviceProbe(spec: ServiceSpec): Command {
  if (spec.manager === 'start-stop-daemon')
    return seq(yesNo('ssd', ['test', '-x', START_STOP_DAEMON]), yesNo('crontab', has('crontab')));
  return seq(
    ['echo', op('"user=$(id -un)"')],
    yesNo('systemctl', has('systemctl')),
    group(or(['loginctl', 'show-user', '--property=Linger', op('"$(id -un)"'), op('2>/dev/null')], ['true'])),
    yesNo('lingerfile', ['test', '-e', op('/var/lib/systemd/linger/"$(id -un)"')]),
  );
}

/** serviceProbe's answer as a doctor check: whether it blocks, and what it found. */
export function serviceCheck(spec: ServiceSpec, stdout: string): { ok: boolean; detail: string } {
  const kv = keyValues(stdout);
  if (spec.manager === 'start-stop-daemon') {
    const ok = kv.get('ssd') === 'yes' && kv.get('crontab') === 'yes';
    const tools = `${START_STOP_DAEMON} ${kv.get('ssd') === 'yes' ? 'yes' : 'MISSING'}, crontab ${
      kv.get('crontab') === 'yes' ? 'yes' : 'MISSING (cron)'
    }`;
    return { ok, detail: `${spec.unit} by start-stop-daemon, at boot by cron (${bootMarker(spec)}): ${tools}` };
  }
  const unit = `${spec.user ? 'user' : 'system'} unit ${spec.unit}.service`;
  if (kv.get('systemctl') !== 'yes') return { ok: false, detail: `${unit}: systemctl MISSING (no systemd here?)` };
  if (!spec.user) return { ok: true, detail: `${unit}, systemctl yes` };
  const user = word(kv.get('user'));
  const lingers = kv.get('Linger') === 'yes' || kv.get('lingerfile') === 'yes';
  return lingers
    ? { ok: true, detail: `${unit}, systemctl yes, ${user} lingers` }
    : {
        ok: false,
        detail:
          `${unit}: ${user} does not linger, so the app stops when its last session ends and does not start ` +
          `at boot; as root: loginctl enable-linger ${user}`,
      };
}
