import { RelinkError } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { pollUntil } from '../poll.js';
import { nginxMasterPid, nginxReload, nginxWorkers, readFile, writeFile } from '../remote/lb-commands.js';
import { Batcher } from './batch.js';
import type { LbDriver, LbFactory, LbRunner, NodeWeight, ServerState } from './types.js';
import { nginxWeightOf, withNginxWeight } from './weights.js';

export interface NginxSettings {
  /** The upstream include file nginx reads: `server 10.0.0.1:8080;` lines. */
  readonly upstreamFile: string;
  /** `nginx -p` and `-c`, when nginx is not the system one. */
  readonly prefix?: string;
  readonly config?: string;
  /** The master's pid file, to tell when the workers from before a reload are gone. */
  readonly pidFile: string;
  /** Node -> `address:port` as written in the upstream file. */
  readonly serverOf: (node: NodeSpec) => string;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
}

/** Builds the nginx driver: its files resolved, each node's server from vars.lbServer or the lb.server template. */
export const nginx: LbFactory<'nginx'> = (spec, context) =>
  new NginxDriver(context.run, {
    upstreamFile: context.path(spec.upstreamFile),
    prefix: spec.prefix && context.path(spec.prefix),
    config: spec.config && context.path(spec.config),
    pidFile: context.path(spec.pidFile),
    serverOf: (n) => String(n.vars.lbServer ?? context.render(spec.server, n, 'lb.server')),
    sleep: context.sleep,
    now: context.now,
  });

const SERVER = /^(\s*server\s+)(\S+)([^;]*);/;

/**
 * Marks or unmarks the server line of `address` as `down`; returns the new
 * text, or undefined if the server is not there.
 */
export function setDown(text: string, address: string, down: boolean): string | undefined {
  let found = false;
  const out = text.split('\n').map((line) => {
    const m = SERVER.exec(line);
    if (!m || m[2] !== address) return line;
    found = true;
    const params = m[3]!.replace(/\s+down\b/g, '');
    return line.replace(SERVER, `${m[1]}${m[2]}${params}${down ? ' down' : ''};`);
  });
  return found ? out.join('\n') : undefined;
}

/** Sets (or, undefined, removes) the `weight=` of the server line of `address`; undefined if it is not there. */
export function setWeight(text: string, address: string, weight: number | undefined): string | undefined {
  let found = false;
  const out = text.split('\n').map((line) => {
    const m = SERVER.exec(line);
    if (!m || m[2] !== address) return line;
    found = true;
    return line.replace(SERVER, `${m[1]}${m[2]}${withNginxWeight(m[3]!, weight)};`);
  });
  return found ? out.join('\n') : undefined;
}

/** The `weight=` of each server line (undefined: none, nginx's 1), by address. */
export function weightsIn(text: string): Map<string, number | undefined> {
  const weights = new Map<string, number | undefined>();
  for (const line of text.split('\n')) {
    const m = SERVER.exec(line);
    if (m) weights.set(m[2]!, nginxWeightOf(m[3]!));
  }
  return weights;
}

export function serversIn(text: string): Map<string, boolean> {
  const servers = new Map<string, boolean>();
  for (const line of text.split('\n')) {
    const m = SERVER.exec(line);
    if (m) servers.set(m[2]!, /\bdown\b/.test(m[3]!));
  }
  return servers;
}

/**
 * nginx through an upstream include file: drain marks the server `down`,
 * checks the config and reloads gracefully (old workers finish their
 * requests); undrain reverses it. The original file is put back on every exit
 * path if it was changed.
 */
export class NginxDriver implements LbDriver {
  readonly kind = 'nginx' as const;
  private original: string | undefined;
  private changed = false;
  /** Workers that were serving before the last reload: drained once they are all gone. */
  private before: number[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly run: LbRunner,
    private readonly settings: NginxSettings,
  ) {}

