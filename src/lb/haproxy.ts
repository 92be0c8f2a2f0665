import { RelinkError } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { pollUntil } from '../poll.js';
import { haproxyApi, haproxyLine, haproxyServer } from '../remote/lb-commands.js';
import { Batcher, splitAnswers } from './batch.js';
import type { LbContext, LbDriver, LbFactory, LbRunner, NodeWeight, ServerState } from './types.js';
import { parseWeight } from './weights.js';
import { parseServersState, parseShowStat, toServerState } from './haproxy-stat.js';

export { parseServersState, parseShowStat, toServerState } from './haproxy-stat.js';

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

  /** Each server's weight from before the first `set weight` of this run, by server name. */
  private readonly normal = new Map<string, number>();

  private server(node: NodeSpec): string {
    return haproxyServer(this.settings.backend, this.settings.serverOf(node));
  }

  /** `get weight` of the servers not read yet, then one `set weight <backend>/<server> <w>` each. */
  async weigh(weights: readonly NodeWeight[]): Promise<void> {
    const fresh = [...new Set(weights.map((w) => this.server(w.node)))].filter((s) => !this.normal.has(s));
    const read = await Promise.all(fresh.map((s) => this.batch.add(haproxyLine('get', 'weight', s))));
    for (const [i, server] of fresh.entries()) {
      const weight = parseWeight(read[i]!);
      if (weight === undefined) {
        const said = JSON.stringify(read[i]!.trim().slice(0, 80));
        throw new RelinkError(`HAProxy answered ${said} for the weight of ${server}, not a weight of 0-256`);
      }
      this.normal.set(server, weight);
    }
    await this.setWeights(weights.map((w) => [this.server(w.node), w.weight] as const));
  }

  private async setWeights(weights: readonly (readonly [string, number])[]): Promise<void> {
    const lines = weights.map(([server, weight]) => haproxyLine('set', 'weight', server, String(weight)));
    const answers = await Promise.all(lines.map((line) => this.batch.add(line)));
    const refused = answers.map((a, i) => [weights[i]![0], a.trim()] as const).filter(([, a]) => a !== '');
    if (refused.length) {
      const [server, answer] = refused[0]!;
      throw new RelinkError(`HAProxy refused to set the weight of ${server}: ${answer}`, {
        hint: 'traffic steps need a backend whose balance algorithm takes weights at run time (roundrobin, leastconn)',
      });
    }
  }

  async restoreWeights(): Promise<void> {
    if (this.normal.size === 0) return;
    const normal = [...this.normal];
    await this.setWeights(normal);
    for (const [server] of normal) this.normal.delete(server);
  }

  /** The weights this run changed go back (every exit path calls it). */
  async restore(): Promise<void> {
    await this.restoreWeights();
  }
}
