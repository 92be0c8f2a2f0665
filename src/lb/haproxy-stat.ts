// What HAProxy's runtime API says of its servers (`show stat`, `show servers state`), read into ServerState.
import type { ServerState } from './types.js';

/** Parses `show stat` CSV into rows keyed by `backend/server`. */
export function parseShowStat(csv: string): Map<string, { status: string; scur: number }> {
  const lines = csv.split('\n').filter((l) => l.trim());
  const header = lines.shift()?.replace(/^#\s*/, '').split(',') ?? [];
  const col = (name: string) => header.indexOf(name);
  const [px, sv, status, scur] = [col('pxname'), col('svname'), col('status'), col('scur')];
  const rows = new Map<string, { status: string; scur: number }>();
  if (px < 0 || sv < 0 || status < 0 || scur < 0) return rows;
  for (const line of lines) {
    const f = line.split(',');
    rows.set(`${f[px]}/${f[sv]}`, { status: f[status] ?? '', scur: Number(f[scur] ?? 0) });
  }
  return rows;
}

/**
 * Parses `show servers state <backend>` into each server's admin state bits
 * (srv_admin_state): what was set, which `show stat` hides once a drained
 * server fails its checks (it then says only DOWN).
 */
export function parseServersState(text: string): Map<string, number> {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('# be_id'));
  const admins = new Map<string, number>();
  if (at < 0) return admins;
  const header = lines[at]!.replace(/^#\s*/, '').split(' ');
  const [name, admin] = [header.indexOf('srv_name'), header.indexOf('srv_admin_state')];
  for (const line of lines.slice(at + 1)) {
    const f = line.trim().split(' ');
    if (f.length > Math.max(name, admin) && name >= 0 && admin >= 0) admins.set(f[name]!, Number(f[admin]));
  }
  return admins;
}

/** srv_admin_state bits: forced, inherited, config and resolver maintenance; forced and inherited drain. */
const MAINT_BITS = 0x01 | 0x02 | 0x04 | 0x20;
const DRAIN_BITS = 0x08 | 0x10;

export function toServerState(row: { status: string; scur: number }, adminBits?: number): ServerState {
  const s = row.status.toUpperCase();
  const set = adminBits === undefined ? undefined : adminBits & MAINT_BITS ? 'maint' : adminBits & DRAIN_BITS;
  const shown = s.startsWith('MAINT') ? 'maint' : s.startsWith('DRAIN') ? 'drain' : 'ready';
  const admin = set === 'maint' ? 'maint' : set ? 'drain' : set === 0 ? 'ready' : shown;
  // "DRAIN" hides the check result; a drained server that answers checks is "DRAIN", a failing one
  // "DRAIN (DOWN)"-like.
  const up = !s.includes('DOWN') && !s.startsWith('MAINT') && !s.startsWith('NOLB');
  return { admin, up, sessions: row.scur };
}
