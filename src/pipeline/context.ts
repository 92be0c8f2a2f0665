import { setMaxListeners } from 'node:events';
import type { NodeSettings } from '../config/release-settings.js';
import type { AnalysisRecord } from '../gates/analysis.js';
import type { ResolvedConfig } from '../config/types.js';
import { RemoteError, InterruptedError } from '../errors.js';
import type { Inventory, NodeSpec } from '../inventory/types.js';
import type { JournalEvent, MergedBranches } from '../journal/events.js';
import type { Reporter } from '../log/events.js';
import { NoLb } from '../lb/none.js';
import type { LbDriver, ServerState } from '../lb/types.js';
import type { Redactor } from '../log/redact.js';
import type { Phrase, Said } from '../next.js';
import { render, type Command } from '../remote/tokens.js';
import type { AlertsQuery } from '../transport/alerts.js';
import type { PrometheusQuery } from '../transport/prometheus.js';
import { layout, type Layout } from '../remote/paths.js';
import { type CommandKind, deadlineMs } from '../remote/deadlines.js';
import {
  type Deadline,
  type ExecResult,
  INTERRUPTED_EXIT,
  type NodeSession,
  type Transport,
} from '../transport/types.js';

export interface Artifact {
  /** The release tarball, or for rsync uploads the release directory itself. */
  readonly file: string;
  /** Absent or `tar.gz`: a tarball; `dir`: a directory whose files carry the commit time (see stampTree). */
  readonly format?: 'tar.gz' | 'dir';
  /** The commit time (epoch seconds) the release's files carry, as rsync writes them; absent: rsync's own time. */
  readonly commitTime?: number;
  /** sha256 of the tarball, or of the directory's manifest (path, mode, content hash of every entry). */
  readonly sha256: string;
  readonly bytes: number;
  readonly cached: boolean;
  /** The platform it was built on and for (remote/platform.ts): part of its cache key. */
  readonly platform?: string;
  /** Native addons in the release (`*.node`, `binding.gyp`, `prebuilds/`), a few paths. */
  readonly native?: readonly string[];
}

export interface VersionInfo {
  /** What the user asked for: a tag, or in dev/test a branch or commit. */
  readonly requested: string;
  /** The version label in the release name and journal: the tag, or the short commit. */
  readonly version: string;
  readonly commit: string;
  readonly branch: string;
  readonly isTag: boolean;
  readonly subject: string;
}

/** Everything that touches the outside world, injected so the pipeline tests can replace it. */
export interface RunDeps {
  readonly transport: Transport;
  readonly probe: (url: string, timeoutMs: number) => Promise<{ status: number; body: string }>;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly reporter: Reporter;
  readonly redactor: Redactor;
  /** The door's phrasing of next steps, for what the run writes as text (messages, the report). */
  readonly phrase: Phrase;
  /** Aborted on SIGINT/SIGTERM: the run finishes or undoes its current step and stops. */
  readonly signal?: AbortSignal;
  /** A load balancer to use instead of the inventory's (pipeline tests). */
  readonly lb?: LbDriver;
  /** Prometheus' instant queries and the firing alerts (`analysis.alerts`), for the analysis (config `analysis`). */
  readonly prometheus?: PrometheusQuery;
  readonly alerts?: AlertsQuery;
}

/** What a node looked like when the run started, plus the events this run appended. */
export interface NodeState {
  current?: string;
  onDisk: string[];
  lock?: string;
  events: JournalEvent[];
  corrupt: number[];
  /** What the load balancer said of the node before the run changed anything. */
  lb?: ServerState;
}

export interface RunContext {
  readonly runId: string;
  readonly command: string;
  readonly config: ResolvedConfig;
  readonly inventory: Inventory;
  readonly user: string;
  readonly layout: Layout;
  readonly deps: RunDeps;
  readonly sessions: Map<string, NodeSession>;
  readonly states: Map<string, NodeState>;
  /** The load balancer (set once the run has connected); `none` until then. */
  lb: LbDriver;
  /** Nodes this run drained and has not put back yet. */
  readonly drained: Set<string>;
  /** `deploy --retry-failed`: the run it finishes; every journal line of this run names it (`retryOf`). */
  retryOf?: string;
  /** `deploy --branches`: the base and branches the release holds; its activated and run_finished lines say so. */
  readonly merged?: MergedBranches;
  /** Nodes set aside within the failure budget (rollout.maxFailures), with why; the release goes on without them. */
  readonly setAside: Map<string, string>;
  /** Nodes whose deploy lock this run has already released (with its outcome, in one round trip). */
  readonly unlocked: Set<string>;
  /**
   * Set once the run undoes what it did (or closes out): from then on its commands no longer listen to the
   * abort signal, since they are what the interrupt asked for. Until then a SIGINT ends the command under way.
   */
  undoing: boolean;
  /** Nodes this run left with no release (undoing a first deploy): kept out of the load balancer. */
  readonly empty: Set<string>;
  /**
   * Nodes whose deploy lock stopped naming this run (removed by `unlock --force`, or taken by another run), with
   * the owner record found there then ('' when none). The heartbeat and a refused relink set it; the rollout
   * checks it between nodes and groups (as checkAborted for an interrupt) and stops before its next switch.
   */
  readonly lockLost: Map<string, string>;
  /** Settings releases kept, read from the nodes they go back onto, by `node/release` (shared/release-settings). */
  readonly ownSettings: Map<string, NodeSettings>;
  /** `rollback --use-current-config`: releases going back use the local config, not the settings they kept. */
  currentConfigOnly?: boolean;
  /** The analyses this run made (or skipped), in order, for the report. */
  analyses?: AnalysisRecord[];
}

