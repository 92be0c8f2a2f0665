import { describe, expect, it } from 'vitest';
import type { RunContext } from '../../src/pipeline/context.js';
import { readBytes } from '../../src/pipeline/distribution/work.js';

/** What readBytes reads of a run: rollout.parallel and the inventory's nodes. */
const run = (parallel: number, nodes: number) =>
  ({
    config: { rollout: { parallel } },
    inventory: { hosts: Array.from({ length: nodes }, (_, i) => ({ name: `node${i + 1}` })) },
  }) as unknown as RunContext;

describe('the read size of an upload: the uploads under way share 16 MiB', () => {
  it('10 nodes: 1 MiB reads (the least CPU)', () => expect(readBytes(run(10, 10))).toBe(1024 * 1024));
  it('100 nodes, 100 at once: 160 KiB each', () => expect(readBytes(run(100, 100))).toBe(160 * 1024));
  it('100 nodes, 20 at once: by the uploads at once, not the nodes', () =>
    expect(readBytes(run(20, 100))).toBe(816 * 1024));
  it('500 at once: never under 64 KiB', () => expect(readBytes(run(500, 500))).toBe(64 * 1024));
  it('2 nodes, parallel 100: by the nodes', () => expect(readBytes(run(100, 2))).toBe(1024 * 1024));
});
