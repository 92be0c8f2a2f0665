// build.on: <node>: the build runs on a node of the environment (same OS, architecture and libc as the
// nodes), in a build dir of its own under .relink/build/, and its packed output comes back to this
// machine, checksum verified; from there it goes out like a local build (and is cached per platform).
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { errorMessage, InterruptedError, RelinkError, UsageError } from '../../errors.js';
import type { NodeSpec } from '../../inventory/types.js';
import {
  buildDir,
  catFile,
  exportTarball,
  makeBuildDir,
  outputTarball,
  packBuild,
  parsePacked,
  removeBuildDir,
  runBuild,
  unpackExport,
} from '../../remote/build.js';
import { deadlineMs, uploadDeadlineMs } from '../../remote/deadlines.js';
import { parsePlatform, platformProbe } from '../../remote/platform.js';
import { KILL_AFTER_S } from '../../remote/relink.js';
import { render, type Command } from '../../remote/tokens.js';
import { type Deadline, INTERRUPTED_EXIT, type NodeSession, TIMEOUT_EXIT } from '../../transport/types.js';
import { type RunContext, step, userLimit } from '../context.js';
import type { BuildHost, BuildJob } from '../shared/source.js';
import { sha256File } from './release-files.js';

/** The node build.on names, or undefined for `local`; a name the inventory lacks is bad input (exit 2). */
export function buildNode(ctx: RunContext): NodeSpec | undefined {
  const on = ctx.config.build.on;
  if (on === 'local') return undefined;
  const node = ctx.inventory.hosts.find((n) => n.name === on);
  if (!node)
    throw new UsageError(`build.on names ${on}, which is not a node of ${ctx.config.env}`, {
      hint: `set build.on to 'local' or to one of ${ctx.inventory.hosts.map((n) => n.name).join(', ')}`,
    });
  return node;
}

/** The steps of a build on a node, for the plan (none for a build on this machine). */
export function buildSteps(ctx: RunContext): { step: string; detail: string }[] {
  const node = buildNode(ctx);
  if (!node) return [];
  const dir = `${ctx.layout.state}/build/<commit>-${ctx.runId}`;
  const { output } = ctx.config.build;
  return [
    { step: 'build:platform', detail: `on ${node.name}: uname -sm, libc (the cache keeps one artifact per platform)` },
    { step: 'build:upload', detail: `the clean export into ${dir}` },
    { step: 'build:run', detail: `on ${node.name}: ${ctx.config.build.command ?? '(no build command)'}` },
    { step: 'build:pack', detail: `${output === '.' ? 'the whole export' : output} packed there, its sha256 taken` },
    { step: 'build:fetch', detail: 'back to this machine, sha256 verified; then out as configured' },
    { step: 'build:cleanup', detail: `rm -rf the build dir on ${node.name}, whatever happened` },
  ];
}