/** What makeContext fills in. */
type Made = 'layout' | 'sessions' | 'states' | 'lb' | 'drained' | 'setAside' | 'unlocked' | 'undoing' | 'empty';

export function makeContext(init: Omit<RunContext, Made | 'lockLost' | 'ownSettings'>): RunContext {
  return {
    ...init,
    layout: layout(init.config.deployTo),
    sessions: new Map(),
    states: new Map(),
    lb: new NoLb(),
    drained: new Set(),
    setAside: new Map(),
    unlocked: new Set(),
    undoing: false,
    empty: new Set(),
    lockLost: new Map(),
    ownSettings: new Map(),
  };
}

export function session(ctx: RunContext, node: NodeSpec | string): NodeSession {
  const name = typeof node === 'string' ? node : node.name;
  const s = ctx.sessions.get(name);
  if (!s) throw new Error(`no connection to ${name}`);
  return s;
}

export function state(ctx: RunContext, node: NodeSpec | string): NodeState {
  const name = typeof node === 'string' ? node : node.name;
  let s = ctx.states.get(name);
  if (!s) {
    s = { onDisk: [], events: [], corrupt: [] };
    ctx.states.set(name, s);
  }
  return s;
}

export function checkAborted(ctx: RunContext): void {
  const signal = ctx.deps.signal;
  if (signal?.aborted) throw new InterruptedError(String(signal.reason ?? 'signal'));
}

/**
 * The deadline of a command of this kind (or of `ms`), and the run's abort signal while the run still goes
 * forward: an interrupt ends the command under way on the node, never one of the undo.
 */
export function limit(ctx: RunContext, kind: CommandKind | { ms: number }, cleanup = false): Deadline {
  const timeoutMs = typeof kind === 'string' ? deadlineMs(ctx.config.ssh, kind) : kind.ms;
  return { timeoutMs, signal: ctx.undoing || cleanup ? undefined : ctx.deps.signal };
}

/** How long a user command may go on after an interrupt (a restart cut halfway leaves a stale pid file). */
const USER_GRACE_MS = 10_000;

const graced = new WeakMap<AbortSignal, AbortSignal>();

/** The deadline of a user command: the run's interrupt reaches it only after USER_GRACE_MS (one listener per run). */
export function userLimit(ctx: RunContext, ms: number, from = limit(ctx, { ms }).signal): Deadline {
  if (!from) return { timeoutMs: ms };
  let later = graced.get(from);
  if (!later) {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal); // every user command under way listens, each until it ends
    const fire = () => setTimeout(() => controller.abort(from.reason), USER_GRACE_MS).unref();
    if (from.aborted) fire();
    else from.addEventListener('abort', fire, { once: true });
    later = controller.signal;
    graced.set(from, later);
  }
  return { timeoutMs: ms, signal: later };
}

/** Runs a remote command and throws a RemoteError (redacted command, stderr tail) when it fails. */
export async function execOk(
  ctx: RunContext,
  node: NodeSpec,
  command: Command,
  options: {
    kind: CommandKind | { ms: number };
    stdin?: string;
    hint?: Said;
    /** Clean-up that must finish even after an interrupt (removing a run's keys): never stopped by it. */
    cleanup?: boolean;
  },
): Promise<ExecResult> {
  const deadline = limit(ctx, options.kind, options.cleanup);
  const result = await session(ctx, node).exec(command, { ...deadline, stdin: options.stdin });
  if (result.code === INTERRUPTED_EXIT && ctx.deps.signal?.aborted && !ctx.undoing)
    throw new InterruptedError(String(ctx.deps.signal.reason ?? 'signal'));
  if (result.code !== 0) {
    throw new RemoteError(
      node.name,
      ctx.deps.redactor.apply(render(command, { redact: true })),
      result.code,
      ctx.deps.redactor.apply(result.stderr),
      options.hint,
    );
  }
  return result;
}

/** Times a named step on a node and reports start, ok or fail. */
export async function step<T>(
  ctx: RunContext,
  name: string,
  node: NodeSpec | undefined,
  work: () => Promise<T>,
  detail?: (value: T) => string | undefined,
): Promise<T> {
  const started = performance.now();
  const base = { type: 'step', step: name, node: node?.name } as const;
  const ended = (status: 'ok' | 'fail', said: string | undefined) =>
    ctx.deps.reporter.emit({ ...base, status, ms: performance.now() - started, detail: said });
  ctx.deps.reporter.emit({ ...base, status: 'start' });
  try {
    const value = await work();
    ended('ok', detail?.(value));
    return value;
  } catch (error) {
    ended('fail', error instanceof Error ? error.message.split('\n')[0] : String(error));
    throw error;
  }
}
