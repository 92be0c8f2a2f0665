import fs from 'node:fs';
import path from 'node:path';
import { LockError, errorMessage } from '../errors.js';
import { printable } from '../log/listing.js';
import { isId, isPid, isText, isTime, isVersion } from '../remote/node-values.js';
import { isMachineId, thisMachine } from './machine-id.js';

/** The record inside `.relink/lock/owner.json` on every node. */
export interface LockOwner {
  readonly run: string;
  /** `run` for a deploy or rollback in progress, `freeze` for `deploy lock -m`. */
  readonly kind: 'run' | 'freeze';
  readonly user: string;
  readonly host: string;
  readonly pid: number;
  /** The id of the machine the run's process runs on (machine-id.ts); absent in records of older relink. */
  readonly machine?: string;
  readonly command: string;
  readonly version?: string;
  readonly message?: string;
  readonly since: string;
  readonly heartbeat: string;
}

/**
 * The owner record read from a node, checked: a record whose run, kind, pid or times are not what
 * relink writes is unreadable (undefined: the lock is held by an unknown run, never taken over as
 * dead); a version or message that fails its check is left out.
 */
export function parseOwner(raw: string | undefined): LockOwner | undefined {
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const o = parsed as Record<string, unknown>;
  // A record without `kind` or `heartbeat` (written by hand, or by an older relink) is a run's, last seen `since`.
  const kind = o.kind === undefined ? 'run' : o.kind === 'run' || o.kind === 'freeze' ? o.kind : undefined;
  const heartbeat = o.heartbeat === undefined ? o.since : o.heartbeat;
  if (!kind || !isId(o.run) || !isPid(o.pid) || !isTime(o.since) || !isTime(heartbeat)) return undefined;
  if (!isText(o.user) || !isText(o.host) || !isText(o.command)) return undefined;
  return {
    run: o.run,
    kind,
    user: o.user,
    host: o.host,
    pid: o.pid,
    ...(isMachineId(o.machine) ? { machine: o.machine } : {}),
    command: o.command,
    ...(isVersion(o.version) ? { version: o.version } : {}),
    ...(isText(o.message) ? { message: o.message } : {}),
    since: o.since,
    heartbeat,
  };
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${s % 60}s`
      : `${s}s`;
}

/**
 * Whether a run's process is provably gone: its pid is not running here, and here is the machine that
 * wrote the record (the same machine id; a host name is not enough: two CI containers may share
 * one). An owner without a machine id (older relink) is never judged so, only by its heartbeat.
 */
export function pidGone(owner: LockOwner, here: string | undefined, running: (pid: number) => boolean = alive) {
  return owner.kind !== 'freeze' && owner.machine !== undefined && owner.machine === here && !running(owner.pid);
}

/** Whether a lock's owner looks dead: no heartbeat within the TTL, or its pid gone on this very machine. */
export function lockHealth(
  owner: LockOwner,
  now: Date,
  ttlMs: number,
  machine = thisMachine(),
): { stale: boolean; deadPid: boolean; heartbeatAgeMs: number } {
  const heartbeatAgeMs = now.getTime() - Date.parse(owner.heartbeat ?? owner.since);
  const deadPid = pidGone(owner, machine);
  return { stale: owner.kind !== 'freeze' && heartbeatAgeMs > ttlMs, deadPid, heartbeatAgeMs };
}

/** "ana on laptop (pid 4242, run r1) since 17:02:03 UTC, 2m3s ago: deploy prod v1.1.0", with stale/dead notes. */
export function describeOwner(raw: string | undefined, now: Date, ttlMs = 120_000): string {
  if (!raw) return 'an unknown run (no owner record)';
  const o = parseOwner(raw);
  if (!o) return `an unreadable owner record: ${printable(raw.slice(0, 80))}`;
  const since = `since ${o.since.slice(11, 19)} UTC, ${age(now.getTime() - Date.parse(o.since))} ago`;
  const [user, host, command, message] = [o.user, o.host, o.command, o.message].map((t) => printable(t));
  if (o.kind === 'freeze') return `a freeze by ${user} on ${host} (run ${o.run}) ${since}: ${message}`.trim();
  const h = lockHealth(o, now, ttlMs);
  const notes = [
    h.stale ? `STALE: no heartbeat for ${age(h.heartbeatAgeMs)}` : '',
    h.deadPid ? `pid ${o.pid} is not running on this machine` : '',
  ].filter(Boolean);
  const noted = notes.length ? ` [${notes.join('; ')}]` : '';
  return `${user} on ${host} (pid ${o.pid}, run ${o.run}) ${since}: ${command}${noted}`;
}

/**
 * Local lock first (two runs on one machine), with proper-lockfile; its
 * release function is returned. The pid of the holder is kept beside it, so a
 * lock left by a killed process is taken over at once instead of after the
 * stale timeout.
 */
export async function acquireLocalLock(stateDir: string, env: string): Promise<() => Promise<void>> {
  const { default: lockfile } = await import('proper-lockfile');
  fs.mkdirSync(stateDir, { recursive: true });
  const target = path.join(stateDir, `deploy-${env}`);
  const pidFile = `${target}.pid`;
  const options = {
    realpath: false,
    stale: 30_000,
    update: 5_000,
    onCompromised: (error: Error) => {
      process.stderr.write(
        `warning: the local deploy lock ${target}.lock was taken over or removed: ${error.message}\n`,
      );
    },
  };
  const take = async () => {
    const release = await lockfile.lock(target, options);
    fs.writeFileSync(pidFile, String(process.pid));
    return async () => {
      fs.rmSync(pidFile, { force: true });
      await release();
    };
  };
  try {
    return await take();
  } catch (error) {
    const holder = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : NaN;
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      fs.rmSync(`${target}.lock`, { recursive: true, force: true });
      return take();
    }
    const pid = Number.isInteger(holder) ? `, pid ${holder}` : '';
    throw new LockError(`another relink run on this machine holds the local lock for ${env} (${target}.lock${pid})`, {
      hint: `wait for it to finish; if no relink process is running, remove ${target}.lock (${errorMessage(error)})`,
    });
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
