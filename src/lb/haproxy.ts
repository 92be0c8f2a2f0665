import { RelinkError } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { pollUntil } from '../poll.js';
import { haproxyApi, haproxyLine, haproxyServer } from '../remote/lb-commands.js';
import { Batcher, splitAnswers } from './batch.js';
import type { LbContext, LbDriver, LbFactory, LbRunner, ServerState } from './types.js';

export interface HaproxySettings {
  /** Admin socket path, or `host:port` of a TCP stats socket. */
  readonly socket: string;
  /** Talks to the socket directly when it is on this machine (else `run` sends it through `socat`). */
  readonly talk?: LbContext['talk'];
  readonly backend: string;
  /** Node name -> server name in the backend (default: the node name). */
  readonly serverOf: (node: NodeSpec) => string;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
}

/** Builds the HAProxy driver: a `host:port` socket stays as written, a socket path is resolved. */
export const haproxy: LbFactory<'haproxy'> = (spec, context) =>
  new HaproxyDriver(context.run, {
    talk: context.talk,
    socket: /^[\w.-]+:\d+$/.test(spec.socket) ? spec.socket : context.path(spec.socket),
    backend: spec.backend,
    serverOf: (n) => String(n.vars.lbServer ?? n.name),
    sleep: context.sleep,
    now: context.now,
  });

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

interface Snapshot {
  readonly stat: ReturnType<typeof parseShowStat>;
  readonly admin: Map<string, number>;
}

/** HAProxy through its runtime API: `set server <backend>/<server> state drain|ready|maint`, `show stat`. */
export class HaproxyDriver implements LbDriver {
  readonly kind = 'haproxy' as const;

  constructor(
    private readonly run: LbRunner,
    private readonly settings: HaproxySettings,
  ) {}

  private async api(line: string): Promise<string> {
    const { socket, talk } = this.settings;
    const result = await (talk ? talk(socket, line) : this.run(haproxyApi(socket), line));
    if (result.code !== 0) {
      const why = result.stderr.trim().split('\n').pop() ?? `exit ${result.code}`;
      throw new RelinkError(`HAProxy runtime API at ${this.settings.socket} did not answer: ${why}`, {
        hint:
          'check that HAProxy runs and that lb.socket in the inventory names its admin socket ' +
          '(stats socket ... level admin)',
      });
    }
    return result.stdout;
  }

  /**
   * The `show stat` being read now, shared by every waiter of a group instead of a channel each. A read
   * started before this driver's last state change is not shared: it may not show that change.
   */
  private reading: { changes: number; rows: Promise<Snapshot> } | undefined;
  private changes = 0;

  /** State changes given at the same moment (a group's drains, its put-backs and vouches) go as one line. */
  private readonly batch = new Batcher<string, string>(async (lines) => {
    const text = await this.api(`${lines.map((l) => l.trim()).join(';')}\n`).finally(() => this.changes++);
    return splitAnswers(text, lines.length).map((answer) => answer ?? '');
  });

  private snapshot(): Promise<Snapshot> {
    if (this.reading?.changes === this.changes) return this.reading.rows;
    // One round trip, two answers: `show stat` for health and sessions, `show servers state` for what was set.
    const servers = haproxyLine('show', 'servers', 'state', this.settings.backend);
    const line = `${haproxyLine('show', 'stat').trim()};${servers}`;
    const rows = this.api(line).then((text) => ({ stat: parseShowStat(text), admin: parseServersState(text) }));
    const reading = { changes: this.changes, rows };
    this.reading = reading;
    const done = () => {
      if (this.reading === reading) this.reading = undefined;
    };
    reading.rows.then(done, done);
    return reading.rows;
  }

  async states(nodes: readonly NodeSpec[]): Promise<Map<string, ServerState>> {
    const { backend, serverOf } = this.settings;
    const { stat: rows, admin } = await this.snapshot();
    const out = new Map<string, ServerState>();
    const unknown: string[] = [];
    for (const node of nodes) {
      const row = rows.get(`${backend}/${serverOf(node)}`);
      if (!row) unknown.push(`${node.name} (server ${serverOf(node)})`);
      else out.set(node.name, toServerState(row, admin.get(serverOf(node))));
    }
    if (unknown.length) {
      const known = [...rows.keys()]
        .filter((k) => k.startsWith(`${backend}/`) && !k.endsWith('/BACKEND'))
        .map((k) => k.split('/')[1]);
      const has = known.join(', ') || '(no such backend)';
      throw new RelinkError(`HAProxy backend "${backend}" does not know ${unknown.join(', ')}; it has: ${has}`, {
        hint: 'make the server names in HAProxy and the inventory agree (node name, or vars.lbServer)',
      });
    }
    return out;
  }

  private async setState(node: NodeSpec, state: ServerState['admin']): Promise<void> {
    let line: string;
    try {
      line = haproxyLine(
        'set',
        'server',
        haproxyServer(this.settings.backend, this.settings.serverOf(node)),
        'state',
        state,
      );
    } catch (error) {
      throw new RelinkError(`${node.name}: ${(error as Error).message}`, {
        hint: 'fix lb.backend or the node name / vars.lbServer in the inventory',
      });
    }
    const answer = (await this.batch.add(line)).trim();
    if (answer) throw new RelinkError(`HAProxy refused to set ${node.name} to ${state}: ${answer}`);
  }

  /** `set server <backend>/<server> health up`: HAProxy refuses it (and this says false) without health checks. */
  async vouch(node: NodeSpec): Promise<boolean> {
    const server = haproxyServer(this.settings.backend, this.settings.serverOf(node));
    const answer = await this.batch
      .add(haproxyLine('set', 'server', server, 'health', 'up'))
      .catch(() => 'unreachable');
    return answer.trim() === '';
  }

  drain(node: NodeSpec): Promise<void> {
    return this.setState(node, 'drain');
  }

  undrain(node: NodeSpec, to: ServerState['admin'] = 'ready'): Promise<void> {
    return this.setState(node, to);
  }

  private async state(node: NodeSpec): Promise<ServerState> {
    return (await this.states([node])).get(node.name)!;
  }

  waitDrained(node: NodeSpec, timeoutMs: number): Promise<boolean> {
    const idle = async () => ((await this.state(node)).sessions ?? 0) === 0;
    return pollUntil(this.settings, { timeoutMs, intervalMs: 50 }, idle);
  }

  async waitServing(node: NodeSpec, timeoutMs: number): Promise<void> {
    const serving = await pollUntil(this.settings, { timeoutMs, intervalMs: 100 }, async () => {
      const state = await this.state(node);
      return state.admin === 'ready' && state.up;
    });
    if (!serving) {
      throw new RelinkError(`${node.name}: HAProxy does not report it UP ${timeoutMs} ms after it was put back`, {
        hint: 'check the health check of the backend and the app on that node',
      });
    }
  }

  async restore(): Promise<void> {}
}