/** The build host of a run on `node`: reads the node's platform, builds there, brings the output back. */
export function nodeBuildHost(ctx: RunContext, node: NodeSpec, commit: string): BuildHost {
  const { config } = ctx;
  let platform: Promise<string> | undefined;
  // The run's connection to the node; a node the run does not deploy to gets one of its own (closed with the run).
  const connect = async (): Promise<NodeSession> => {
    const open = ctx.sessions.get(node.name);
    if (open) return open;
    const s = await ctx.deps.transport.connect(node);
    ctx.sessions.set(node.name, s);
    return s;
  };
  // `stop`: the build's own abort (a user command's deadline hears it only after a grace period).
  const exec = async (command: Command, deadline: Deadline, what: string, hint: string, stop = deadline.signal) => {
    const result = await (await connect()).exec(command, deadline);
    if (result.code === INTERRUPTED_EXIT && stop?.aborted) throw new InterruptedError(String(stop.reason ?? 'signal'));
    if (result.code !== 0) {
      const tail = ctx.deps.redactor.apply(result.stderr.trim().split('\n').slice(-8).join('\n  '));
      const timedOut = result.code === TIMEOUT_EXIT ? `, past its time limit of ${deadline.timeoutMs} ms` : '';
      throw new RelinkError(`${node.name}: ${what} failed (exit ${result.code}${timedOut})\n  ${tail}`, { hint });
    }
    return result;
  };
  const kind = (k: 'probe' | 'link' | 'unpack', signal?: AbortSignal) => ({
    timeoutMs: deadlineMs(config.ssh, k),
    signal,
  });
  return {
    node: node.name,
    platform(signal) {
      platform ??= step(
        ctx,
        'build:platform',
        node,
        async () => {
          const result = await exec(platformProbe(), kind('probe', signal), 'reading its platform', 'check uname');
          const seen = parsePlatform(result.stdout);
          if (!seen)
            throw new RelinkError(`${node.name}: its platform (uname -sm, libc) could not be read`, {
              hint: `check that uname works on ${node.name}, or set build.on to 'local'`,
            });
          return seen.platform;
        },
        (p) => p,
      );
      return platform;
    },
    async build(job, signal) {
      const dir = buildDir(ctx.layout, commit, ctx.runId);
      try {
        await step(ctx, 'build:upload', node, () => sendExport(job, dir, signal));
        await step(ctx, 'build:run', node, () => runThere(job, dir, signal));
        const packed = await step(ctx, 'build:pack', node, () => pack(dir, signal));
        await step(
          ctx,
          'build:fetch',
          node,
          () => fetch(job, dir, packed, signal),
          () => 'sha256 verified',
        );
      } finally {
        await step(ctx, 'build:cleanup', node, () =>
          exec(removeBuildDir(dir), kind('unpack'), 'removing the build dir', `remove ${dir} on ${node.name}`),
        ).catch((error: unknown) =>
          ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: errorMessage(error).split('\n')[0] ?? '' }),
        );
      }
    },
  };

  async function sendExport(job: BuildJob, dir: string, signal?: AbortSignal) {
    const where = `check free disk and permissions under ${ctx.layout.state} on ${node.name}`;
    await exec(makeBuildDir(dir), kind('link', signal), 'making the build dir', where);
    const bytes = fs.statSync(job.exportTar).size;
    const s = await connect();
    await s
      .upload(job.exportTar, exportTarball(dir), { timeoutMs: uploadDeadlineMs(config.ssh, bytes), signal })
      .catch((error: unknown) => {
        if (signal?.aborted) throw new InterruptedError(String(signal.reason ?? 'signal'));
        throw new RelinkError(`${node.name}: upload of the export failed: ${errorMessage(error)}`, { hint: where });
      });
    await exec(unpackExport(dir), kind('unpack', signal), 'unpacking the export', where);
  }

  async function runThere(job: BuildJob, dir: string, signal?: AbortSignal) {
    const command = config.build.command;
    if (!command) return;
    for (const value of Object.values(job.secretEnv)) ctx.deps.redactor.add(value);
    const remote = runBuild(dir, command, job.env, job.secretEnv, config.build.timeoutMs);
    const deadline = userLimit(ctx, config.build.timeoutMs + (KILL_AFTER_S + 5) * 1000, signal);
    const hint = 'fix the build, tag a new version and deploy that';
    const result = await exec(remote, deadline, `build (${render([command])})`, hint, signal);
    for (const line of result.stdout.trim().split('\n').filter(Boolean).slice(-3))
      ctx.deps.reporter.emit({ type: 'info', node: node.name, message: `build: ${ctx.deps.redactor.apply(line)}` });
  }

  async function pack(dir: string, signal?: AbortSignal) {
    const hint = 'fix build.output in deploy.config.ts';
    const result = await exec(
      packBuild(dir, config.build.output),
      kind('unpack', signal),
      'packing the build output',
      hint,
    );
    const packed = parsePacked(result.stdout);
    if (!packed) throw new RelinkError(`${node.name}: the packed build output gave no sha256`, { hint });
    return packed;
  }

  async function fetch(job: BuildJob, dir: string, packed: { sha256: string; bytes: number }, signal?: AbortSignal) {
    const s = await connect();
    const stream = await s.stream(catFile(outputTarball(dir)), {
      timeoutMs: uploadDeadlineMs(config.ssh, packed.bytes),
      signal,
    });
    stream.stdin.end();
    stream.stderr.resume();
    const [, code] = await Promise.all([pipeline(stream.stdout, fs.createWriteStream(job.into)), stream.done]);
    if (signal?.aborted) throw new InterruptedError(String(signal.reason ?? 'signal'));
    if (code !== 0)
      throw new RelinkError(`${node.name}: fetching the build failed (exit ${code ?? 'connection lost'})`, {
        hint: `check the connection to ${node.name} and free disk here; deploy again`,
      });
    const sum = await sha256File(job.into);
    if (sum !== packed.sha256)
      throw new RelinkError(
        `${node.name}: checksum mismatch after fetching the build (expected ${packed.sha256.slice(0, 16)}…, ` +
          `got ${sum.slice(0, 16)}…)`,
        { hint: 'the download was corrupted; deploy again' },
      );
  }
}