  /** nginx edits are read-modify-write of one file: one at a time. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async read(): Promise<string> {
    const result = await this.run(readFile(this.settings.upstreamFile));
    if (result.code !== 0) {
      const file = this.settings.upstreamFile;
      throw new RelinkError(`cannot read the nginx upstream file ${file}: ${result.stderr.trim()}`, {
        hint: 'check lb.upstreamFile in the inventory',
      });
    }
    this.original ??= result.stdout;
    return result.stdout;
  }

  private async workers(): Promise<number[]> {
    const master = await this.run(nginxMasterPid(this.settings.pidFile));
    const pid = Number(master.stdout.trim());
    if (master.code !== 0 || !Number.isInteger(pid) || pid <= 0) {
      throw new RelinkError(`cannot read the nginx pid file ${this.settings.pidFile}`, {
        hint: 'set lb.pidFile in the inventory',
      });
    }
    const workers = await this.run(nginxWorkers(pid));
    return workers.stdout
      .split('\n')
      .map(Number)
      .filter((n) => n > 0);
  }

  private async write(text: string): Promise<void> {
    this.before = await this.workers();
    const written = await this.run(writeFile(this.settings.upstreamFile), text);
    if (written.code !== 0) {
      throw new RelinkError(`cannot write ${this.settings.upstreamFile}: ${written.stderr.trim()}`);
    }
    this.changed = true;
    const reload = await this.run(nginxReload(this.settings.prefix, this.settings.config));
    if (reload.code !== 0) {
      throw new RelinkError(`nginx -t or reload failed: ${reload.stderr.trim().split('\n').slice(-3).join(' ')}`, {
        hint: 'the upstream file is restored when the run ends; check the nginx config',
      });
    }
  }

  async states(nodes: readonly NodeSpec[]): Promise<Map<string, ServerState>> {
    const { serverOf, upstreamFile } = this.settings;
    const servers = serversIn(await this.read());
    const unknown = nodes.filter((n) => !servers.has(serverOf(n)));
    if (unknown.length) {
      const missing = unknown.map((n) => `${n.name} (${serverOf(n)})`).join(', ');
      throw new RelinkError(`nginx upstream ${upstreamFile} does not list ${missing}`, {
        hint: 'make the upstream file and the inventory agree (vars.lbServer, or the address and appPort of the node)',
      });
    }
    const state = (n: NodeSpec): ServerState => ({ admin: servers.get(serverOf(n)) ? 'drain' : 'ready', up: true });
    return new Map(nodes.map((n) => [n.name, state(n)]));
  }

  /** A group's marks given at the same moment: one edit of the file and one reload for all of them. */
  private readonly marks = new Batcher<{ node: NodeSpec; down: boolean }, void>((marks) =>
    this.serial(async () => {
      let text = await this.read();
      for (const { node, down } of marks) {
        const next = setDown(text, this.settings.serverOf(node), down);
        if (next === undefined) {
          throw new RelinkError(`nginx upstream no longer lists ${node.name} (${this.settings.serverOf(node)})`);
        }
        text = next;
      }
      await this.write(text);
      return marks.map(() => undefined);
    }),
  );

  private mark(node: NodeSpec, down: boolean): Promise<void> {
    return this.marks.add({ node, down });
  }

  drain(node: NodeSpec): Promise<void> {
    return this.mark(node, true);
  }

  undrain(node: NodeSpec, to: ServerState['admin'] = 'ready'): Promise<void> {
    return this.mark(node, to !== 'ready');
  }

  /**
   * `nginx -s reload` returns before the new workers take over: drained once
   * every worker from before the reload has finished its requests and exited.
   */
  waitDrained(_node: NodeSpec, timeoutMs: number): Promise<boolean> {
    return pollUntil(this.settings, { timeoutMs, intervalMs: 50 }, async () => {
      const running = await this.workers();
      return !this.before.some((pid) => running.includes(pid));
    });
  }

  /** nginx has no active health checks here: serving once the reload that put the node back succeeded. */
  async waitServing(): Promise<void> {}

  /** Each server's `weight=` from before the first `weigh` of this run, by address. */
  private readonly normal = new Map<string, number | undefined>();

  /** Rewrites the servers' `weight=` (remembering the ones from before) and reloads, one edit for all. */
  weigh(weights: readonly NodeWeight[]): Promise<void> {
    return this.reweigh(weights.map((w) => [this.settings.serverOf(w.node), w.weight] as const));
  }

  private reweigh(weights: readonly (readonly [string, number | undefined])[]): Promise<void> {
    return this.serial(async () => {
      let text = await this.read();
      const before = weightsIn(text);
      for (const [address, weight] of weights) {
        const next = setWeight(text, address, weight);
        if (next === undefined) throw new RelinkError(`nginx upstream no longer lists ${address}`);
        if (!this.normal.has(address)) this.normal.set(address, before.get(address));
        text = next;
      }
      await this.write(text);
    });
  }

  async restoreWeights(): Promise<void> {
    if (this.normal.size === 0) return;
    const normal = [...this.normal];
    await this.reweigh(normal);
    for (const [address] of normal) this.normal.delete(address);
  }

  async restore(keepOut: readonly NodeSpec[] = []): Promise<void> {
    await this.serial(async () => {
      // The original file holds the weights from before as well.
      this.normal.clear();
      if (!this.changed || this.original === undefined) return;
      // The file as it was, but with the nodes the run leaves out marked down in it.
      let text = this.original;
      for (const node of keepOut) text = setDown(text, this.settings.serverOf(node), true) ?? text;
      await this.write(text);
      this.changed = false;
    });
  }
}
