// A deploy released by an approval journals who asked and who approved on every node (history and the report read
// them back); an emergency past the approvals journals its review.
import { describe, expect, it } from 'vitest';
import { deploy } from '../../src/pipeline/run.js';
import { fakeRun } from '../helpers/fake-run.js';

function finished(run: ReturnType<typeof fakeRun>, node: string): Record<string, unknown> | undefined {
  const line = run.transport.commandsFor(node).find((c) => c.includes('run_finished'));
  const json = line?.match(/printf '%s\\n' '(\{.*?"event":"run_finished".*?\})'/)?.[1];
  return json ? (JSON.parse(json) as Record<string, unknown>) : undefined;
}

describe('a deploy with an approval', () => {
  it('journals the request, who asked and who approved on every node', async () => {
    const run = fakeRun();
    const approved = { approval: 'a-1f2e3d4c', requester: 'ana', approver: 'bo' };
    await deploy({ ...run.request, approved }, run.deps, run.source);
    for (const node of ['node1', 'node2', 'node3', 'node4'])
      expect(finished(run, node)).toMatchObject({ result: 'success', ...approved });
  });

  it('journals the review of an emergency past the approvals', async () => {
    const run = fakeRun();
    await deploy({ ...run.request, approved: { review: 'r-0a0b0c0d', requester: 'ana' } }, run.deps, run.source);
    expect(finished(run, 'node1')).toMatchObject({ review: 'r-0a0b0c0d', requester: 'ana' });
    expect(finished(run, 'node1')).not.toHaveProperty('approver');
  });
});
