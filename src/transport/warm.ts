import type { NodeSpec } from '../inventory/types.js';
import type { NodeSession, Transport } from './types.js';

/** The same node: name and where it is reached (a session opened for one is not handed to another). */
const keyOf = (node: NodeSpec) => `${node.name} ${node.user}@${node.address}:${node.port} ${node.proxyJump ?? ''}`;

/**
 * Opens the connections of a run early: `warm(nodes)` starts connecting at
 * once (while this machine loads the rest of the run, fetches the repository
 * and resolves the version); the run's own `connect` of a node then takes the
 * early connection, once, or its error, exactly as its own connect would have
 * ended. Connections the run never claimed are closed by `close()`. Nothing
 * is run on a node before the run claims it: an early connection only logs in.
 */
export class WarmTransport implements Transport {
  private readonly early = new Map<string, { pending: Promise<NodeSession>; stop: AbortController }>();
  private closed = false;

  constructor(private readonly inner: Transport) {}

  sentBytes(): number {
    return this.inner.sentBytes?.() ?? 0;
  }

  warm(nodes: readonly NodeSpec[]): void {
    if (this.closed) return;
    for (const node of nodes) {
      const key = keyOf(node);
      if (this.early.has(key)) continue;
      const stop = new AbortController();
      const pending = this.inner.connect(node, stop.signal);
      // Unclaimed, a failure is nobody's: the run's own connect reports it when it claims it.
      pending.catch(() => undefined);
      this.early.set(key, { pending, stop });
    }
  }

  connect(node: NodeSpec, signal?: AbortSignal): Promise<NodeSession> {
    const key = keyOf(node);
    const early = this.early.get(key);
    if (!early) return this.inner.connect(node, signal);
    this.early.delete(key);
    const abandon = () => early.stop.abort();
    signal?.addEventListener('abort', abandon, { once: true });
    const drop = () => signal?.removeEventListener('abort', abandon);
    early.pending.then(drop, drop);
    return early.pending;
  }

  /**
   * Closes every early connection the run did not claim; a login still under way is abandoned (its
   * socket closed at once), so a run refused early does not wait for the slowest node.
   */
  async close(): Promise<void> {
    this.closed = true;
    const left = [...this.early.values()];
    this.early.clear();
    for (const { stop } of left) stop.abort();
    await Promise.all(left.map(({ pending }) => pending.then((s) => s.close()).catch(() => undefined)));
  }
}
