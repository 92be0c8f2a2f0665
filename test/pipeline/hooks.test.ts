import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT, RelinkError } from '../../src/errors.js';
import type { RunEvent } from '../../src/log/events.js';
import { formatPlan } from '../../src/pipeline/phases/plan.js';
import { rollback } from '../../src/pipeline/rollback.js';
import { deploy, planDeploy } from '../../src/pipeline/run.js';
import { SECTION } from '../../src/remote/inspect.js';
import { type FakeOptions, fakeRun, label, OLD, journalLine } from '../helpers/fake-run.js';

const NEW = 'hello_prod_v1.1.0_main_20261121-170000_ana';
const NODES = ['node1', 'node2', 'node3', 'node4'];

let dir: string;
beforeAll(() => {
  // The project directory of the fake config: hooks on the deploy machine run there.
  fs.mkdirSync('/tmp/relink-fake', { recursive: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-hooks-'));
});

/** A fake run with these hooks, its own run id and state dir (its report is read back). */
function hooked(hooks: Record<string, unknown>, options: FakeOptions = {}) {
  const run = fakeRun({ ...options, config: { hooks } });
  const runId = `hooks${Math.random().toString(36).slice(2, 8)}`;
  const stateDir = fs.mkdtempSync(path.join(dir, 'state-'));
  const log = path.join(stateDir, 'local.log');
  return { ...run, log, request: { ...run.request, runId, stateDir } };
}

/** A node's commands, a hook shown as `hook <its command>`. */
function sequence(run: ReturnType<typeof fakeRun>, node: string): string[] {
  return run.transport
    .commandsFor(node)
    .map((c) => (c.includes('RELINK_HOOK=') ? `hook ${c.split(' sh -c ')[1]}` : label(c)));
}

/** Where each hook ran and each node moved, in the order the steps finished: `step@node` (`local`: this machine). */
function order(events: readonly RunEvent[]): string[] {
  return events.flatMap((e) =>
    e.type === 'step' &&
    e.status === 'ok' &&
    /^(hook:|build:(before|after)|\w+:(afterSwitch|relink|opcache))/.test(e.step)
      ? [`${e.step}@${e.node ?? 'local'}`]
      : [],
  );
}

const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : []);
const hookCommands = (run: ReturnType<typeof fakeRun>, text: string) =>
  run.transport.log.filter((r) => r.kind === 'exec' && r.command.includes('RELINK_HOOK=') && r.command.includes(text));

function everyPoint(log: string) {
  return {
    beforeBuild: [{ command: `echo "beforeBuild $RELINK_VERSION $RELINK_HOOK" >> ${log}` }],
    afterBuild: [{ command: `echo "afterBuild $RELINK_ARTIFACT" >> ${log}` }],
    afterDistribute: [{ command: 'test -f package.json' }],
    beforeSwitch: [
      { command: 'npm run migrate', name: 'migrate' },
      { command: 'sh seed.sh', on: 'once', node: 'node3', name: 'seed' },
    ],
    afterSwitch: [{ command: 'sudo systemctl reload php-fpm', name: 'opcache' }],
    afterRollout: [{ command: `echo "afterRollout $RELINK_PREVIOUS" >> ${log}`, name: 'chat' }],
    onFailure: [{ command: `echo "onFailure $RELINK_RESULT: $RELINK_ERROR" >> ${log}`, name: 'alarm' }],
  };
}

describe('hooks in a deploy', () => {
  it('runs every hook at its point, where it says, in order; a once hook once per run', async () => {
    const probe = hooked({});
    const run = hooked(everyPoint(probe.log));
    await deploy(run.request, run.deps, run.source);
    const steps = order(run.events);
    expect(steps.slice(0, 2)).toEqual(['build:beforeBuild@local', 'build:afterBuild@local']);
    expect(steps.slice(2, 6).sort()).toEqual(NODES.map((n) => `hook:afterDistribute@${n}`));
    expect(steps.slice(6)).toEqual([
      'hook:migrate@node1',
      'hook:seed@node3',
      ...NODES.flatMap((n) => [`rollout:relink@${n}`, `rollout:opcache@${n}`]),
      'hook:chat@local',
    ]);
    // On the pre node: in the new release, after its upload, before and after its switch.
    expect(sequence(run, 'node1')).toEqual([
      'lock+inspect',
      'read-settings:v1.0.0',
      'shared-check',
      'verify',
      'unpack',
      'shared',
      'settings',
      'journal:unpacked',
      "hook 'test -f package.json'",
      'journal:hook_ok',
      "hook 'npm run migrate'",
      'journal:hook_ok',
      'relink:hello_prod_v1.1.0+journal:activated',
      'restart',
      "hook 'sudo systemctl reload php-fpm'",
      'journal:hook_ok',
      'journal:smoke_ok',
      'journal:run_finished+unlock',
    ]);
    const migrate = hookCommands(run, 'npm run migrate');
    expect(migrate.map((r) => r.node)).toEqual(['node1']);
    expect(migrate[0]!.command).toBe(
      `cd /srv/app/releases/${NEW} && exec timeout -k 5s 300s env RELINK_PROJECT=hello RELINK_ENV=prod ` +
        `RELINK_DEPLOY_TO=/srv/app RELINK_NODE=node1 RELINK_RELEASE=${NEW} RELINK_VERSION=v1.1.0 ` +
        `RELINK_COMMIT=${'c1'.repeat(20)} RELINK_PREVIOUS=${OLD} RELINK_HOOK=beforeSwitch sh -c 'npm run migrate'`,
    );
    expect(hookCommands(run, 'sh seed.sh').map((r) => r.node)).toEqual(['node3']);
    expect(sequence(run, 'node2')).not.toContain("hook 'npm run migrate'");
    expect(hookCommands(run, 'reload php-fpm').map((r) => r.node)).toEqual(NODES);
    // The hooks on this machine ran there, with the release's variables; onFailure did not run.
    expect(lines(probe.log)).toEqual([
      'beforeBuild v1.1.0 beforeBuild',
      'afterBuild /tmp/relink-fake/a.tar.gz',
      `afterRollout ${OLD}`,
    ]);
    // Each hook run is journaled on its node, and a step of the report.
    const journaled = run.transport.log.filter((r) => r.node === 'node3' && r.command.includes('"hook_ok"'));
    expect(journaled.map((r) => /"hook":"([^"]+)"/.exec(r.command)?.[1])).toEqual([
      'afterDistribute',
      'seed',
      'opcache',
    ]);
    const report = fs.readFileSync(path.join(run.request.stateDir, 'reports', `${run.request.runId}.md`), 'utf8');
    for (const step of ['build:beforeBuild', 'hook:migrate', 'hook:seed', 'rollout:opcache', 'hook:chat'])
      expect(report).toContain(step);
  });

  it('plan lists every hook the deploy runs and where, from the same decision as the run', async () => {
    const run = hooked(everyPoint('/dev/null'));
    const plan = await planDeploy(run.request, run.deps, run.source);
    expect(plan.hooks.map((h) => `${h.point} ${h.name} on [${h.on.join(',')}]`)).toEqual([
      'beforeBuild beforeBuild on []',
      'afterBuild afterBuild on []',
      'afterDistribute afterDistribute on [node1,node2,node3,node4]',
      'beforeSwitch migrate on [node1]',
      'beforeSwitch seed on [node3]',
      'afterSwitch opcache on [node1,node2,node3,node4]',
      'afterRollout chat on []',
      'onFailure alarm on []',
    ]);
    const steps = (node: string) => plan.nodes.find((n) => n.node === node)!.steps.map((s) => s.step);
    expect(steps('node1')).toEqual(expect.arrayContaining(['hook:afterDistribute', 'hook:migrate', 'rollout:opcache']));
    expect(steps('node3')).toContain('hook:seed');
    expect(steps('node2')).not.toContain('hook:migrate');
    expect(steps('node1').indexOf('hook:migrate')).toBeLessThan(steps('node1').indexOf('rollout:relink'));
    expect(steps('node1').indexOf('rollout:opcache')).toBeGreaterThan(steps('node1').indexOf('rollout:restart'));
    const text = formatPlan(plan);
    expect(text).toMatch(/beforeSwitch +migrate +on node1: npm run migrate/);
    expect(text).toMatch(/onFailure +alarm +on this machine \(if the deploy fails\)/);
    // Planning ran nothing.
    expect(run.transport.log.some((r) => r.command.includes('RELINK_HOOK='))).toBe(false);
  });

  it('a failing beforeSwitch hook stops the run before any node moves, names the hook, runs onFailure', async () => {
    const probe = hooked({});
    const run = hooked(everyPoint(probe.log), {
      fail: (node, cmd) => (node === 'node1' && cmd.includes('npm run migrate') ? 3 : undefined),
    });
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelinkError);
    expect((error as RelinkError).exitCode).toBe(EXIT.failed);
    expect((error as Error).message).toMatch(
      /^beforeSwitch hook "migrate" failed on node1: exit 3: injected failure on node1\. The new release was removed from every node; nothing was switched\./,
    );
    expect((error as RelinkError).hint).toMatch(/hooks\.beforeSwitch in deploy\.config\.ts/);
    expect(run.transport.log.some((r) => r.command.includes('mv -Tf'))).toBe(false);
    expect(hookCommands(run, 'sh seed.sh')).toEqual([]);
    for (const node of NODES) {
      expect(sequence(run, node)).toContain('remove');
      expect(sequence(run, node).at(-1)).toBe('journal:run_finished+unlock');
    }
    expect(sequence(run, 'node1')).toContain('journal:hook_failed');
    expect(lines(probe.log).slice(2)).toEqual([
      'onFailure failed: beforeSwitch hook "migrate" failed on node1: exit 3: injected failure on node1. ' +
        'The new release was removed from every node; nothing was switched.',
    ]);
  });

  it('a failing afterSwitch hook fails its node like a failed smoke test: the switched nodes go back', async () => {
    const run = hooked(
      { afterSwitch: [{ command: 'sudo systemctl reload php-fpm' }] },
      { fail: (node, cmd) => (node === 'node2' && cmd.includes('RELINK_HOOK=') && cmd.includes(NEW) ? 5 : undefined) },
    );
    const error = await deploy(run.request, run.deps, run.source).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^afterSwitch hook "afterSwitch" failed on node2: exit 5/);
    expect((error as Error).message).toMatch(/Rolled back node1, node2 to the release each ran before/);
    expect(order(run.events).filter((s) => s.includes('relink'))).toEqual([
      'rollout:relink@node1',
      'rollout:relink@node2',
      'rollback:relink@node1',
      'rollback:relink@node2',
    ]);
    // node2 was never smoke-tested on the new release: only once it was back.
    expect(run.probes.filter((p) => p.includes(':8102/'))).toHaveLength(1);
    expect(sequence(run, 'node2')).toContain('journal:hook_failed');
    // Going back is a switch too: the hook runs again there, in the release the node goes back to.
    expect(hookCommands(run, `releases/${OLD} `).map((r) => r.node)).toEqual(['node1', 'node2']);
    expect(run.transport.commandsFor('node3').some((c) => c.includes('mv -Tf'))).toBe(false);
  });

  it('an afterRollout or onFailure hook that fails is warned; it never changes the outcome or masks the error', async () => {
    const ok = hooked(
      { afterRollout: [{ command: 'purge-cdn', on: 'once' }] },
      {
        fail: (_node, cmd) => (cmd.includes('purge-cdn') ? 2 : undefined),
      },
    );
    const outcome = await deploy(ok.request, ok.deps, ok.source);
    expect(outcome.release).toBe(NEW);
    const warned = ok.events.filter((e) => e.type === 'warn').map((e) => (e as { message: string }).message);
    expect(warned).toContainEqual(
      expect.stringMatching(/afterRollout hook "afterRollout" failed on node1: exit 2.*outcome stands/),
    );

    const bad = hooked(
      { afterDistribute: [{ command: 'false-check' }], onFailure: [{ command: 'exit 7', name: 'alarm' }] },
      { fail: (node, cmd) => (node === 'node4' && cmd.includes('false-check') ? 1 : undefined) },
    );
    const error = await deploy(bad.request, bad.deps, bad.source).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^afterDistribute hook "afterDistribute" failed on node4: exit 1/);
    const warnings = bad.events.filter((e) => e.type === 'warn').map((e) => (e as { message: string }).message);
    expect(warnings).toContainEqual(expect.stringMatching(/onFailure hook "alarm" failed on this machine: exit 7/));
  });
});

