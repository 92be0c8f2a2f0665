// `deploy logs`: the application log of an environment's nodes, line by line, node by node.
import { limit, session } from '../pipeline/context.js';
import { type GrepMode, grepLogs, tailLogs } from '../remote/logs.js';
import { errorMessage, UsageError } from '../errors.js';
import { type ObserveOptions, observeEnv, withObserved } from './observed.js';

/** `deploy logs -f` follows until Ctrl-C; a day is its outer bound. */
const FOLLOW_MS = 86_400_000;

export interface LogsOptions extends Omit<ObserveOptions, 'command' | 'inspect'> {
  readonly lines: number;
  readonly follow: boolean;
}

/** A failed read of one node's log: the exit code and what it printed on stderr. */
export interface LogFailure {
  readonly node: string;
  readonly code: number;
  readonly stderr: string;
}

/** Connects to the nodes (close() ends a follow); tail() streams their logs. */
export async function openLogs(o: LogsOptions) {
  const observed = await observeEnv({ ...o, command: 'logs', inspect: false });
  const { run, seen } = observed;
  return {
    nodes: seen.nodes.map((n) => n.name),
    unreachable: seen.unreachable,
    /** Where the logs are read on each node. */
    where: `${run.config.deployTo}/${run.config.logs.dir}`,
    redact: (text: string) => run.deps.redactor.apply(text),
    close: () => observed.close(),
    /** Streams each reachable node's log to `onLine`; resolves the nodes whose log could not be read. */
    async tail(onLine: (node: string, line: string) => void): Promise<LogFailure[]> {
      const command = tailLogs(seen.ctx.layout, run.config.logs.dir, run.config.logs.pattern, o.lines, o.follow);
      const bound = o.follow ? { timeoutMs: FOLLOW_MS } : limit(seen.ctx, 'logs');
      const failures = await Promise.all(
        seen.nodes
          .filter((n) => seen.ctx.sessions.has(n.name))
          .map(async (node) => {
            let partial = '';
            const onStdout = (chunk: string) => {
              const lines = (partial + chunk.replaceAll('\r', '')).split('\n');
              partial = lines.pop() ?? '';
              for (const line of lines) onLine(node.name, line);
            };
            const result = await session(seen.ctx, node).exec(command, { ...bound, onStdout, pty: o.follow });
            if (partial) onLine(node.name, partial);
            return result.code !== 0 && !o.follow
              ? [{ node: node.name, code: result.code, stderr: result.stderr }]
              : [];
          }),
      );
      return failures.flat();
    },
  };
}

/** `deploy logs --grep`: at most this many matching lines per node unless --max says otherwise. */
export const GREP_MAX = 100;
/** A matching line longer than this is cut (a dashboard page and a terminal stay readable). */
const LINE_MAX = 2000;

export interface GrepOptions extends Omit<ObserveOptions, 'command' | 'inspect'>, GrepMode {
  readonly needle: string;
  readonly max?: number;
}

/** One node's answer to a search: its newest matching lines (oldest first), and whether older ones were left out. */
export interface NodeMatches {
  readonly node: string;
  readonly lines: readonly string[];
  readonly more: boolean;
  /** Why its logs could not be searched (unreachable, no log dir), redacted. */
  readonly error?: string;
}

/**
 * Searches every node's logs at once (each search with the `logs` deadline), for the CLI and the dashboard:
 * the newest `max` matching lines per node, redacted, each cut at LINE_MAX characters.
 */
export async function searchLogs(o: GrepOptions): Promise<NodeMatches[]> {
  if (!o.needle || o.needle.length > 1000 || /[\n\r\0]/.test(o.needle)) {
    throw new UsageError('--grep takes one line of text, at most 1000 characters', {
      hint: 'search for a trace id or an error message',
    });
  }
  const max = Math.min(Math.max(1, Math.floor(o.max ?? GREP_MAX)), 10_000);
  return withObserved({ ...o, command: 'logs', inspect: false }, async ({ run, seen }) => {
    const redact = (text: string) => run.deps.redactor.apply(text);
    const { dir, pattern } = run.config.logs;
    const command = grepLogs(seen.ctx.layout, dir, pattern, o.needle, max, o);
    const down = [...seen.unreachable].map(([node, why]) => ({ node, lines: [], more: false, error: redact(why) }));
    const read = await Promise.all(
      seen.nodes
        .filter((n) => seen.ctx.sessions.has(n.name))
        .map(async (node): Promise<NodeMatches> => {
          const result = await session(seen.ctx, node)
            .exec(command, limit(seen.ctx, 'logs'))
            .catch((error: unknown) => ({ code: 255, stdout: '', stderr: errorMessage(error) }));
          if (result.code !== 0) {
            const why = redact(result.stderr.trim().split('\n').pop() ?? '') || `exit ${result.code}`;
            return { node: node.name, lines: [], more: false, error: `no logs under ${dir} (${why})` };
          }
          const lines = result.stdout.replaceAll('\r', '').split('\n');
          if (lines.at(-1) === '') lines.pop();
          const more = lines.length > max;
          const kept = lines.slice(more ? lines.length - max : 0).map((l) => redact(l).slice(0, LINE_MAX));
          return { node: node.name, lines: kept, more };
        }),
    );
    return [...read, ...down].sort((a, b) => a.node.localeCompare(b.node));
  });
}
