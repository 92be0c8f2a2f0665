// `deploy exec <env> -- <command>`: a command on every node of an environment (or the ones chosen), in
// parallel. Opens the environment as the read-only verbs do (no deploy lock is taken: see exec-run.ts),
// chooses the nodes, and hands the run to execOnNodes.
import { EXIT, type ExitCode, UsageError } from '../errors.js';
import { type NodeSelection, selectNodes } from '../inventory/select.js';
import { makeContext } from '../pipeline/context.js';
import { closeAll } from '../pipeline/phases/preflight.js';
import { execLine } from '../remote/exec.js';
import { type Interrupting, openRun } from './compose.js';
import { type ExecDir, type ExecOutcome, execOnNodes, type OnLine } from './exec-run.js';

export type { ExecDir, ExecOutcome, ExecStream, NodeExec, OnLine } from './exec-run.js';

/** `--timeout` when none is given: long enough for a data import or a migration, short of forgotten. */
export const EXEC_TIMEOUT_MS = 300_000;

export interface ExecOptions extends NodeSelection {
  readonly env: string;
  readonly config?: string;
  readonly author?: string;
  /** The words after `--`. */
  readonly words: readonly string[];
  readonly in?: ExecDir;
  readonly timeoutMs?: number;
  readonly force?: boolean;
  /** Nodes at once; default: the environment's `rollout.parallel`. */
  readonly parallel?: number;
}

export interface ExecReport extends ExecOutcome {
  readonly env: string;
  /** The shell command line run on each node, redacted. */
  readonly command: string;
  readonly in: ExecDir;
  readonly timeoutMs: number;
}

/**
 * The exit code of `deploy exec`: 0 only when the command ran on every node and exited 0 there; 130 when it
 * was interrupted (Ctrl-C ends it on every node); otherwise 1 (a node's own code is in the summary and JSON).
 * A refusal under a held deploy lock exits 4 and bad input 2, before anything runs.
 */
export function execExitCode(outcome: Pick<ExecOutcome, 'ok' | 'interrupted'>): ExitCode {
  if (outcome.ok) return EXIT.ok;
  return outcome.interrupted ? EXIT.interrupted : EXIT.failed;
}

/** What Ctrl-C says: exec takes no lock and moves no release, so there is nothing to undo. */
export const INTERRUPTED: Interrupting = {
  ending:
    'stopping the command on every node (where it has not started yet, it does not start); nothing to undo: ' +
    'exec moves no release and holds no lock (what the command itself changed stays as it is)',
  again: (name) => `still stopping the command on the nodes; send ${name} once more to exit at once`,
};

/** The command line the words make (bad input, exit 2, when there is none). */
export function commandOf(words: readonly string[]): string {
  try {
    return execLine(words);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}: give it after --`, {
      hint: 'one quoted argument is a shell command line, run as written; several are a command and its arguments',
    });
  }
}

export interface ExecHandlers {
  /** Hears the names of the chosen nodes, before the command starts. */
  readonly onNodes?: (nodes: readonly string[]) => void;
  /** Hears each line of output as it comes (redacted), with its node. */
  readonly onLine?: OnLine;
}

/** Runs the command on the chosen nodes; resolves each node's outcome. */
export async function execOnEnv(o: ExecOptions, handlers: ExecHandlers = {}): Promise<ExecReport> {
  const line = commandOf(o.words);
  // Quiet: the command's output is what it prints; warnings still go to stderr. The journal on each node is its
  // record (no run log).
  const run = await openRun({
    env: o.env,
    config: o.config,
    author: o.author,
    command: 'exec',
    quiet: true,
    runLog: false,
    onInterrupt: INTERRUPTED,
  });
  try {
    const nodes = selectNodes(run.inventory, o);
    handlers.onNodes?.(nodes.map((n) => n.name));
    const { config, inventory, user, runId, deps } = run;
    const ctx = makeContext({ runId, command: 'exec', config, inventory, user, deps });
    const where = o.in ?? 'deployTo';
    const timeoutMs = o.timeoutMs ?? EXEC_TIMEOUT_MS;
    const parallel = o.parallel ?? config.rollout.parallel;
    try {
      const spec = { line, in: where, timeoutMs, force: Boolean(o.force), parallel };
      const outcome = await execOnNodes(ctx, nodes, spec, handlers.onLine);
      const { ok, interrupted, nodes: results } = outcome;
      return {
        env: config.env,
        command: deps.redactor.apply(line),
        in: where,
        timeoutMs,
        ok,
        interrupted,
        nodes: results,
      };
    } finally {
      await closeAll(ctx);
    }
  } finally {
    await run.close();
  }
}
