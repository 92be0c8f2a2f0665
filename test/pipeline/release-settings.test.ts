import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, type RelinkError } from '../../src/errors.js';
import { rollback } from '../../src/pipeline/rollback.js';
import { deploy } from '../../src/pipeline/run.js';
import { SECTION } from '../../src/remote/inspect.js';
import { fakeRun, type FakeOptions, label, OLD, journalLine } from '../helpers/fake-run.js';

const R0 = 'hello_prod_v1.0.0_main_20261101-120000_ana';
const R1 = 'hello_prod_v1.1.0_main_20261110-120000_ana';
const NODES = ['node1', 'node2', 'node3', 'node4'];

/** What a release's settings file holds, as distribute writes it. */
function kept(release: string, restart: string, extra: Record<string, unknown> = {}): string {
  const settings = { restart: { command: restart, timeoutMs: 30000 }, shared: { dirs: ['log'], files: [] }, ...extra };
  return JSON.stringify({ version: 1, release, settings, secrets: [] });
}

/** Four nodes that ran R0 (v1.0.0, proven) and run R1 (v1.1.0) now; R0 kept `sh bin/old-restart.sh`. */
function twoReleases(options: FakeOptions & { r0Settings?: (node: string) => string | undefined } = {}) {
  const line = journalLine;
  const journal = [
    line('a', 'activated', R0, 'v1.0.0', '2026-11-01T12:00:00Z'),
    line('a', 'smoke_ok', R0, 'v1.0.0', '2026-11-01T12:00:01Z'),
    line('b', 'activated', R1, 'v1.1.0', '2026-11-10T12:00:00Z'),
    line('b', 'smoke_ok', R1, 'v1.1.0', '2026-11-10T12:00:01Z'),
  ].join('\n');
  const inspection = `releases/${R1}\n${SECTION}\n${R0}\n${R1}\n${SECTION}\n${SECTION}\n${journal}\n`;
  const settings: Record<string, string> = {};
  for (const node of NODES) {
    const own = options.r0Settings ? options.r0Settings(node) : kept(R0, 'sh bin/old-restart.sh');
    if (own !== undefined) settings[`${node}/${R0}`] = own;
    settings[`${node}/${R1}`] = kept(R1, 'sh bin/restart.sh');
  }
  const run = fakeRun({
    ...options,
    settings,
    answer: (node, command) =>
      command.includes('readlink /srv/app/current') ? { stdout: inspection } : options.answer?.(node, command),
  });
  // Every node answers its smoke test for either version.
  const deps = { ...run.deps, probe: async () => ({ status: 200, body: '{"version":"v1.0.0 v1.1.0"}' }) };
  const to = (spec: string, more: object = {}) => ({ ...run.request, target: { kind: 'to', spec } as const, ...more });
  return { run, deps, to };
}

/** The restart commands a node ran, in order. */
function restarts(run: ReturnType<typeof fakeRun>, node: string): string[] {
  return run.transport
    .commandsFor(node)
    .map((c) => c.match(/sh bin\/[a-z-]+\.sh/)?.[0])
    .filter((c): c is string => c !== undefined);
}

const warnings = (run: ReturnType<typeof fakeRun>) => run.events.flatMap((e) => (e.type === 'warn' ? [e.message] : []));

