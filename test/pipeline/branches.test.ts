import { describe, expect, it } from 'vitest';
import { deploy } from '../../src/pipeline/run.js';
import { fakeRun } from '../helpers/fake-run.js';

const merged = {
  base: { name: 'main', commit: 'c'.repeat(40) },
  branches: [
    { name: 'feat-a', commit: 'a'.repeat(40) },
    { name: 'feat-b', commit: 'b'.repeat(40) },
  ],
};

describe('a deploy of merged branches', () => {
  it('journals what the merge holds on activated and run_finished, and names the run by its branches', async () => {
    const run = fakeRun();
    await deploy({ ...run.request, merged }, run.deps, run.source);
    const lines = run.transport.log
      .filter((r) => r.kind === 'exec' && r.node === 'node2' && r.command.includes('journal.jsonl'))
      .flatMap((r) => [...r.command.matchAll(/\{"v":1.*?\}(?=\n|')/g)].map((m) => JSON.parse(m[0])));
    const byEvent = Object.fromEntries(lines.map((e) => [e.event, e]));
    expect(byEvent.activated.merged).toEqual(merged);
    expect(byEvent.run_finished.merged).toEqual(merged);
    expect(byEvent.run_finished.command).toBe('deploy prod --branches feat-a,feat-b --base main');
    expect(byEvent.unpacked.merged).toBeUndefined();
    expect(byEvent.smoke_ok.merged).toBeUndefined();
  });
});
