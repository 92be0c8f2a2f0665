import { describe, expect, it } from 'vitest';
import { hintOf } from '../../src/app/phrase.js';
import { planDeploy, deploy } from '../../src/pipeline/run.js';
import type { RelinkError } from '../../src/errors.js';
import { SECTION } from '../../src/remote/inspect.js';
import { fakeRun } from '../helpers/fake-run.js';

/** The release the fleet runs of the fake run's version (v1.1.0, commit c1…) under an earlier run's name. */
const FLEET = 'hello_prod_v1.1.0_main_20261120-090000_bo';
const FLEET_COMMIT = 'c1'.repeat(20);

/** A node's inspection: `current` on `release`, its journal recording it with that version and commit. */
function runs(release: string, version: string, commit: string): string {
  const journal = ['unpacked', 'activated', 'smoke_ok']
    .map((event, i) =>
      JSON.stringify({
        v: 1,
        ts: `2026-11-20T09:00:0${i}Z`,
        run: 'r0',
        node: 'x',
        env: 'prod',
        user: 'bo',
        event,
        release,
        version,
        commit,
      }),
    )
    .join('\n');
  return `releases/${release}\n${SECTION}\n${release}\n${SECTION}\n${SECTION}\n${journal}\n`;
}

const INSPECT = 'readlink /srv/app/current || true ;';

/** A `--node node4` deploy where the other nodes answer `others` to a plain read (node4 answers `own`, if given). */
function catchUp(others: string, own?: string) {
  const run = fakeRun({
    answer: (node, command) => {
      if (node !== 'node4' && command.startsWith(INSPECT)) return { stdout: others };
      if (node === 'node4' && own && command.includes(INSPECT)) return { stdout: own };
      return undefined;
    },
  });
  return { run, request: { ...run.request, nodes: ['node4'] } };
}

const relinked = (run: ReturnType<typeof fakeRun>, node: string) =>
  run.transport
    .commandsFor(node)
    .filter((c) => c.includes('mv -Tf'))
    .map((c) => c.match(/releases\/(hello_prod_[^ ']+)/)?.[1]);

describe('a --node deploy of the commit the other nodes run', () => {
  it('takes their release name: the plan shows it, the node is relinked to it and the run reports it', async () => {
    const { run, request } = catchUp(runs(FLEET, 'v1.1.0', FLEET_COMMIT));
    const plan = await planDeploy(request, run.deps, run.source);
    expect(plan.release).toBe(FLEET);
    const outcome = await deploy(request, run.deps, run.source);
    expect(outcome.release).toBe(FLEET);
    expect(relinked(run, 'node4')).toEqual([FLEET]);
    expect(run.events).toContainEqual(
      expect.objectContaining({ type: 'info', message: expect.stringContaining(`run v1.1.0 as ${FLEET}`) }),
    );
    // The other nodes were only read: never locked, never changed.
    for (const node of ['node1', 'node2', 'node3'])
      expect(run.transport.commandsFor(node).every((c) => c.startsWith(INSPECT))).toBe(true);
  });

  it('keeps a name of its own when they run another commit, another version, or an unsafe name', async () => {
    for (const others of [
      runs(FLEET, 'v1.1.0', 'd9'.repeat(20)),
      runs('hello_prod_v1.0.9_main_20261120-090000_bo', 'v1.0.9', FLEET_COMMIT),
      runs('../../etc', 'v1.1.0', FLEET_COMMIT),
      'garbage',
    ]) {
      const { run, request } = catchUp(others);
      const outcome = await deploy(request, run.deps, run.source);
      expect(outcome.release).toBe('hello_prod_v1.1.0_main_20261121-170000_ana');
      expect(relinked(run, 'node4')).toEqual([outcome.release]);
    }
  });

  it('keeps a name of its own when the node itself runs the fleet release (its dir is never unpacked anew)', async () => {
    const fleet = runs(FLEET, 'v1.1.0', FLEET_COMMIT);
    const { run, request } = catchUp(fleet, fleet);
    const outcome = await deploy(request, run.deps, run.source);
    expect(outcome.release).not.toBe(FLEET);
    expect(run.transport.commandsFor('node4').some((c) => c.includes(`rm -rf /srv/app/releases/${FLEET}`))).toBe(false);
  });

  it('still deploys when another node does not answer', async () => {
    const run = fakeRun({
      down: ['node2'],
      answer: (node, c) =>
        node !== 'node4' && c.startsWith(INSPECT) ? { stdout: runs(FLEET, 'v1.1.0', FLEET_COMMIT) } : undefined,
    });
    const outcome = await deploy({ ...run.request, nodes: ['node4'] }, run.deps, run.source);
    expect(outcome.release).toBe(FLEET);
  });
});

describe('a smoke test whose body check fails', () => {
  it('names the setting to change, not a new version', async () => {
    const run = fakeRun();
    const config = run.request.config;
    // A body only the release before passes: the node goes back to it, and the run ends on the setting.
    const smoke = { ...config.smoke!, expectBody: '"version":"v1.0.0"' };
    const error = (await deploy({ ...run.request, config: { ...config, smoke } }, run.deps, run.source).catch(
      (e: unknown) => e,
    )) as RelinkError;
    expect(error.message).toBe(
      'node1: smoke test failed after 2 attempts: GET http://10.0.0.1:8101/health: body does not contain ' +
        '""version":"v1.0.0"". Rolled back node1 to the release each ran before.',
    );
    expect(hintOf(error)).toMatch(/smoke\.expectBody in deploy\.config\.ts/);
    expect(hintOf(error)).not.toMatch(/tag a new version/);
  });

  it('passes on the status alone when no body is expected (the default, as init writes it)', async () => {
    const run = fakeRun();
    expect(run.request.config.smoke?.expectBody).toBeUndefined();
    const outcome = await deploy(run.request, run.deps, run.source);
    expect(outcome.nodes).toHaveLength(4);
  });
});
