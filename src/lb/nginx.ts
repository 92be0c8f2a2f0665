import { RelinkError } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { nginxMasterPid, nginxReload, nginxWorkers, readFile, writeFile } from '../remote/lb-commands.js';
import type { LbDriver, LbRunner, ServerState } from './types.js';

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
}

const SERVER = /^(\s*server\s+)(\S+)([^;]*);/;

/** Marks or unmarks the server line of `address` as `down`; returns the new text, or undefined if the server is not there. */
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
      throw new RelinkError(`cannot read the nginx upstream file ${this.settings.upstreamFile}: ${result.stderr.trim()}`, { hint: 'check lb.upstreamFile in the inventory' });
    }
    this.original ??= result.stdout;
    return result.stdout;
  }

  private async workers(): Promise<number[]> {
    const master = await this.run(nginxMasterPid(this.settings.pidFile));
    const pid = Number(master.stdout.trim());
    if (master.code !== 0 || !Number.isInteger(pid) || pid <= 0) throw new RelinkError(`cannot read the nginx pid file ${this.settings.pidFile}`, { hint: 'set lb.pidFile in the inventory' });
    return (await this.run(nginxWorkers(pid))).stdout.split('\n').map(Number).filter((n) => n > 0);
  }

  private async write(text: string): Promise<void> {
    this.before = await this.workers();
    const written = await this.run(writeFile(this.settings.upstreamFile), text);
    if (written.code !== 0) throw new RelinkError(`cannot write ${this.settings.upstreamFile}: ${written.stderr.trim()}`);
    this.changed = true;
    const reload = await this.run(nginxReload(this.settings.prefix, this.settings.config));
    if (reload.code !== 0) throw new RelinkError(`nginx -t or reload failed: ${reload.stderr.trim().split('\n').slice(-3).join(' ')}`, { hint: 'the upstream file is restored when the run ends; check the nginx config' });
  }

  async states(nodes: readonly NodeSpec[]): Promise<Map<string, ServerState>> {
    const servers = serversIn(await this.read());
    const unknown = nodes.filter((n) => !servers.has(this.settings.serverOf(n)));
    if (unknown.length) {
      throw new RelinkError(`nginx upstream ${this.settings.upstreamFile} does not list ${unknown.map((n) => `${n.name} (${this.settings.serverOf(n)})`).join(', ')}`, {
        hint: 'make the upstream file and the inventory agree (vars.lbServer, or the address and appPort of the node)',
      });
    }
    return new Map(nodes.map((n) => [n.name, { admin: servers.get(this.settings.serverOf(n)) ? 'drain' : 'ready', up: true } as ServerState]));
  }

  private mark(node: NodeSpec, down: boolean): Promise<void> {
    return this.serial(async () => {
      const text = setDown(await this.read(), this.settings.serverOf(node), down);
      if (text === undefined) throw new RelinkError(`nginx upstream no longer lists ${node.name} (${this.settings.serverOf(node)})`);
      await this.write(text);
    });
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
  async waitDrained(_node: NodeSpec, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await this.workers();
      if (!this.before.some((pid) => now.includes(pid))) return true;
      if (Date.now() >= deadline) return false;
      await this.settings.sleep(50);
    }
  }

  /** nginx has no active health checks here: serving once the reload that put the node back succeeded. */
  async waitServing(): Promise<void> {}

  async restore(): Promise<void> {
    await this.serial(async () => {
      if (!this.changed || this.original === undefined) return;
      await this.write(this.original);
      this.changed = false;
    });
  }
}