describe('hooks in a --retry-failed deploy', () => {
  it('runs each-node hooks on the retried nodes, not the once hooks before the switch its first run ran', async () => {
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
    const old = ['activated', 'smoke_ok'].map((event, i) =>
      line({ ts: `2026-11-01T12:00:0${i}Z`, run: 'old', event, release: OLD, version: 'v1.0.0' }),
    );
    const inspection = `releases/${OLD}\n${SECTION}\n${OLD}\n${SECTION}\n${SECTION}\n${[...old, line(partial)].join('\n')}\n`;
    const run = hooked(
      {
        afterDistribute: [{ command: 'test -f package.json' }],
        beforeSwitch: [{ command: 'npm run migrate', name: 'migrate', node: 'node1', on: 'once' }],
        afterSwitch: [{ command: 'clear-cache' }],
        afterRollout: [{ command: 'post-chat', on: 'once', node: 'node1' }],
      },
      { answer: (_n, c) => (c.includes('readlink /srv/app/current || true ;') ? { stdout: inspection } : undefined) },
    );
    await deploy({ ...run.request, retryFailed: true }, run.deps, run.source);
    expect(hookCommands(run, 'npm run migrate')).toEqual([]);
    expect(hookCommands(run, 'test -f package.json').map((r) => r.node)).toEqual(['node3']);
    expect(hookCommands(run, 'clear-cache').map((r) => r.node)).toEqual(['node3']);
    expect(hookCommands(run, 'post-chat')).toEqual([]);
  });
});

