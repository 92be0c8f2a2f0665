import { describe, expect, it } from 'vitest';
import { hintOf } from '../../src/app/phrase.js';
import { EXIT, failedCommand, RelinkError, RemoteError } from '../../src/errors.js';
import { deploy, planDeploy } from '../../src/pipeline/run.js';
import { fakeRun, label, OLD } from '../helpers/fake-run.js';

const SHARED = { dirs: ['data'], files: ['db.json'] };
/** 2026-12-07T12:55:00Z, as stat prints it. */
const MTIME = 1796648100;

/** A node whose running release holds db.json as a regular file of 1234 bytes (the app renamed over the link). */
function replacedOn(bad: string) {
  return fakeRun({
    shared: SHARED,
    answer: (node, command) =>
      command.includes("'F 0 ok'")
        ? {
            stdout: `F 0 ok\n${node === bad ? `L 1 1234 ${MTIME} regular file\nL 0 4096 ${MTIME} symbolic link\n` : ''}`,
          }
        : undefined,
  });
}

async function failure(promise: Promise<unknown>): Promise<RelinkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RelinkError);
  return error as RelinkError;
}

const labels = (run: ReturnType<typeof fakeRun>, node: string) => run.transport.commandsFor(node).map(label);

describe('shared state before a deploy', () => {
  it('reads each shared file and each link of the running release by index, changing nothing', async () => {
    const run = fakeRun({ shared: SHARED });
    await deploy(run.request, run.deps, run.source);
    const probe = run.transport.commandsFor('node2').find((c) => label(c) === 'shared-check')!;
    expect(probe).toBe(
      "{ test -e /srv/app/shared/db.json && echo 'F 0 ok' || echo 'F 0 missing' ; } ; " +
        `{ stat -c 'L 0 %s %Y %F' -- /srv/app/releases/${OLD}/data 2>/dev/null || echo 'L 0 none' ; } ; ` +
        `{ stat -c 'L 1 %s %Y %F' -- /srv/app/releases/${OLD}/db.json 2>/dev/null || echo 'L 1 none' ; } ; true`,
    );
  });

  it('a shared file missing on a node: exit 2 before any upload, one line per node and file, no shell command', async () => {
    const run = fakeRun({
      shared: SHARED,
      answer: (node, command) =>
        command.includes("'F 0 ok'") && node === 'node3' ? { stdout: 'F 0 missing\n' } : undefined,
    });
    const error = await failure(deploy(run.request, run.deps, run.source));
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toContain('\n  node3: shared file db.json is missing: /srv/app/shared/db.json\n');
    expect(error.message).toContain('Nothing was changed on any node.');
    expect(error.message).not.toMatch(/&&|\|\||test -e/);
    expect(hintOf(error)).toMatch(/create each file on its node.*touch \/srv\/app\/shared\/db\.json.*shared\.dirs/);
    expect(run.transport.log.filter((r) => r.kind === 'upload')).toEqual([]);
    for (const node of ['node1', 'node2', 'node3', 'node4']) {
      // Locked, read, then let go: nothing journaled (a refusal changes nothing).
      expect(labels(run, node)).toEqual(['lock+inspect', 'read-settings:v1.0.0', 'shared-check', 'unlock']);
    }
  });

  it('a shared link that became a file: refused (exit 3) before any node moves, naming node, file, size, time', async () => {
    const run = replacedOn('node2');
    const error = await failure(deploy(run.request, run.deps, run.source));
    expect(error.exitCode).toBe(EXIT.gate);
    expect(error.message).toContain(
      `\n  node2: db.json is a regular file (1234 bytes, modified 2026-12-07 12:55:00 UTC), not a link to ` +
        `/srv/app/shared/db.json (in ${OLD})\n`,
    );
    expect(error.message).not.toContain('node1:');
    expect(hintOf(error)).toMatch(
      /^move the release's copy into shared\/ .*: deploy prod v1\.1\.0 --adopt-shared; an app that writes a file by rename needs its directory in shared\.dirs/,
    );
    expect(run.transport.log.filter((r) => r.kind === 'upload' || r.command.includes('mv -T'))).toEqual([]);
    expect(labels(run, 'node2')).toEqual(['lock+inspect', 'read-settings:v1.0.0', 'shared-check', 'unlock']);
  });

  it('--adopt-shared: the old shared copy kept aside, the release copy moved into shared/, the link back, then the deploy', async () => {
    const run = replacedOn('node2');
    const outcome = await deploy({ ...run.request, adoptShared: true }, run.deps, run.source);
    expect(outcome.nodes).toHaveLength(4);
    const adopt = run.transport.commandsFor('node2').find((c) => label(c) === 'adopt')!;
    const link = `/srv/app/releases/${OLD}/db.json`;
    expect(adopt).toBe(
      [
        `test '!' -L ${link} && test -e ${link} && mkdir -p /srv/app/shared && { test '!' -e /srv/app/shared/db.json`,
        "&& test '!' -L /srv/app/shared/db.json || { test '!' -e /srv/app/shared/db.json.relink-20261121T170000Z",
        "&& test '!' -L /srv/app/shared/db.json.relink-20261121T170000Z",
        '&& mv -T -- /srv/app/shared/db.json /srv/app/shared/db.json.relink-20261121T170000Z ; } ; }',
        `&& mv -T -- ${link} /srv/app/shared/db.json && ln -s /srv/app/shared/db.json ${link}`,
      ].join(' '),
    );
    // Before anything is uploaded, and only where a link was replaced.
    expect(labels(run, 'node2').slice(0, 5)).toEqual([
      'lock+inspect',
      'read-settings:v1.0.0',
      'shared-check',
      'adopt',
      'verify',
    ]);
    for (const node of ['node1', 'node3', 'node4']) expect(labels(run, node)).not.toContain('adopt');
    expect(run.events).toContainEqual(
      expect.objectContaining({ type: 'info', node: 'node2', message: expect.stringMatching(/^moved db\.json of/) }),
    );
  });

  it('plan: a missing shared file is exit 2 too; a replaced link is listed with what the deploy does', async () => {
    const missing = fakeRun({
      shared: SHARED,
      answer: (_n, c) => (c.includes("'F 0 ok'") ? { stdout: '' } : undefined),
    });
    const error = await failure(planDeploy(missing.request, missing.deps, missing.source));
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message.match(/^ {2}node\d: shared file db\.json is missing/gm)).toHaveLength(4);
    expect(missing.transport.log.filter((r) => r.kind === 'upload')).toEqual([]);

    const replaced = replacedOn('node4');
    const plan = await planDeploy(replaced.request, replaced.deps, replaced.source);
    const steps = (node: string) => plan.nodes.find((n) => n.node === node)!.steps;
    expect(steps('node4')[1]).toEqual({
      step: 'gates:shared',
      detail: expect.stringMatching(/^REFUSES \(--adopt-shared moves it into shared\/\): db\.json is a regular file/),
    });
    expect(steps('node1')[1]!.detail).toBe('db.json in shared/; links of the running release intact: ok');
    const adopting = replacedOn('node4');
    const planned = await planDeploy({ ...adopting.request, adoptShared: true }, adopting.deps, adopting.source);
    expect(
      planned.nodes
        .find((n) => n.node === 'node4')!
        .steps.map((s) => s.step)
        .slice(0, 3),
    ).toEqual(['gates:lock', 'gates:shared', 'gates:adopt-shared']);
  });
});

describe('a failing remote step', () => {
  it('quotes only the start of its command; the whole line stays for --verbose and the report', async () => {
    const run = fakeRun({
      fail: (node, command) => (node === 'node2' && command.includes('tar -xzf') ? 1 : undefined),
    });
    const error = await failure(deploy(run.request, run.deps, run.source));
    const first = error.message.split('\n')[0]!;
    expect(first.length).toBeLessThan(160);
    expect(first).toMatch(/^distribute failed on node2: node2: command failed with exit code 1: rm -rf .{20,}…/);
    expect(failedCommand(error)).toContain('tar -xzf');
    const direct = new RemoteError('node1', `true && ${'x'.repeat(900)}`, 3, 'shared file missing');
    expect(direct.message).toBe(
      `node1: command failed with exit code 3: true && ${'x'.repeat(52)}…\n  shared file missing`,
    );
    expect(failedCommand(new RelinkError('wrapped', { cause: direct }))).toBe(direct.command);
  });
});
