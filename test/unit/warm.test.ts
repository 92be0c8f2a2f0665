import { describe, expect, it } from 'vitest';
import type { NodeSpec } from '../../src/inventory/types.js';
import { RecordingTransport } from '../helpers/recording.js';
import { WarmTransport } from '../../src/transport/warm.js';

const node = (name: string, port = 22): NodeSpec =>
  ({ name, address: '10.0.0.1', port, user: 'deploy', vars: {} }) as unknown as NodeSpec;

describe('early connections (WarmTransport)', () => {
  it('hands a node the connection opened early, once; a second connect opens a new one', async () => {
    const inner = new RecordingTransport();
    const warm = new WarmTransport(inner);
    warm.warm([node('web1'), node('web2')]);
    expect(inner.log.filter((r) => r.kind === 'connect').map((r) => r.node)).toEqual(['web1', 'web2']);
    await warm.connect(node('web1'));
    expect(inner.log.filter((r) => r.kind === 'connect')).toHaveLength(2);
    await warm.connect(node('web1'));
    expect(inner.log.filter((r) => r.kind === 'connect')).toHaveLength(3);
  });

  it('closes what the run never claimed, and opens nothing early once closed', async () => {
    const inner = new RecordingTransport();
    const warm = new WarmTransport(inner);
    warm.warm([node('web1'), node('web2')]);
    const claimed = await warm.connect(node('web2'));
    await warm.close();
    expect(inner.log.filter((r) => r.kind === 'close').map((r) => r.node)).toEqual(['web1']);
    await claimed.close();
    warm.warm([node('web3')]);
    expect(inner.log.filter((r) => r.node === 'web3')).toEqual([]);
  });

  it("gives the run an early connection's failure as its own connect would, and swallows it unclaimed", async () => {
    const refused = new Error('web1: connection refused');
    const warm = new WarmTransport(new RecordingTransport(undefined, (n) => (n === 'web1' ? refused : undefined)));
    warm.warm([node('web1')]);
    await expect(warm.connect(node('web1'))).rejects.toBe(refused);
    warm.warm([node('web1')]);
    await warm.close();
  });

  it('abandons a login still under way when closed: close does not wait for it', async () => {
    let seen: AbortSignal | undefined;
    const hanging = {
      connect: (_node: NodeSpec, signal?: AbortSignal) =>
        new Promise<never>((_resolve, reject) => {
          seen = signal;
          signal?.addEventListener('abort', () => reject(new Error('abandoned')));
        }),
    };
    const warm = new WarmTransport(hanging);
    warm.warm([node('web1')]);
    await warm.close();
    expect(seen?.aborted).toBe(true);
  });

  it('does not hand a node a connection opened to another address', async () => {
    const inner = new RecordingTransport();
    const warm = new WarmTransport(inner);
    warm.warm([node('web1', 22)]);
    await warm.connect(node('web1', 2222));
    expect(inner.log.filter((r) => r.kind === 'connect')).toHaveLength(2);
    await warm.close();
    expect(inner.log.filter((r) => r.kind === 'close')).toHaveLength(1);
  });
});
