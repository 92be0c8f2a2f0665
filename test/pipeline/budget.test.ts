import { describe, expect, it } from 'vitest';
import { EXIT, type RelinkError } from '../../src/errors.js';
import type { JournalEvent } from '../../src/journal/events.js';
import { findRetry } from '../../src/pipeline/phases/retry.js';
import { failureBudget } from '../../src/pipeline/rollout/budget.js';
import { deploy } from '../../src/pipeline/run.js';
import { SECTION } from '../../src/remote/inspect.js';
import { fakeRun, label, OLD, checksummed } from '../helpers/fake-run.js';

const NEW = 'hello_prod_v1.1.0_main_20261121-170000_ana';

/** The journal lines a run appended on one node, by event name. */
function journaled(run: ReturnType<typeof fakeRun>, node: string): string[] {
  return run.transport.commandsFor(node).flatMap((c) => [...c.matchAll(/\\?"event\\?":\\?"(\w+)/g)].map((m) => m[1]!));
}

function relinks(run: ReturnType<typeof fakeRun>, node: string): string[] {
  return run.transport.commandsFor(node).flatMap((c) => (c.includes('mv -Tf') ? [label(c).split('+')[0]!] : []));
}

function finished(run: ReturnType<typeof fakeRun>, node: string): Record<string, unknown> | undefined {
  const line = run.transport.commandsFor(node).find((c) => c.includes('run_finished'));
  const json = line?.match(/printf '%s\\n' '(\{.*?"event":"run_finished".*?\})'/)?.[1];
  return json ? (JSON.parse(json) as Record<string, unknown>) : undefined;
}

describe('the failure budget (rollout.maxFailures)', () => {
  it('rounds a percentage down and takes a number as written', () => {
    expect(failureBudget('10%', 25)).toBe(2);
    expect(failureBudget('10%', 5)).toBe(0);
    expect(failureBudget(3, 5)).toBe(3);
  });

  it('within budget: the failed node goes back to its release and is named; the release goes on to the rest', async () => {
    const run = fakeRun({ maxFailures: 1, unhealthy: (node) => node === 'node3' });
    const outcome = await deploy(run.request, run.deps, run.source);
    expect(outcome.setAside).toEqual([{ node: 'node3', reason: expect.stringMatching(/^rollout: node3: smoke test/) }]);
    expect(outcome.nodes).toEqual(['node1', 'node2', 'node4']);
    expect(relinks(run, 'node3')).toEqual(['relink:hello_prod_v1.1.0', 'relink:hello_prod_v1.0.0']);
    expect(relinks(run, 'node4')).toEqual(['relink:hello_prod_v1.1.0']);
    expect(journaled(run, 'node3')).toContain('set_aside');
    for (const node of ['node1', 'node2', 'node3', 'node4'])
      expect(finished(run, node)).toMatchObject({ result: 'partial', setAside: ['node3'], release: NEW });
    const warning = run.events.find((e) => e.type === 'warn' && e.message.startsWith('set aside: node3'));
    expect(warning).toMatchObject({ message: expect.stringMatching(/deploy prod v1\.1\.0 --retry-failed$/) });
  });

  it('past the budget the release stops and every switched node goes back, as without a budget', async () => {
    const run = fakeRun({ maxFailures: 1, unhealthy: (node) => node === 'node2' || node === 'node4' });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as RelinkError).exitCode).toBe(EXIT.failed);
    for (const node of ['node1', 'node2', 'node3', 'node4']) expect(relinks(run, node).at(-1)).toMatch(/v1\.0\.0/);
    expect(finished(run, 'node1')).toMatchObject({ result: 'rolled_back' });
  });

  it('never sets the pre node aside', async () => {
    const run = fakeRun({ maxFailures: 3, unhealthy: (node) => node === 'node1' });
    await expect(deploy(run.request, run.deps, run.source)).rejects.toThrow(/node1: smoke test failed/);
    expect(relinks(run, 'node2')).toEqual([]);
  });

  it('a node that cannot be reached is set aside before anything changes, and left alone', async () => {
    const run = fakeRun({ maxFailures: 1, down: ['node4'] });
    const outcome = await deploy(run.request, run.deps, run.source);
    expect(outcome.setAside).toEqual([{ node: 'node4', reason: expect.stringMatching(/^connect: .*ECONNREFUSED/) }]);
    expect(run.transport.commandsFor('node4')).toEqual([]);
    expect(finished(run, 'node1')).toMatchObject({ result: 'partial', setAside: ['node4'] });
  });

  it('a failed upload sets the node aside: its new release is removed there only, it never switches', async () => {
    const run = fakeRun({
      maxFailures: 1,
      fail: (n, c) => (n === 'node2' && checksummed(c) ? 1 : undefined),
    });
    const outcome = await deploy(run.request, run.deps, run.source);
    expect(outcome.setAside.map((s) => s.node)).toEqual(['node2']);
    expect(relinks(run, 'node2')).toEqual([]);
    expect(run.transport.commandsFor('node2').map(label)).toContain('remove');
    expect(run.transport.commandsFor('node3').map(label)).not.toContain('remove');
    // node2's group is gone, but the nodes serve: the rollout is not a cold start.
    expect(run.events.some((e) => e.type === 'info' && e.message.startsWith('nothing serves yet'))).toBe(false);
  });
});

describe('deploy --retry-failed', () => {
  const line = (e: Record<string, unknown>) => JSON.stringify({ v: 1, node: 'x', env: 'prod', user: 'ana', ...e });
  const partial = {
    ts: '2026-11-21T16:00:00Z',
    run: 'p1',
    event: 'run_finished',
    result: 'partial',
    version: 'v1.1.0',
    release: 'hello_prod_v1.1.0_main_20261121-160000_ana',
    setAside: ['node3'],
  };

  it('finds the newest partial deploy of the version and the set-aside nodes not up since', () => {
    const journals = new Map<string, JournalEvent[]>([['node1', [JSON.parse(line(partial))]]]);
    expect(findRetry(journals, 'v1.1.0')).toEqual({
      run: 'p1',
      version: 'v1.1.0',
      release: partial.release,
      nodes: ['node3'],
    });
    expect(findRetry(journals)?.run).toBe('p1');
    expect(findRetry(journals, 'v1.2.0')).toBeUndefined();
    const up = { ts: '2026-11-21T16:30:00Z', run: 'r2', event: 'smoke_ok', release: partial.release };
    journals.set('node3', [JSON.parse(line(up))]);
    expect(findRetry(journals, 'v1.1.0')?.nodes).toEqual([]);
  });

  it('brings only the set-aside nodes up, onto the release of the run that set them aside', async () => {
    const old = ['activated', 'smoke_ok'].map((event, i) =>
      line({ ts: `2026-11-01T12:00:0${i}Z`, run: 'old', event, release: OLD, version: 'v1.0.0' }),
    );
    const journal = [...old, line(partial)].join('\n');
    const inspection = `releases/${OLD}\n${SECTION}\n${OLD}\n${SECTION}\n${SECTION}\n${journal}\n`;
    const run = fakeRun({
      answer: (_n, c) => (c.includes('readlink /srv/app/current || true ;') ? { stdout: inspection } : undefined),
    });
    await deploy({ ...run.request, retryFailed: true }, run.deps, run.source);
    for (const node of ['node1', 'node2', 'node4']) expect(relinks(run, node)).toEqual([]);
    expect(relinks(run, 'node3')).toEqual(['relink:hello_prod_v1.1.0']);
    const activation = run.transport.commandsFor('node3').find((c) => c.includes('mv -Tf'))!;
    expect(activation).toContain(`releases/${partial.release}`);
    expect(activation).toMatch(/retryOf\\?":\\?"p1/);
  });
});

describe('what the budget never takes', () => {
  it('a whole run set aside is a failed release, not a partial one', async () => {
    const run = fakeRun({ nodes: 2, maxFailures: 5, down: ['node2'] });
    const { pre: _pre, ...noPre } = { ...run.request.inventory };
    const request = { ...run.request, inventory: { ...noPre, pre: undefined }, nodes: ['node2'] };
    await expect(deploy(request, run.deps, run.source)).rejects.toThrow(/node2/);
  });

  it('--retry-failed with --node is refused before anything runs', async () => {
    const run = fakeRun();
    const error = await deploy({ ...run.request, retryFailed: true, nodes: ['node3'] }, run.deps, run.source).catch(
      (e: unknown) => e,
    );
    expect((error as RelinkError).exitCode).toBe(EXIT.usage);
    expect(run.transport.log).toEqual([]);
  });

  it('a partial deploy followed by another run is not offered for a retry', () => {
    const partial = {
      v: 1,
      node: 'node1',
      env: 'prod',
      user: 'ana',
      ts: '2026-11-21T16:00:00Z',
      run: 'p1',
      event: 'run_finished',
      result: 'partial',
      version: 'v1.1.0',
      release: 'r',
      setAside: ['node3'],
    } as JournalEvent;
    const later = { ...partial, ts: '2026-11-21T17:00:00Z', run: 'rb', result: 'success', setAside: undefined };
    expect(findRetry(new Map([['node1', [partial, later as JournalEvent]]]), 'v1.1.0')).toBeUndefined();
    // A retry of p1 that set a node aside again is still p1's: a second retry finishes p1.
    const again = { ...later, run: 'r2', retryOf: 'p1', result: 'partial', setAside: ['node3'] } as JournalEvent;
    expect(findRetry(new Map([['node1', [partial, again]]]), 'v1.1.0')?.run).toBe('p1');
  });
});
