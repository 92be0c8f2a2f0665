import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What relink writes: 128 random bits as 32 hex digits. An override (RELINK_MACHINE_ID) may be any short word. */
const MACHINE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** A machine id as relink writes it, or an override of the same shape: nothing else is compared. */
export function isMachineId(value: unknown): value is string {
  return typeof value === 'string' && MACHINE.test(value);
}

/** Where the id lives: relink's local state on this machine (`$XDG_STATE_HOME/relink/machine-id`). */
export function machineIdFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME?.startsWith('/') ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'relink', 'machine-id');
}

function read(file: string): string | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return /^[0-9a-f]{32}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes a new id beside `file` (mode 0600) and links it into place: `link` fails when the file
 * exists, so two processes that start at once both end up with the one that got there first. A
 * file that holds something else than an id is replaced (rename).
 */
function create(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const id = crypto.randomBytes(16).toString('hex');
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, `${id}\n`, { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
    return id;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const theirs = read(file);
    if (theirs) return theirs;
    fs.renameSync(tmp, file);
    return id;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

let cached: { file: string; id: string } | undefined;

/**
 * This machine's id, made once and kept: a lock owner's pid is checked only on the machine with its
 * id (two CI containers or deploy machines may share a host name). RELINK_MACHINE_ID overrides it.
 */
export function machineId(env: NodeJS.ProcessEnv = process.env): string {
  if (isMachineId(env.RELINK_MACHINE_ID)) return env.RELINK_MACHINE_ID;
  const file = machineIdFile(env);
  if (cached?.file === file) return cached.id;
  const id = read(file) ?? create(file);
  cached = { file, id };
  return id;
}

/** machineId, or undefined when relink's local state can be neither read nor written: no pid is judged then. */
export function thisMachine(): string | undefined {
  try {
    return machineId();
  } catch {
    return undefined;
  }
}
