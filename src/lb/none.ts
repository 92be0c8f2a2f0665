import type { NodeSpec } from '../inventory/types.js';
import type { LbDriver, LbFactory, ServerState } from './types.js';

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

export const none: LbFactory<'none'> = () => new NoLb();
