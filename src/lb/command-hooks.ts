import { RelinkError } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { userCommand } from '../remote/lb-commands.js';
import type { LbDriver, LbRunner, ServerState } from './types.js';

export interface CommandSettings {
  readonly drain: string;
  readonly undrain: string;
  /** Exit 0 when the node is in the pool and serving. Optional. */
  readonly check?: string;
  readonly env: (node: NodeSpec) => Record<string, string>;
  readonly sleep: (ms: number) => Promise<void>;
}

/** User commands for drain, undrain and check: for cloud load balancers and anything else with a CLI. */
export class CommandDriver implements LbDriver {
  readonly kind = 'command' as const;

  constructor(
    private readonly run: LbRunner,
    private readonly settings: CommandSettings,
  ) {}

  private async exec(what: string, command: string, node: NodeSpec): Promise<boolean> {
    const result = await this.run(userCommand(command, this.settings.env(node)));
    if (result.code !== 0 && what !== 'check') throw new RelinkError(`${node.name}: lb ${what} command failed (exit ${result.code}): ${result.stderr.trim().split('\n').pop() ?? ''}`);
    return result.code === 0;
  }

  async states(nodes: readonly NodeSpec[]): Promise<Map<string, ServerState>> {
    const out = new Map<string, ServerState>();
    for (const node of nodes) out.set(node.name, { admin: 'ready', up: this.settings.check ? await this.exec('check', this.settings.check, node) : true });
    return out;
  }

  async drain(node: NodeSpec): Promise<void> {
    await this.exec('drain', this.settings.drain, node);
  }

  async undrain(node: NodeSpec): Promise<void> {
    await this.exec('undrain', this.settings.undrain, node);
  }

  async waitDrained(): Promise<boolean> {
    return true;
  }

  async waitServing(node: NodeSpec, timeoutMs: number): Promise<void> {
    if (!this.settings.check) return;
    const deadline = Date.now() + timeoutMs;
    while (!(await this.exec('check', this.settings.check, node))) {
      if (Date.now() >= deadline) throw new RelinkError(`${node.name}: lb check still fails ${timeoutMs} ms after undrain`);
      await this.settings.sleep(200);
    }
  }

  async restore(): Promise<void> {}
}

/** No load balancer: nothing to drain. */
export class NoLb implements LbDriver {
  readonly kind = 'none' as const;
  async states(nodes: readonly NodeSpec[]): Promise<Map<string, ServerState>> {
    return new Map(nodes.map((n) => [n.name, { admin: 'ready', up: true }]));
  }
  async drain(): Promise<void> {}
  async waitDrained(): Promise<boolean> {
    return true;
  }
  async undrain(): Promise<void> {}
  async waitServing(): Promise<void> {}
  async restore(): Promise<void> {}
}