describe('a release keeps the settings it was deployed with', () => {
  it('deploy writes them into every release: the restart, stop, smoke and shared paths, no secret value', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-settings-'));
    const src = path.join(dir, 'app.env');
    fs.writeFileSync(src, 'TOKEN={{ secret.APP_SECRET }}\n');
    const run = fakeRun();
    const config = {
      ...run.request.config,
      secrets: ['APP_SECRET'],
      templates: [{ src, dest: '.env', mode: 0o600 }],
      stop: { command: 'sh bin/stop.sh', timeoutMs: 5000 },
    };
    const secrets = { APP_SECRET: 'hunter2-very-secret' };
    try {
      await deploy({ ...run.request, config, secrets }, run.deps, run.source);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const written = run.transport.log.filter((r) => r.command.includes('.relink/settings.json.relink-tmp'));
    expect(written.map((r) => r.node).sort()).toEqual(NODES);
    const file = JSON.parse(written[0]!.stdin!);
    expect(file).toMatchObject({
      version: 1,
      release: expect.stringMatching(/^hello_prod_v1\.1\.0_/),
      settings: {
        restart: { command: 'sh bin/restart.sh', timeoutMs: 30000 },
        stop: { command: 'sh bin/stop.sh', timeoutMs: 5000 },
        smoke: { url: 'http://{{ node.address }}:{{ host.appPort }}/health', retries: 2 },
        shared: { dirs: ['log'], files: [] },
      },
      secrets: ['APP_SECRET'],
    });
    // The template got the secret; no settings file did.
    expect(run.transport.log.some((r) => r.stdin?.includes('hunter2-very-secret'))).toBe(true);
    expect(written.some((r) => r.stdin!.includes('hunter2'))).toBe(false);
  });

  it('a setting that holds a secret value is refused before anything is uploaded (exit 2), naming no value', async () => {
    const run = fakeRun();
    const config = {
      ...run.request.config,
      secrets: ['APP_SECRET'],
      restart: { command: 'TOKEN=hunter2-very-secret sh bin/restart.sh', timeoutMs: 30000 },
    };
    const secrets = { APP_SECRET: 'hunter2-very-secret' };
    const error = await deploy({ ...run.request, config, secrets }, run.deps, run.source).catch((e: unknown) => e);
    expect((error as RelinkError).exitCode).toBe(EXIT.usage);
    expect((error as Error).message).toMatch(/restart\.command holds the value of secret APP_SECRET/);
    expect((error as Error).message).not.toMatch(/hunter2/);
    expect(run.transport.log.some((r) => r.kind === 'upload')).toBe(false);
  });
});

