// `deploy exec` on an opened environment: the chosen nodes are connected and read (where `current` points,
// who holds the deploy lock), then the command runs on them in parallel, at most `parallel` at once, each
// line of its output handed on with its node as it comes, and journaled on each node with its exit code.
// The operation (exec.ts) opens the environment; the pipeline tests drive this through the recording transport.
import pLimit from 'p-limit';
import { errorMessage, LockError } from '../errors.js';
import { describeOwner, lockHealth, parseOwner } from '../gates/lock.js';
import type { NodeSpec } from '../inventory/types.js';
import { LineSplitter } from '../log/lines.js';
import { nextStep, said } from '../next.js';
import { limit, session, state, type RunContext } from '../pipeline/context.js';
import { connectEach, takeInspection } from '../pipeline/phases/preflight.js';
import { journalEvent, record } from '../pipeline/shared/record.js';
import { execIn } from '../remote/exec.js';
import { inspectNode } from '../remote/inspect.js';
import { releaseDir } from '../remote/paths.js';
import { INTERRUPTED_EXIT, TIMEOUT_EXIT } from '../transport/types.js';

/** Where the command runs on each node: the deploy dir, or the release `current` points at. */
export type ExecDir = 'deployTo' | 'current';
export type ExecStream = 'stdout' | 'stderr';

export interface ExecSpec {
  /** The shell command line (remote/exec.ts `execLine`). */
  readonly line: string;
  readonly in: ExecDir;
  readonly timeoutMs: number;
  /** Run although another run (or a freeze) holds the deploy lock: beside it, never taking it. */
  readonly force: boolean;
  /** Nodes the command runs on at once. */
  readonly parallel: number;
}

/** One node's outcome: its exit code and output (redacted), or why the command did not run there. */
export type NodeExec =
  | {
      readonly node: string;
      readonly ran: true;
      readonly code: number;
      readonly ms: number;
      readonly timedOut: boolean;
      readonly interrupted: boolean;
      /** With `--in current`: the release it ran in. */
      readonly release?: string;
      readonly stdout: string;
      readonly stderr: string;
    }
  | { readonly node: string; readonly ran: false; readonly error: string };

export interface ExecOutcome {
  readonly nodes: readonly NodeExec[];
  /** Every node ran the command and it exited 0 there. */
  readonly ok: boolean;
  readonly interrupted: boolean;
}

/** Hears each line of output as it comes, redacted, with its node and stream. */
export type OnLine = (node: string, stream: ExecStream, line: string) => void;

const firstLine = (text: string) => text.trim().split('\n')[0] ?? '';

/** Connects to the nodes, reads them, refuses under a held lock (LockError), runs the command and journals it. */
export async function execOnNodes(
  ctx: RunContext,
  nodes: readonly NodeSpec[],
  spec: ExecSpec,
  onLine?: OnLine,
): Promise<ExecOutcome> {
  const errors = new Map<string, string>();
  for (const f of await connectEach(ctx, nodes))
    errors.set(f.node.name, `unreachable: ${firstLine(errorMessage(f.error))}`);
  await Promise.all(
    nodes
      .filter((n) => !errors.has(n.name))
      .map(async (node) => {
        const read = await session(ctx, node).exec(inspectNode(ctx.layout, { journalLines: 1 }), limit(ctx, 'inspect'));
        if (read.code === 0) return takeInspection(ctx, node, read.stdout);
        const why = ctx.deps.redactor.apply(firstLine(read.stderr)) || `exit ${read.code}`;
        errors.set(node.name, `could not read the node: ${why}`);
      }),
  );
  const forcedPast = checkLocks(
    ctx,
    nodes.filter((n) => !errors.has(n.name)),
    spec.force,
  );
  const queue = pLimit(spec.parallel);
  const results = await Promise.all(
    nodes.map((node): NodeExec | Promise<NodeExec> => {
      const error = errors.get(node.name);
      if (error) return { node: node.name, ran: false, error };
      return queue(() => runOn(ctx, node, spec, forcedPast.get(node.name), onLine));
    }),
  );
  const interrupted = Boolean(ctx.deps.signal?.aborted);
  return { nodes: results, ok: results.every((r) => r.ran && r.code === 0), interrupted };
}

/**
 * Who holds the deploy lock of each node, read as a deploy reads it: a run that is gone (stale heartbeat,
 * or its pid gone on this machine) holds nothing (a warning says so); a live run, a freeze, or an owner
 * record relink cannot read refuses the command on every node unless `force`. Returns, with `force`, the
 * holder of each node run beside, for its journal line.
 */
