import { RelinkError } from '../errors.js';
import type { NodeSpec } from '../inventory/types.js';
import { pollUntil } from '../poll.js';
import { userCommand } from '../remote/lb-commands.js';
import type { LbDriver, LbFactory, LbRunner, ServerState } from './types.js';

export interface CommandSettings {
  readonly drain: string;
  readonly undrain: string;
  /** Exit 0 when the node is in the pool and serving. Optional. */
  readonly check?: string;
  readonly env: (node: NodeSpec) => Record<string, string>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
}

/** Builds the command driver: the user's commands, each run with the RELINK_* environment of its node. */
export const commandHooks: LbFactory<'command'> = (spec, context) =>
  new CommandDriver(context.run, {
    drain: spec.drain,
    undrain: spec.undrain,
    check: spec.check,
    env: context.env,
    sleep: context.sleep,
    now: context.now,
  });

/** User commands for drain, undrain and check: for cloud load balancers and anything else with a CLI. */
export class CommandDriver implements LbDriver {
  readonly kind = 'command' as const;

  constructor(
    private readonly run: LbRunner,
    private readonly settings: CommandSettings,
  ) {}

  private async exec(what: string, command: string, node: NodeSpec): Promise<boolean> {
    const result = await this.run(userCommand(command, this.settings.env(node)));
    if (result.code !== 0 && what !== 'check') {
      const why = result.stderr.trim().split('\n').pop() ?? '';
      throw new RelinkError(`${node.name}: lb ${what} command failed (exit ${result.code}): ${why}`);
    }
    return result.code === 0;
  }

  async states(nodes: readonly NodeSpec[]): Promise<Map<string, ServerState>> {
    const check = this.settings.check;
    const out = new Map<string, ServerState>();
    for (const node of nodes) {
      out.set(node.name, { admin: 'ready', up: check ? await this.exec('check', check, node) : true });
    }
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
    const check = this.settings.check;
    if (!check) return;
    const passes = () => this.exec('check', check, node);
    const passed = await pollUntil(this.settings, { timeoutMs, intervalMs: 200 }, passes);
    if (!passed) throw new RelinkError(`${node.name}: lb check still fails ${timeoutMs} ms after undrain`);
  }

  async restore(): Promise<void> {}
}
