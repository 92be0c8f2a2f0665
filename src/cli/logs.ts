import { count, type OptionSet, verb, withEnv } from './options.js';

/** `deploy logs -f` follows until Ctrl-C; a day is its outer bound. */
const FOLLOW_MS = 86_400_000;

export const options = {
  node: { type: 'string', array: true, describe: 'only these nodes' },
  follow: { alias: 'f', type: 'boolean', describe: 'keep following until Ctrl-C' },
  lines: { alias: 'n', ...count('-n/--lines', 'lines from the end of each file', 200) },
} as const satisfies OptionSet;

export const command = verb({
  command: 'logs <env>',
  describe: 'the application log of the nodes, node name in front of each line',
  builder: (y) => withEnv(y).options(options),
  handler: (argv) => logsCommand(argv),
});

export async function logsCommand(argv: {
  env: string;
  node?: string[];
  follow?: boolean;
  lines: number;
  config?: string;
}): Promise<void> {
  const { openRun } = await import('./compose.js');
  const { observe } = await import('../pipeline/phases/observe.js');
  const { limit, session } = await import('../pipeline/context.js');
  const { tailLogs } = await import('../remote/logs.js');
  const run = await openRun({ env: argv.env, config: argv.config, command: 'logs', quiet: true, runLog: false });
  const seen = await observe(run.config, run.inventory, run.user, run.runId, run.deps, argv.node, false);
  const { displayWidth, pad, printable } = await import('../log/listing.js');
  const width = Math.max(...seen.nodes.map((n) => displayWidth(printable(n.name))));
  // Redacted before it is escaped: a secret is matched as the app wrote it. A tab stays a tab.
  const write = (node: string, line: string) =>
    process.stdout.write(
      `${pad(printable(node), width)} | ${printable(run.deps.redactor.apply(line), { tabs: true })}\n`,
    );
  const stop = () => void seen.close().then(() => run.close());
  if (argv.follow) process.once('SIGINT', stop);
  try {
    for (const [node, why] of seen.unreachable) process.stderr.write(`${node}: unreachable: ${printable(why)}\n`);
    await Promise.all(
      seen.nodes
        .filter((n) => seen.ctx.sessions.has(n.name))
        .map(async (node) => {
          let partial = '';
          const onStdout = (chunk: string) => {
            const lines = (partial + chunk.replaceAll('\r', '')).split('\n');
            partial = lines.pop() ?? '';
            for (const line of lines) write(node.name, line);
          };
          const command = tailLogs(
            seen.ctx.layout,
            run.config.logs.dir,
            run.config.logs.pattern,
            argv.lines,
            Boolean(argv.follow),
          );
          const bound = argv.follow ? { timeoutMs: FOLLOW_MS } : limit(seen.ctx, 'logs');
          const result = await session(seen.ctx, node).exec(command, { ...bound, onStdout, pty: argv.follow });
          if (partial) write(node.name, partial);
          if (result.code !== 0 && !argv.follow) {
            const why = printable(run.deps.redactor.apply(result.stderr.trim())) || `exit ${result.code}`;
            process.stderr.write(
              `${node.name}: no logs under ${run.config.deployTo}/${run.config.logs.dir} (${why})\n`,
            );
          }
        }),
    );
    if (seen.unreachable.size) process.exitCode = 1;
  } finally {
    process.off('SIGINT', stop);
    await seen.close();
    await run.close();
  }
}
