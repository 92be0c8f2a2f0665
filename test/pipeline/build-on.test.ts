import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as tar from 'tar';
import { RelinkError } from '../../src/errors.js';
import { buildArtifact } from '../../src/pipeline/phases/build.js';
import type { Artifact } from '../../src/pipeline/context.js';
import { deploy, planDeploy } from '../../src/pipeline/run.js';
import type { Source } from '../../src/pipeline/shared/source.js';
import { render, type Command } from '../../src/remote/tokens.js';
import type { GitMirror } from '../../src/transport/git.js';
import type { ExecOptions, NodeSession, RemoteStream, Transport } from '../../src/transport/types.js';
import { fakeRun, checksummed } from '../helpers/fake-run.js';

type Made = ReturnType<typeof fakeRun>;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-build-on-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
const NODE1 = 'os=Linux\narch=x86_64\nglibc=glibc 2.36\nmusl=no\n';
const BUILD_DIR = `/srv/app/.relink/build/${'c1'.repeat(6)}-run42`;

/** A tarball of what a build on the node left in its output dir. */
async function builtTarball(files: Record<string, string>): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(scratch, 'out-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const file = path.join(dir, '..', `${path.basename(dir)}.tar.gz`);
  await tar.c({ gzip: true, cwd: dir, file }, fs.readdirSync(dir));
  return fs.readFileSync(file);
}

interface Options {
  /** What the node's build dir holds once built (its packed output, as the node would send it). */
  built?: Buffer;
  /** Bytes the download delivers instead of `built` (a corrupted transfer). */
  delivered?: Buffer;
  /** An exit code for a node1 command, by what it contains. */
  fail?: (command: string) => number | undefined;
  on?: string;
  /** The build command (default `make dist`). */
  command?: string;
  stateDir?: string;
  signal?: AbortController;
}

/**
 * A deploy whose build runs through the real build phase (buildArtifact, the node build host) with a
 * fake git export; node1 answers the platform probe, the pack (sha256 and size of `built`) and the
 * download (a stream of `built`); every node verifies the release against the artifact really built.
 */
async function buildOn(options: Options = {}) {
  const built = options.built ?? (await builtTarball({ 'server.js': 'built on node1\n', 'version.json': '{}\n' }));
  const sum = (await import('node:crypto')).createHash('sha256').update(built).digest('hex');
  let artifact: Artifact | undefined;
  const streams: string[] = [];
  const made = fakeRun({
    signal: options.signal?.signal,
    fail: (node, command) => (node === 'node1' ? options.fail?.(command) : undefined),
    answer: (node, command) => {
      if (command.includes('uname -s')) return { stdout: NODE1 };
      if (node === 'node1' && command.includes('artifact.tar.gz') && command.includes('sha256sum'))
        return { stdout: `${sum}  ${BUILD_DIR}/artifact.tar.gz\n${built.length}\n` };
      return undefined;
    },
  });
  const inner = made.deps.transport;
  const transport: Transport = {
    async connect(node) {
      const session = await inner.connect(node);
      return Object.assign(Object.create(session) as NodeSession, {
        async stream(command: Command, deadline: ExecOptions): Promise<RemoteStream> {
          expect(deadline.timeoutMs).toBeGreaterThan(0);
          streams.push(`${node.name}: ${render(command)}`);
          const stdout = new PassThrough();
          stdout.end(options.delivered ?? built);
          return { stdin: new PassThrough(), stdout, stderr: new PassThrough(), done: Promise.resolve(0), stop() {} };
        },
      });
    },
  };
  const base = made.request.config;
  const config = {
    ...base,
    build: { ...base.build, command: options.command ?? 'make dist', on: options.on ?? 'node1' },
  };
  const stateDir = options.stateDir ?? fs.mkdtempSync(path.join(scratch, 'state-'));
  const mirror = {
    export: async (_commit: string, dir: string) => fs.writeFileSync(path.join(dir, 'Makefile'), 'dist:\n'),
    commitTime: async () => 1714979289,
  } as unknown as GitMirror;
  const reporter = made.deps.reporter;
  const source: Source = {
    ...made.source,
    build: async (version, signal, host) => {
      artifact = await buildArtifact(config, stateDir, mirror, version, reporter, signal, host);
      return artifact;
    },
    inspect: async () => undefined,
  };
  const run: Made = { ...made, deps: { ...made.deps, transport }, request: { ...made.request, config }, source };
  return { run, streams, stateDir, artifact: () => artifact, commands: (n: string) => made.transport.commandsFor(n) };
}

const warnings = (run: Made) => run.events.flatMap((e) => (e.type === 'warn' ? [e.message] : []));