describe('a once hook on a node the run leaves out', () => {
  it('is bad input: refused before anything runs, naming the hook and the node', async () => {
    const run = hooked({ beforeSwitch: [{ command: 'npm run migrate', name: 'migrate', on: 'once', node: 'node1' }] });
    const error = await deploy({ ...run.request, nodes: ['node2', 'node3'] }, run.deps, run.source).catch(
      (e: unknown) => e,
    );
    expect((error as RelinkError).exitCode).toBe(EXIT.usage);
    expect((error as Error).message).toMatch(
      /^hooks\.beforeSwitch "migrate" runs on node1, which is not a node of this run \(node2, node3\)\. Nothing was changed\./,
    );
    expect(run.transport.log).toEqual([]);
  });
});

describe('hooks in a rollback', () => {
  const [r0, r1] = [OLD, 'hello_prod_v1.1.0_main_20261110-120000_ana'];
  const line = journalLine;
  const journal = [
    line('a', 'activated', r0, 'v1.0.0', '2026-11-01T12:00:00Z'),
    line('a', 'smoke_ok', r0, 'v1.0.0', '2026-11-01T12:00:01Z'),
    line('b', 'activated', r1, 'v1.1.0', '2026-11-10T12:00:00Z'),
    line('b', 'smoke_ok', r1, 'v1.1.0', '2026-11-10T12:00:01Z'),
  ].join('\n');
  const state = `releases/${r1}\n${SECTION}\n${r0}\n${r1}\n${SECTION}\n${SECTION}\n${journal}\n`;
  const hooks = {
    beforeRollback: [{ command: 'pause-queue', on: 'once', emergency: true, name: 'pause' }],
    afterSwitch: [{ command: 'clear-cache' }],
    afterRollback: [
      { command: 'resume-queue', on: 'once', emergency: true, name: 'resume' },
      { command: 'warm-cache', on: 'each', name: 'warm' },
    ],
  };
  const rollingBack = (fail?: FakeOptions['fail']) =>
    hooked(hooks, {
      fail,
      answer: (_node, command) => (command.includes('readlink /srv/app/current') ? { stdout: state } : undefined),
    });
  const hooksOn = (run: ReturnType<typeof fakeRun>, node: string) =>
    sequence(run, node).filter((s) => s.startsWith('hook') || s.startsWith('relink'));

  it('a rolling rollback runs them all: before on the pre node, after its switch on each node, after once', async () => {
    const run = rollingBack();
    await rollback({ ...run.request, target: { kind: 'last' } }, run.deps);
    expect(hooksOn(run, 'node1')).toEqual([
      'hook pause-queue',
      'relink:hello_prod_v1.0.0+journal:rolled_back',
      'hook clear-cache',
      'hook resume-queue',
      'hook warm-cache',
    ]);
    expect(hooksOn(run, 'node2')).toEqual([
      'relink:hello_prod_v1.0.0+journal:rolled_back',
      'hook clear-cache',
      'hook warm-cache',
    ]);
    // In the release the node goes back to.
    expect(hookCommands(run, 'clear-cache').every((r) => r.command.startsWith(`cd /srv/app/releases/${r0} `))).toBe(
      true,
    );
  });

  it('an emergency rollback runs only the hooks marked emergency', async () => {
    const run = rollingBack();
    await rollback({ ...run.request, target: { kind: 'last' }, emergency: true }, run.deps);
    expect(hooksOn(run, 'node1')).toEqual([
      'hook pause-queue',
      'relink:hello_prod_v1.0.0+journal:rolled_back',
      'hook resume-queue',
    ]);
    expect(hooksOn(run, 'node3')).toEqual(['relink:hello_prod_v1.0.0+journal:rolled_back']);
  });

  it('a failing beforeRollback hook moves no node', async () => {
    const run = rollingBack((_node, cmd) => (cmd.includes('pause-queue') ? 4 : undefined));
    const error = await rollback({ ...run.request, target: { kind: 'last' } }, run.deps).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /^beforeRollback hook "pause" failed on node1: exit 4.*No node was moved\./,
    );
    expect(run.transport.log.some((r) => r.command.includes('mv -Tf'))).toBe(false);
    for (const node of NODES) expect(sequence(run, node).at(-1)).toBe('journal:run_finished+unlock');
  });
});
