// `deploy logs`: the application log of an environment's nodes, line by line, node by node.
import { limit, session } from '../pipeline/context.js';
import { tailLogs } from '../remote/logs.js';
import { type ObserveOptions, observeEnv } from './observed.js';

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