describe('a rollback uses the settings the release kept', () => {
  it('`rollback --to` restarts v1.0.0 with its own restart command, not the current one', async () => {
    const { run, deps, to } = twoReleases();
    await rollback(to('v1.0.0'), deps);
    for (const node of NODES) expect(restarts(run, node)).toEqual(['sh bin/old-restart.sh']);
    expect(run.events).toContainEqual(
      expect.objectContaining({
        type: 'info',
        message: expect.stringMatching(/runs with the settings it was deployed/),
      }),
    );
  });

  it('a release kept as a service starts as it was deployed: its own start command, through the manager', async () => {
    const service = {
      manager: 'start-stop-daemon',
      unit: 'shop',
      user: true,
      start: 'exec node old-server.js',
      env: {},
      timeoutMs: 30000,
      stopTimeoutMs: 10000,
    };
    const { run, deps, to } = twoReleases({ r0Settings: () => kept(R0, 'sh bin/old-restart.sh', { service }) });
    await rollback(to('v1.0.0'), deps);
    for (const node of NODES) {
      const commands = run.transport.commandsFor(node);
      expect(commands.some((c) => c.includes('start-stop-daemon') && c.includes('exec node old-server.js'))).toBe(true);
      expect(restarts(run, node)).toEqual([]);
    }
  });

  it('--use-current-config restarts with the current config, and reads no settings', async () => {
    const { run, deps, to } = twoReleases();
    await rollback(to('v1.0.0', { useCurrentConfig: true }), deps);
    for (const node of NODES) expect(restarts(run, node)).toEqual(['sh bin/restart.sh']);
    expect(run.transport.log.some((r) => r.command.includes('.relink/settings.json'))).toBe(false);
  });

  it('a release made before releases kept settings uses the current config, with a warning', async () => {
    const { run, deps, to } = twoReleases({ r0Settings: () => undefined });
    await rollback(to('v1.0.0'), deps);
    for (const node of NODES) expect(restarts(run, node)).toEqual(['sh bin/restart.sh']);
    expect(warnings(run)).toContainEqual(
      `${R0} keeps no settings of its own on node1, node2, node3, node4 (made before releases kept them): ` +
        'restart, stop, smoke, shared and node-side hooks come from the current config there',
    );
  });

  it("a node's copy that is not to be trusted is not used there: the current config is, with a warning", async () => {
    const copies: Record<string, string> = {
      node1: kept(R0, 'sh bin/old-restart.sh'),
      node2: kept(R1, 'sh bin/evil.sh'), // another release's file
      node3: `${' '.repeat(70_000)}{}`, // too large
      node4: kept(R0, 'sh bin/evil.sh', { smoke: { url: 'http://169.254.169.254/latest', retries: 1 } }),
    };
    const { run, deps, to } = twoReleases({ r0Settings: (node) => copies[node] });
    await rollback(to('v1.0.0'), deps);
    expect(restarts(run, 'node1')).toEqual(['sh bin/old-restart.sh']);
    for (const node of ['node2', 'node3', 'node4']) expect(restarts(run, node)).toEqual(['sh bin/restart.sh']);
    const said = warnings(run).join('\n');
    expect(said).toMatch(/node2: the settings kept in .* are not used \(written for another release/);
    expect(said).toMatch(/node3: .* not used \(larger than 65536 bytes\)/);
    expect(said).toMatch(/node4: .* not used \(its smoke URL does not go to node4\)/);
  });

  it('nodes that disagree on a release: each uses its own copy, and the warning names them', async () => {
    const { run, deps, to } = twoReleases({
      r0Settings: (node) => kept(R0, node === 'node3' ? 'sh bin/other-restart.sh' : 'sh bin/old-restart.sh'),
    });
    await rollback(to('v1.0.0'), deps);
    expect(restarts(run, 'node3')).toEqual(['sh bin/other-restart.sh']);
    expect(restarts(run, 'node1')).toEqual(['sh bin/old-restart.sh']);
    expect(warnings(run)).toContainEqual(
      `the nodes disagree on the settings ${R0} kept (restart differ on node3 from node1): each node uses its own copy`,
    );
  });
});

describe('a failed deploy', () => {
  it('puts its nodes back on the release they ran, restarted with the settings that release kept', async () => {
    const settings = Object.fromEntries(NODES.map((n) => [`${n}/${OLD}`, kept(OLD, 'sh bin/old-restart.sh')]));
    const run = fakeRun({ groupSize: 2, settings, unhealthy: (node) => node === 'node3' });
    await expect(deploy(run.request, run.deps, run.source)).rejects.toThrow(/Rolled back node1, node2, node3/);
    for (const node of ['node1', 'node2', 'node3'])
      expect(restarts(run, node)).toEqual(['sh bin/restart.sh', 'sh bin/old-restart.sh']);
    expect(restarts(run, 'node4')).toEqual([]);
  });
});

describe('a rollback that fails', () => {
  it('on the pre node: it goes back on the release it ran, with that release’s restart; the target is marked bad', async () => {
    const { run, deps, to } = twoReleases({
      fail: (node, command) => (node === 'node1' && command.includes('sh bin/old-restart.sh') ? 1 : undefined),
    });
    const error = await rollback(to('v1.0.0'), deps).catch((e: unknown) => e);
    expect((error as RelinkError).exitCode).toBe(EXIT.failed);
    expect((error as Error).message).toMatch(/^rollback stopped: node1: restart failed with exit code 1/);
    expect((error as Error).message).toMatch(/node1 is back on the release each ran before/);
    expect((error as Error).message).toMatch(/node2, node3, node4 were not touched\. v1\.0\.0 is marked bad/);
    expect(restarts(run, 'node1')).toEqual(['sh bin/old-restart.sh', 'sh bin/restart.sh']);
    const node1 = run.transport.commandsFor('node1').map(label);
    expect(node1.filter((c) => c.startsWith('relink:'))).toEqual([
      'relink:hello_prod_v1.0.0+journal:rolled_back',
      'relink:hello_prod_v1.1.0+journal:rolled_back',
    ]);
    expect(node1).toContain('journal:smoke_ok');
    for (const node of ['node2', 'node3', 'node4']) {
      expect(run.transport.commandsFor(node).some((c) => c.includes('mv -Tf'))).toBe(false);
      expect(run.transport.commandsFor(node).some((c) => c.includes('marked_bad'))).toBe(true);
    }
  });

  it('--emergency: the nodes that failed go back where they were, the others stay on the target', async () => {
    const { run, deps, to } = twoReleases({
      fail: (node, command) => (node === 'node2' && command.includes('sh bin/old-restart.sh') ? 1 : undefined),
    });
    const error = await rollback(to('v1.0.0', { emergency: true }), deps).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/emergency rollback failed on 1 node\(s\)/);
    expect((error as Error).message).toMatch(/node2: back on the release each ran before/);
    expect(restarts(run, 'node2')).toEqual(['sh bin/old-restart.sh', 'sh bin/restart.sh']);
    for (const node of ['node1', 'node3', 'node4']) expect(restarts(run, node)).toEqual(['sh bin/old-restart.sh']);
  });
});