describe('build.on: a node builds the release, the artifact comes back checksum verified', () => {
  it('the export goes to node1, the build runs there, its output comes back and goes to every node', async () => {
    const b = await buildOn();
    const outcome = await deploy(b.run.request, b.run.deps, b.run.source);
    const node1 = b.commands('node1');
    const at = (part: string) => node1.findIndex((c) => c.includes(part));
    // In order: what the node is, the build dir, the export unpacked there, the build, the pack, the clean-up.
    expect(at('uname -s')).toBeGreaterThanOrEqual(0);
    expect(node1[at(`mkdir -p ${BUILD_DIR}`)]).toBe(
      `rm -rf ${BUILD_DIR} ${BUILD_DIR}.export.tar.gz && mkdir -p ${BUILD_DIR}/src`,
    );
    const upload = b.run.transport.log.find((r) => r.kind === 'upload' && r.command.includes('.relink/build/'));
    expect(upload?.command).toMatch(new RegExp(`export\\.tar\\.gz -> ${BUILD_DIR}\\.export\\.tar\\.gz$`));
    expect(node1[at('tar -xzf')]).toContain(`-C ${BUILD_DIR}/src`);
    const build = node1[at("sh -c 'make dist'")]!;
    expect(build).toBe(
      `cd ${BUILD_DIR}/src && exec timeout -k 5s 600s env RELINK_VERSION=v1.1.0 RELINK_COMMIT=${'c1'.repeat(20)} ` +
        "RELINK_PROJECT=hello sh -c 'make dist'",
    );
    expect(node1[at('sha256sum --')]).toContain(`tar -czf ${BUILD_DIR}/artifact.tar.gz -C ${BUILD_DIR}/src .`);
    expect(b.streams).toEqual([`node1: cat -- ${BUILD_DIR}/artifact.tar.gz`]);
    expect(node1.indexOf(`rm -rf ${BUILD_DIR} ${BUILD_DIR}.export.tar.gz`)).toBeGreaterThan(at('sha256sum --'));
    // Nothing of the build on any other node; every node gets the release and checks it against the artifact.
    for (const node of ['node2', 'node3', 'node4']) expect(b.commands(node).join('\n')).not.toContain('.relink/build');
    for (const node of ['node1', 'node2', 'node3', 'node4']) {
      const verify = b
        .commands(node)
        .find((c) => /^\/srv\/app\/\.relink\/incoming\/.*\.delta\.tar\.gz$/.test(checksummed(c) ?? ''));
      expect(verify, node).toBeDefined();
    }
    expect(outcome.nodes).toHaveLength(4);
    // The artifact is node1's output, cached under node1's platform.
    const artifact = b.artifact()!;
    expect(artifact.platform).toBe('linux-x64-glibc2.36');
    // A directory with its manifest: each node gets what it lacks of it (no tarball of the whole release here).
    expect(path.basename(artifact.file)).toMatch(/^hello-linux-x64-glibc2\.36-[0-9a-f]{16}\.d$/);
    expect(fs.readdirSync(artifact.file).sort()).toEqual([
      '.relink',
      'REVISION',
      'REVISION_TIME',
      'server.js',
      'version.json',
    ]);
    expect(fs.readdirSync(path.join(artifact.file, '.relink')).sort()).toEqual([
      'check.list',
      'check.sha256',
      'manifest',
    ]);
  });

  it('the next deploy of the commit takes the cached artifact of the platform: node1 only says what it is', async () => {
    const first = await buildOn();
    await deploy(first.run.request, first.run.deps, first.run.source);
    const again = await buildOn({ stateDir: first.stateDir });
    await deploy(again.run.request, again.run.deps, again.run.source);
    expect(again.artifact()?.cached).toBe(true);
    expect(again.commands('node1').join('\n')).not.toContain('.relink/build');
    expect(again.streams).toEqual([]);
    expect(fs.readdirSync(path.join(first.stateDir, 'artifacts')).filter((f) => f.endsWith('.d'))).toHaveLength(1);
  });

  it('a corrupted download stops the run before any node gets the release; the build dir is removed', async () => {
    const b = await buildOn({ delivered: Buffer.from('not the artifact') });
    const error = await deploy(b.run.request, b.run.deps, b.run.source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelinkError);
    expect((error as Error).message).toMatch(/^node1: checksum mismatch after fetching the build \(expected /);
    expect(b.commands('node1')).toContain(`rm -rf ${BUILD_DIR} ${BUILD_DIR}.export.tar.gz`);
    expect(b.run.transport.log.some((r) => r.kind === 'upload' && r.command.includes('incoming'))).toBe(false);
    expect(fs.readdirSync(path.join(b.stateDir, 'artifacts')).filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('a failing build names node1 and its exit; the build dir is removed, nothing goes out', async () => {
    const b = await buildOn({ fail: (c) => (c.includes("sh -c 'make dist'") ? 2 : undefined) });
    const error = (await deploy(b.run.request, b.run.deps, b.run.source).catch((e: unknown) => e)) as RelinkError;
    expect(error.message).toMatch(/^node1: build \('make dist'\) failed \(exit 2\)/);
    expect(error.hint).toContain('fix the build');
    expect(b.commands('node1')).toContain(`rm -rf ${BUILD_DIR} ${BUILD_DIR}.export.tar.gz`);
    expect(b.streams).toEqual([]);
  });

  it('a failed upload of the export names node1; the build dir is removed', async () => {
    const b = await buildOn({ fail: (c) => (c.startsWith('upload ') && c.endsWith('.export.tar.gz') ? 1 : undefined) });
    const error = (await deploy(b.run.request, b.run.deps, b.run.source).catch((e: unknown) => e)) as RelinkError;
    expect(error.message).toBe('node1: upload of the export failed: injected failure on node1');
    expect(error.hint).toContain('check free disk and permissions under /srv/app/.relink on node1');
    expect(b.commands('node1')).toContain(`rm -rf ${BUILD_DIR} ${BUILD_DIR}.export.tar.gz`);
    expect(b.commands('node1').join('\n')).not.toContain("sh -c 'make dist'");
  });

  it('Ctrl-C during the build: the build dir is removed all the same and the run stops', async () => {
    const stop = new AbortController();
    const b = await buildOn({
      signal: stop,
      fail: (c) => {
        if (!c.includes("sh -c 'make dist'")) return undefined;
        stop.abort('SIGINT');
        return 130;
      },
    });
    const error = await deploy(b.run.request, b.run.deps, b.run.source).catch((e: unknown) => e);
    expect((error as RelinkError).message).toBe('interrupted by SIGINT');
    expect((error as RelinkError).exitCode).toBe(130);
    expect(b.commands('node1')).toContain(`rm -rf ${BUILD_DIR} ${BUILD_DIR}.export.tar.gz`);
    expect(b.run.transport.log.some((r) => r.kind === 'upload' && r.command.includes('incoming'))).toBe(false);
  });

  it('deploy plan lists the build on node1, step by step, and changes nothing', async () => {
    const b = await buildOn();
    const plan = await planDeploy(b.run.request, b.run.deps, b.run.source);
    expect(plan.distribute.steps.filter((s) => s.step.startsWith('build:'))).toEqual([
      { step: 'build:platform', detail: 'on node1: uname -sm, libc (the cache keeps one artifact per platform)' },
      { step: 'build:upload', detail: 'the clean export into /srv/app/.relink/build/<commit>-run42' },
      { step: 'build:run', detail: 'on node1: make dist' },
      { step: 'build:pack', detail: 'the whole export packed there, its sha256 taken' },
      { step: 'build:fetch', detail: 'back to this machine, sha256 verified; then out as configured' },
      { step: 'build:cleanup', detail: 'rm -rf the build dir on node1, whatever happened' },
    ]);
    expect(b.commands('node1').join('\n')).not.toContain('.relink/build');
  });

  it('build.on naming no node of the environment is bad input (exit 2) before any connection', async () => {
    const b = await buildOn({ on: 'node9' });
    const error = (await deploy(b.run.request, b.run.deps, b.run.source).catch((e: unknown) => e)) as RelinkError;
    expect(error.message).toBe('build.on names node9, which is not a node of prod');
    expect(error.exitCode).toBe(2);
    expect(b.run.transport.log.filter((r) => r.kind === 'connect')).toEqual([]);
  });
});

describe('native addons built on a platform unlike the nodes', () => {
  const saved = process.env.RELINK_BUILD_PLATFORM;
  afterEach(() => {
    if (saved === undefined) delete process.env.RELINK_BUILD_PLATFORM;
    else process.env.RELINK_BUILD_PLATFORM = saved;
  });

  it('are warned about, naming the addon, the platform built on and the nodes', async () => {
    process.env.RELINK_BUILD_PLATFORM = 'linux-arm64-glibc2.17';
    const b = await buildOn({ on: 'local', command: 'mkdir -p build && touch build/addon.node' });
    const outcome = await deploy(b.run.request, b.run.deps, b.run.source);
    expect(outcome.artifact.platform).toBe('linux-arm64-glibc2.17');
    expect(outcome.artifact.native).toEqual(['build/addon.node']);
    expect(b.streams).toEqual([]);
    const warned = warnings(b.run).find((w) => w.startsWith('the release holds native addons'));
    expect(warned).toBe(
      'the release holds native addons (build/addon.node) built on linux-arm64-glibc2.17, unlike ' +
        'node1 (linux-x64-glibc2.36), node2 (linux-x64-glibc2.36), node3 (linux-x64-glibc2.36), ' +
        'node4 (linux-x64-glibc2.36): they may not load there; build on a node of the environment ' +
        '(build.on in deploy.config.ts, see docs/build.md) or one like it',
    );
  });

  it('are not warned about when the build platform is the nodes', async () => {
    process.env.RELINK_BUILD_PLATFORM = 'linux-x64-glibc2.36';
    const b = await buildOn({ on: 'local', command: 'touch addon.node' });
    const outcome = await deploy(b.run.request, b.run.deps, b.run.source);
    expect(outcome.artifact.native).toEqual(['addon.node']);
    expect(warnings(b.run).filter((w) => w.includes('native addons'))).toEqual([]);
  });
});