function checkLocks(ctx: RunContext, nodes: readonly NodeSpec[], force: boolean): Map<string, string> {
  const now = ctx.deps.now();
  const ttl = ctx.config.lock.ttlMs;
  const held = new Map<string, string>();
  for (const node of nodes) {
    const raw = state(ctx, node).lock;
    if (!raw) continue;
    const owner = parseOwner(raw);
    const who = describeOwner(raw, now, ttl);
    const health = owner && owner.kind !== 'freeze' ? lockHealth(owner, now, ttl) : undefined;
    if (health?.stale || health?.deadPid) {
      ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: `the deploy lock's run is gone: ${who}` });
      continue;
    }
    held.set(node.name, who);
  }
  if (held.size === 0) return held;
  const env = ctx.config.env;
  if (!force) {
    const list = [...held].map(([node, who]) => `  ${node}: ${who}`).join('\n');
    const forced = nextStep('again', undefined, { force: true });
    throw new LockError(`the deploy lock of ${env} is held; nothing was run:\n${list}`, {
      hint: said`wait for it (${nextStep('lock-status', env)}), or run the command beside it: add ${forced}`,
    });
  }
  for (const [node, who] of held) {
    ctx.deps.reporter.emit({ type: 'warn', node, message: `running beside the deploy lock (--force): ${who}` });
  }
  return held;
}

/** Runs the command on one node, streams its lines, journals it there. */
async function runOn(
  ctx: RunContext,
  node: NodeSpec,
  spec: ExecSpec,
  forcedPast: string | undefined,
  onLine?: OnLine,
): Promise<NodeExec> {
  if (ctx.deps.signal?.aborted) return { node: node.name, ran: false, error: 'not run: interrupted' };
  const seen = state(ctx, node);
  const release = spec.in === 'current' ? seen.current : undefined;
  if (spec.in === 'current' && !release) return { node: node.name, ran: false, error: noCurrent(ctx, node) };
  const dir = release ? releaseDir(ctx.layout, release) : ctx.layout.deployTo;
  const redact = (text: string) => ctx.deps.redactor.apply(text);
  const lines = (stream: ExecStream) => new LineSplitter((line) => onLine?.(node.name, stream, redact(line)));
  const [out, err] = [lines('stdout'), lines('stderr')];
  const started = performance.now();
  const result = await session(ctx, node).exec(execIn(dir, spec.line, commandEnv(ctx, node, release)), {
    ...limit(ctx, { ms: spec.timeoutMs }),
    onStdout: (chunk) => out.push(chunk),
    onStderr: (chunk) => err.push(chunk),
  });
  out.end();
  err.end();
  const ms = Math.round(performance.now() - started);
  // 124: `timeout` ended it with SIGTERM at the deadline; 137: it ignored that and was killed.
  const timedOut = (result.code === TIMEOUT_EXIT || result.code === 137) && ms >= spec.timeoutMs;
  const interrupted = result.code === INTERRUPTED_EXIT && Boolean(ctx.deps.signal?.aborted);
  const fields = {
    command: spec.line,
    code: result.code,
    ms,
    ...(release ? { release } : {}),
    ...(forcedPast ? { reason: `run beside the deploy lock (--force): ${forcedPast}` } : {}),
  };
  try {
    await record(ctx, node, journalEvent(ctx, node, 'exec', fields));
  } catch (error) {
    const why = firstLine(errorMessage(error));
    ctx.deps.reporter.emit({ type: 'warn', node: node.name, message: `the journal line was not written: ${why}` });
  }
  const [stdout, stderr] = [redact(result.stdout), redact(result.stderr)];
  return { node: node.name, ran: true, code: result.code, ms, timedOut, interrupted, release, stdout, stderr };
}

/** Why `--in current` cannot run on a node: nothing deployed, or `current` points where no release is. */
function noCurrent(ctx: RunContext, node: NodeSpec): string {
  const seen = state(ctx, node);
  return seen.onDisk.length
    ? `no current release on ${node.name} (\`current\` is missing or points outside ${ctx.layout.releases})`
    : `no current release on ${node.name}: nothing is deployed there yet`;
}

/** What the command finds in its environment: where it runs and, in a release, which. */
function commandEnv(ctx: RunContext, node: NodeSpec, release: string | undefined): Record<string, string> {
  return {
    RELINK_PROJECT: ctx.config.project,
    RELINK_ENV: ctx.config.env,
    RELINK_DEPLOY_TO: ctx.config.deployTo,
    RELINK_NODE: node.name,
    ...(release ? { RELINK_RELEASE: release } : {}),
  };
}
