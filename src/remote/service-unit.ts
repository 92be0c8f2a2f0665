// The systemd side of the `service` setting: the unit file relink writes on a node and the `systemctl`
// command lines that install, restart, stop and read it. A user unit lives in ~/.config/systemd/user and is
// driven with `systemctl --user` (it runs while the user lingers); a system unit in /etc/systemd/system.
import path from 'node:path/posix';
import type { Layout } from './paths.js';
import { and, op, type Command, type Token } from './tokens.js';

/** What the service setting says (ResolvedConfig['service']). */
export interface ServiceSpec {
  readonly manager: 'systemd' | 'start-stop-daemon';
  readonly unit: string;
  readonly user: boolean;
  readonly start: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly stopTimeoutMs: number;
}

/** Whose app it is, for the unit's description: the project and the environment. */
export interface ServiceOwner {
  readonly project: string;
  readonly env: string;
}

/** Where a user unit and a system unit live on the node. */
export const USER_UNIT_DIR = '.config/systemd/user';
export const SYSTEM_UNIT_DIR = '/etc/systemd/system';

/** `%` starts a specifier in every unit file value: written `%%`. */
const specifiers = (s: string) => s.replaceAll('%', '%%');
/** A double-quoted word of a unit file: backslash and quote escaped, then specifiers. */
const quoted = (s: string) => `"${specifiers(s.replaceAll('\\', '\\\\').replaceAll('"', '\\"'))}"`;

function oneLine(what: string, value: string): string {
  if (/[\n\r\0]/.test(value)) throw new Error(`${what} holds a line break: it cannot go into a unit file`);
  return value;
}

/**
 * The unit file: the start command run by /bin/sh in `<deployTo>/current` (resolved when the unit starts,
 * so a restart picks up the release `current` points at), restarted by systemd when it fails, enabled to
 * start at boot (a user unit with the user's manager, which lingering starts at boot).
 */
export function unitFile(spec: ServiceSpec, l: Layout, owner: ServiceOwner): string {
  // ExecStart expands $VAR itself: `$$` leaves a `$` for the shell.
  const start = quoted(oneLine('service.start', spec.start)).replaceAll('$', () => '$$');
  const env = Object.entries(spec.env).map(
    ([k, v]) => `Environment=${quoted(`${k}=${oneLine(`service.env.${k}`, v)}`)}`,
  );
  return [
    `# ${spec.unit}.service, written by relink on every restart from the service setting of ${owner.project}'s`,
    '# deploy.config.ts: edits here are overwritten.',
    '[Unit]',
    `Description=${specifiers(`${owner.project} (${owner.env}), deployed by relink`)}`,
    ...(spec.user ? [] : ['After=network.target']),
    '',
    '[Service]',
    'Type=exec',
    `WorkingDirectory=${specifiers(oneLine('deployTo', l.current))}`,
    ...env,
    `ExecStart=/bin/sh -c ${start}`,
    'Restart=on-failure',
    'RestartSec=1',
    `TimeoutStopSec=${spec.stopTimeoutMs}ms`,
    '',
    '[Install]',
    `WantedBy=${spec.user ? 'default.target' : 'multi-user.target'}`,
    '',
  ].join('\n');
}

/**
 * `systemctl` or `systemctl --user`. Over SSH without a PAM session XDG_RUNTIME_DIR may be unset: the user's
 * manager is then found at its usual place.
 */
function systemctl(spec: ServiceSpec, ...args: Token[]): Command {
  if (!spec.user) return ['systemctl', ...args];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not JavaScript.
  return [op('XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"'), 'systemctl', '--user', ...args];
}

/** The unit's directory: ~/.config/systemd/user (from the node's $HOME), or /etc/systemd/system. */
function unitDir(spec: ServiceSpec): Token {
  return spec.user ? op(`"$HOME"/${USER_UNIT_DIR}`) : SYSTEM_UNIT_DIR;
}

/** Writes the unit file (through a temp file and a rename), reloads systemd, enables and restarts the unit. */
export function systemdRestart(spec: ServiceSpec, l: Layout, owner: ServiceOwner): Command {
  const name = `${spec.unit}.service`;
  const tmp = `.${name}.relink-tmp`;
  return and(
    ['mkdir', '-p', unitDir(spec)],
    ['cd', unitDir(spec)],
    ['printf', '%s', unitFile(spec, l, owner), op('>'), tmp],
    ['mv', '-f', tmp, name],
    systemctl(spec, 'daemon-reload'),
    systemctl(spec, 'enable', '--quiet', name),
    systemctl(spec, 'restart', name),
  );
}

/** Stops the unit and disables it, so it does not start at boot either (its node has no release now). */
export function systemdStop(spec: ServiceSpec): Command {
  const name = `${spec.unit}.service`;
  return and(systemctl(spec, 'stop', name), systemctl(spec, 'disable', '--quiet', name));
}

/** Reads the unit's state: key=value lines (LoadState, ActiveState, SubState, MainPID, UnitFileState). */
export function systemdStatus(spec: ServiceSpec): Command {
  return systemctl(
    spec,
    'show',
    '--property=LoadState,ActiveState,SubState,MainPID,UnitFileState',
    '--',
    `${spec.unit}.service`,
  );
}

/** The unit's file on the node, relative to $HOME for a user unit. */
export function unitPath(spec: ServiceSpec): string {
  return path.join(spec.user ? `~/${USER_UNIT_DIR}` : SYSTEM_UNIT_DIR, `${spec.unit}.service`);
}
